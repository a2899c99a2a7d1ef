"""The web client in a real browser (Playwright driving Debian's Chromium).

Two people walk the journey: sign up, make a persona, meet in a room and talk, a message
request accepted, a scene proposed with a conflict shown, accepted with images
declined, red called (paused for both), resumed. A third person, blocked, sees none of
it. Then the connection drops and the page resumes without losing or repeating lines,
and axe-core checks the main screens for serious accessibility problems.

Needs /usr/bin/chromium and the playwright package: skipped with the reason otherwise,
unless TRYST_REQUIRE_BROWSER is set (CI sets it), when their absence is a failure."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Running
from tryst.domain import fingerprint

CHROMIUM = Path(os.environ.get("TRYST_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = bool(os.environ.get("TRYST_REQUIRE_BROWSER"))
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # pragma: no cover - the skip below says why
    async_playwright = None  # type: ignore[assignment]

if async_playwright is None or not CHROMIUM.exists():
    reason = ("browser tests need the playwright package and Chromium at "
              f"{CHROMIUM} (apt-get install chromium)")
    if REQUIRED:
        raise RuntimeError(reason + "; TRYST_REQUIRE_BROWSER is set")
    pytest.skip(reason, allow_module_level=True)

PASSWORD = "a long enough password"
# Set TRYST_SCREENSHOTS=docs/screenshots to refresh the README's pictures from this run.
SHOTS = os.environ.get("TRYST_SCREENSHOTS")
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # The browser journey is about the client: SQLite is enough (the server's behaviour
    # on PostgreSQL is covered by every other test).
    return f"sqlite+aiosqlite:///{tmp_path / 'tryst.db'}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM),
                                           args=["--no-sandbox", "--disable-gpu"])
        yield launched
        await launched.close()


class Person:
    """One browser context: one person at their own screen."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    async def sign_up(self, base: str) -> None:
        page = self.page
        await page.goto(base + "/")
        form = page.locator("form", has=page.get_by_role("heading", name="Create an account"))
        await form.get_by_label("Username", exact=True).fill(f"web{secrets.token_hex(4)}")
        await form.get_by_label("Password", exact=True).fill(PASSWORD)
        await form.get_by_label(re.compile("I confirm I am 18 or older")).check()
        await form.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="New persona")).to_be_visible()

    async def make_persona(self, hard_limits: str = "", no: tuple[str, ...] = ()) -> None:
        page = self.page
        form = page.locator("form", has=page.get_by_role("heading", name="New persona"))
        await form.get_by_label("Name", exact=True).fill(self.name)
        await form.get_by_label("Age", exact=True).fill("30")
        for tag in no:
            await form.get_by_label(tag, exact=True).select_option("no")
        if hard_limits:
            await form.get_by_label("Hard limits", exact=True).fill(hard_limits)
        await form.get_by_role("button", name="Create persona").click()
        await expect(form.locator(".error")).to_have_count(0)
        await expect(page.locator("#persona-switch")).to_have_value(re.compile("^p_"))
        await expect(page.locator("#status")).to_have_text("Online")

    async def say(self, text: str) -> None:
        box = self.page.locator(".composer textarea")
        await box.fill(text)
        await box.press("Enter")

    def line(self, text: str) -> Any:
        return self.page.locator(".log .line", has_text=text)


async def person(browser: Browser, base: str, name: str, **persona: Any) -> Person:
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    someone = Person(await context.new_page(), name)
    await someone.sign_up(base)
    await someone.make_persona(**persona)
    return someone


async def keep_screenshots(people: list[Person], label: str) -> None:
    for someone in people:
        safe = re.sub(r"\W+", "-", someone.name)
        await someone.page.screenshot(path=str(ARTIFACTS / f"{label}-{safe}.png"),
                                      full_page=True)


async def shot(page: Page, name: str) -> None:
    if SHOTS:  # Playwright creates the directory
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


async def axe_check(page: Page, where: str) -> None:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    serious = [v for v in results.response["violations"]
               if v.get("impact") in ("serious", "critical")]
    assert not serious, (where, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                                 for v in serious])


async def test_the_whole_journey_in_two_browsers_and_a_blocked_third(
        server: Running, browser: Browser) -> None:
    base = server.base
    people: list[Person] = []
    try:
        ada = await person(browser, base, "Ada Web")
        people.append(ada)
        await axe_check(ada.page, "personas")
        bo = await person(browser, base, "Bo Web", hard_limits="Romance", no=("Horror",))
        people.append(bo)
        cy = await person(browser, base, "Cy Web")
        people.append(cy)

        # A room: Ada creates it, Bo and Cy find it and join.
        await ada.page.get_by_role("link", name="Rooms").click()
        create = ada.page.locator("form", has=ada.page.get_by_role("heading", name="Create a room"))
        await create.get_by_label("Name", exact=True).fill("Web Parlour")
        await create.get_by_role("button", name="Create room").click()
        await expect(ada.page.get_by_role("heading", name="Web Parlour")).to_be_visible()
        for guest in (bo, cy):
            await guest.page.get_by_role("link", name="Rooms").click()
            await guest.page.get_by_label("Search rooms", exact=True).fill("Parlour")
            await guest.page.get_by_role("button", name="Search").click()
            await guest.page.get_by_role("button", name="Join Web Parlour").click()
            await expect(guest.page.get_by_role("heading", name="Web Parlour")).to_be_visible()
        # Ada blocks Cy from the who list: from now on Cy sees nothing of Ada.
        who = ada.page.get_by_role("list", name="Who is here")
        await expect(who.get_by_role("button", name="Cy Web")).to_be_visible()
        await who.get_by_role("button", name="Cy Web").click()
        await ada.page.get_by_role("button", name="Block Cy Web").click()
        await ada.say("Good evening, everyone.")
        await expect(bo.line("Good evening, everyone.")).to_be_visible()
        await bo.say("/me waves from the doorway.")
        pose = ada.line("waves from the doorway.")
        await expect(pose).to_have_text(re.compile(r"Bo Web waves from the doorway\."))
        await bo.say("/ooc back in ten minutes, **really**")
        ooc = ada.line("back in ten minutes")
        await expect(ooc).to_have_class(re.compile("ooc"))
        await expect(ooc.locator("strong")).to_have_text("really")
        await bo.say("<b>not markup</b>")
        await expect(ada.line("<b>not markup</b>")).to_be_visible()
        await bo.say("/w Ada Web a quiet word")
        await expect(ada.line("a quiet word")).to_have_class(re.compile("whisper"))
        await axe_check(ada.page, "room")
        await shot(ada.page, "room-desktop")

        # A message request: Bo asks, Ada reads the card, opens it, accepts.
        await bo.page.get_by_role("link", name="Requests").click()
        ask = bo.page.locator("form", has=bo.page.get_by_role(
            "heading", name="Send a message request"))
        await ask.get_by_label("To (persona name)", exact=True).fill("Ada Web")
        await ask.get_by_label("First message", exact=True).fill("May I write with you?")
        await ask.get_by_role("button", name="Send request").click()
        await expect(ada.page.locator("#request-count")).to_have_text("1")
        await ada.page.get_by_role("link", name="Requests").click()
        await ada.page.get_by_role("button", name="Open message").click()
        await expect(ada.page.locator("blockquote")).to_have_text("May I write with you?")
        await ada.page.get_by_role("button", name="Accept Bo Web").click()
        await expect(ada.line("May I write with you?")).to_be_visible()
        await ada.say("Gladly.")
        await expect(bo.line("Gladly.")).to_be_visible()

        # A scene: Ada proposes from the conversation; Bo sees the conflict with his
        # limits and accepts text but not images.
        await ada.page.get_by_role("link", name="Propose a scene").click()
        proposal = ada.page.locator("form.propose")
        await expect(proposal.get_by_label(re.compile("Invite"))).to_have_value("Bo Web")
        await proposal.get_by_label("Title", exact=True).fill("Moonlit garden")
        tags = proposal.get_by_role("group", name="What the scene will include")
        await tags.get_by_label("Romance", exact=True).check()
        await tags.get_by_label("Fantasy", exact=True).check()
        await proposal.get_by_role("group", name="Channels").get_by_label(
            "Images", exact=True).check()
        await proposal.get_by_role("button", name="Send proposal").click()
        await expect(ada.page.get_by_role("heading", name="Scene: Moonlit garden")).to_be_visible()
        await bo.page.get_by_role("link", name="Scenes").click()
        await bo.page.get_by_role("link", name="Moonlit garden").click()
        conflict = bo.page.locator(".tags li.conflict")
        await expect(conflict).to_have_text(re.compile("Romance.*conflicts with your limits"))
        await expect(bo.page.locator(".tags li", has_text="Fantasy")).not_to_have_class("conflict")
        await axe_check(bo.page, "scene card")
        await shot(bo.page, "scene-card-conflict-desktop")
        answer = bo.page.locator("form.answer")
        await expect(answer.get_by_label("Text", exact=True)).to_be_checked()
        await expect(answer.get_by_label("Images", exact=True)).not_to_be_checked()
        await answer.get_by_role("button", name="Accept with these channels").click()
        await expect(bo.page.locator(".status-line")).to_have_text("Status: active")
        await expect(ada.page.locator(".status-line")).to_have_text("Status: active")
        await expect(ada.page.locator(".participants")).to_contain_text(
            "Bo Web · present · shares text")
        await ada.say("The garden gate creaks.")
        await expect(bo.line("The garden gate creaks.")).to_be_visible()

        # Red: the STOP button is always there while a scene runs; one press pauses both.
        stop = bo.page.get_by_role("button", name="STOP (red)")
        await expect(stop).to_be_visible()
        await stop.click()
        for someone in (ada, bo):
            await expect(someone.page.get_by_role(
                "heading", name="Paused: red was called")).to_be_visible()
        await ada.say("Are you all right?")
        await expect(ada.page.locator(".composer .error")).to_contain_text("red was called")
        await shot(bo.page, "scene-paused-desktop")
        await expect(bo.line("Are you all right?")).to_have_count(0)
        await bo.page.get_by_role("button", name="I'm OK: resume").click()
        await expect(bo.page.get_by_text("You confirmed. Waiting for the others.")).to_be_visible()
        await ada.page.get_by_role("button", name="I'm OK: resume").click()
        for someone in (ada, bo):
            await expect(someone.page.locator(".status-line")).to_have_text("Status: active")
        await ada.say("Are you all right?")  # kept in the box after the refusal: sent now
        await expect(bo.line("Are you all right?")).to_be_visible()

        # The blocked third saw none of it: nothing of Ada's, no scene.
        await cy.page.get_by_role("link", name="Rooms").click()
        await cy.page.get_by_role("link", name="Web Parlour").click()
        await expect(cy.line("waves from the doorway.")).to_be_visible()
        await expect(cy.line("Good evening, everyone.")).to_have_count(0)
        await cy.page.get_by_role("link", name="Scenes").click()
        await expect(cy.page.get_by_text("No scenes yet.")).to_be_visible()
        assert not [e for p in people for e in p.errors], [p.errors for p in people]
    except BaseException:
        await keep_screenshots(people, "journey")
        raise


async def test_a_dropped_connection_resumes_without_loss_or_repeats(
        server: Running, browser: Browser) -> None:
    people: list[Person] = []
    try:
        ada = await person(browser, server.base, "Ann Drop")
        bo = await person(browser, server.base, "Ben Drop")
        people += [ada, bo]
        await ada.page.get_by_role("link", name="Rooms").click()
        create = ada.page.locator("form", has=ada.page.get_by_role("heading", name="Create a room"))
        await create.get_by_label("Name", exact=True).fill("Drop Room")
        await create.get_by_role("button", name="Create room").click()
        await expect(ada.page.get_by_role("heading", name="Drop Room")).to_be_visible()
        await bo.page.get_by_role("link", name="Rooms").click()
        await bo.page.get_by_role("button", name="Join Drop Room").click()
        await expect(bo.page.get_by_role("heading", name="Drop Room")).to_be_visible()
        await bo.say("line one")
        await expect(ada.line("line one")).to_have_count(1)
        # A reload: the page starts with no positions of its own, only the server's.
        await ada.page.reload()
        await expect(ada.page.locator("#status")).to_have_text("Online")
        await expect(ada.page.get_by_role("heading", name="Drop Room")).to_be_visible()
        await expect(ada.line("line one")).to_have_count(1)
        # The server drops Ada's connection; Bo talks meanwhile.
        ann = ada.page.locator("#status")
        me = await ada.page.evaluate(
            "fetch('/api/v1/accounts/me').then((r) => r.json())")
        assert server.tryst.registry.close_account(
            me["id"], keep_token_hash=None, reason="test drop") == 1
        await expect(ann).to_contain_text("Offline")
        await bo.say("line two")
        await bo.say("line three")
        await expect(ann).to_have_text("Online")
        for text in ("line one", "line two", "line three"):
            await expect(ada.line(text)).to_have_count(1)
    except BaseException:
        await keep_screenshots(people, "resume")
        raise


async def test_keyboard_alone_at_phone_width_in_the_dark(server: Running,
                                                        browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 360, "height": 740},
                                        color_scheme="dark")
    page = await context.new_page()
    someone = Person(page, "Kay Phone")
    try:
        await page.goto(server.base + "/")
        await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
        await shot(page, "welcome-phone")
        # Sign up with the keyboard alone.
        for _ in range(10):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.name") == "username":
                break
        await page.keyboard.type(f"kbd{secrets.token_hex(4)}")
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Tab")
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="New persona")).to_be_visible()
        await someone.make_persona()
        await page.get_by_role("link", name="Rooms").click()
        await expect(page.get_by_role("heading", name="Rooms")).to_be_visible()
        # Nothing wider than the screen; contrast holds in the dark theme too.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width
        await axe_check(page, "rooms, dark, 360 px")
        await shot(page, "rooms-phone-dark")
        assert not someone.errors, someone.errors
    except BaseException:
        await keep_screenshots([someone], "phone")
        raise
    finally:
        await context.close()


async def test_settings_export_logout_login_and_delete(server: Running,
                                                       browser: Browser) -> None:
    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    someone = Person(page, "Lee Settings")
    try:
        await someone.sign_up(server.base)
        username = await page.evaluate(
            "fetch('/api/v1/accounts/me').then((r) => r.json()).then((a) => a.username)")
        await someone.make_persona()
        # A second persona, then switching back to the first from the header.
        first = await page.locator("#persona-switch").input_value()
        await page.get_by_role("link", name="Personas").click()
        second = Person(page, "Lee Second")
        await second.make_persona()
        await expect(page.locator("#persona-switch")).not_to_have_value(first)
        await page.locator("#persona-switch").select_option(label="Lee Settings")
        await expect(page.locator("#persona-switch")).to_have_value(first)
        await expect(page.locator("#status")).to_have_text("Online")
        # Editing a persona: a pronoun added, saved, shown.
        await page.get_by_role("link", name="Personas").click()
        await page.locator("details", has_text="Edit").first.locator("summary").click()
        edit = page.locator("form", has=page.get_by_role("heading", name="Edit Lee Settings"))
        await edit.get_by_label("Pronouns", exact=True).fill("they/them")
        await edit.get_by_role("button", name="Save").click()
        await expect(page.locator(".cards li", has_text="Lee Settings")).to_contain_text(
            "they/them")
        # Who may reach me: saved, and shown again when the page comes back.
        await page.get_by_role("link", name="Settings").click()
        await page.get_by_label("Message requests from", exact=True).select_option("nobody")
        await page.get_by_role("button", name="Save").first.click()
        await expect(page.locator("#announcer")).to_have_text("Saved.")
        await page.reload()
        await expect(page.locator("#status")).to_have_text("Online")
        await page.get_by_role("link", name="Settings").click()
        await expect(page.get_by_label("Message requests from", exact=True)).to_have_value(
            "nobody")
        # Everything stored about the account, as a download.
        async with page.expect_download() as download:
            await page.get_by_role("link", name="Download everything stored").click()
        saved = await (await download.value).path()
        assert username in saved.read_text("utf-8")
        # Log out, then back in.
        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        await expect(page.locator("#nav")).to_be_hidden()
        login = page.locator("form", has=page.get_by_role("heading", name="Log in"))
        await login.get_by_label("Username", exact=True).fill(username)
        await login.get_by_label("Password", exact=True).fill("wrong password here")
        await login.get_by_role("button", name="Log in").click()
        await expect(login.locator(".error")).to_be_visible()
        await login.get_by_label("Password", exact=True).fill(PASSWORD)
        await login.get_by_role("button", name="Log in").click()
        await expect(page.locator("#persona-switch")).to_have_value(re.compile("^p_"))
        # Delete the account: the wrong password changes nothing, the right one erases it.
        await page.get_by_role("link", name="Settings").click()
        erase = page.locator("form", has=page.get_by_role("heading", name="Delete your account"))
        await erase.get_by_label("Password", exact=True).fill("not the password")
        await erase.get_by_role("button", name="Delete my account").click()
        await expect(erase.locator(".error")).to_contain_text("password")
        await erase.get_by_label("Password", exact=True).fill(PASSWORD)
        await erase.get_by_role("button", name="Delete my account").click()
        await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
        gone = await page.evaluate("fetch('/api/v1/accounts/me').then((r) => r.status)")
        assert gone == 401
        assert not someone.errors, someone.errors
    except BaseException:
        await keep_screenshots([someone], "settings")
        raise
    finally:
        await context.close()


async def test_a_kept_log_is_downloaded_and_shredded(server: Running,
                                                     browser: Browser) -> None:
    people: list[Person] = []
    try:
        ada = await person(browser, server.base, "Ivy Log")
        bo = await person(browser, server.base, "Jon Log")
        people += [ada, bo]
        await ada.page.get_by_role("link", name="Scenes").click()
        await ada.page.get_by_role("link", name="Propose a scene").click()
        proposal = ada.page.locator("form.propose")
        await proposal.get_by_label(re.compile("Invite")).fill("Jon Log")
        await proposal.get_by_label("Title", exact=True).fill("Kept evening")
        await proposal.get_by_role("group", name="Channels").get_by_label(
            re.compile("^Keep a log")).check()
        await proposal.get_by_role("button", name="Send proposal").click()
        await expect(ada.page.get_by_role("heading", name="Scene: Kept evening")).to_be_visible()
        await bo.page.get_by_role("link", name="Scenes").click()
        await bo.page.get_by_role("link", name="Kept evening").click()
        answer = bo.page.locator("form.answer")
        await answer.get_by_label(re.compile("^Keep a log")).check()
        await answer.get_by_role("button", name="Accept with these channels").click()
        await expect(ada.page.locator(".status-line")).to_have_text("Status: active")
        await ada.say("A line worth keeping.")
        await expect(bo.line("A line worth keeping.")).to_be_visible()
        await bo.page.get_by_role("link", name="Scenes").click()
        logs = bo.page.get_by_role("list", name="Kept logs")
        await expect(logs).to_contain_text("Kept evening")
        async with bo.page.expect_download() as download:
            await logs.get_by_role("link", name="Download as text").click()
        text = (await (await download.value).path()).read_text("utf-8")
        assert fingerprint.find(text), "the download carries no fingerprint"
        visible = "".join(ch for ch in text
                          if ch not in fingerprint.ALPHABET and ch != fingerprint.MARK)
        assert "Ivy Log: A line worth keeping." in visible
        await logs.get_by_role("button", name="Shred this log").click()
        await expect(logs).to_contain_text("shredded")
        await ada.page.get_by_role("link", name="Scenes").click()
        await expect(ada.page.get_by_role("list", name="Kept logs")).to_contain_text(
            "shredded")
        assert not [e for p in people for e in p.errors]
    except BaseException:
        await keep_screenshots(people, "logs")
        raise


async def test_typing_groups_and_a_counter_proposal(server: Running,
                                                    browser: Browser) -> None:
    people: list[Person] = []
    try:
        ada = await person(browser, server.base, "Kim Talk")
        bo = await person(browser, server.base, "Lou Talk")
        cy = await person(browser, server.base, "Mo Talk")
        people += [ada, bo, cy]
        # A conversation in which both share typing indicators.
        await bo.page.get_by_role("link", name="Requests").click()
        ask = bo.page.locator("form", has=bo.page.get_by_role(
            "heading", name="Send a message request"))
        await ask.get_by_label("To (persona name)", exact=True).fill("Kim Talk")
        await ask.get_by_label("First message", exact=True).fill("Hello there")
        await ask.get_by_role("button", name="Send request").click()
        await expect(ada.page.locator("#request-count")).to_have_text("1")
        await ada.page.get_by_role("link", name="Requests").click()
        await ada.page.get_by_role("button", name="Accept Lou Talk").click()
        await expect(ada.line("Hello there")).to_be_visible()
        await bo.page.get_by_role("link", name="Conversations").click()
        await bo.page.get_by_role("link", name="Kim Talk").click()
        for someone in (ada, bo):
            page = someone.page
            await page.get_by_text("Privacy for this conversation").click()
            await page.get_by_label("Share typing indicators", exact=True).check()
            await page.get_by_role("button", name="Save").click()
            await expect(page.locator("#announcer")).to_have_text("Saved.")
            await page.reload()  # the composer picks up the new setting
            await expect(page.locator("#status")).to_have_text("Online")
        await ada.page.locator(".composer textarea").fill("I am writing someth")
        await expect(bo.page.locator("#typing")).to_have_text("Kim Talk is typing…")
        # A group: each invitee is asked first.
        await ada.page.get_by_role("link", name="Conversations").click()
        group = ada.page.locator("form", has=ada.page.get_by_role("heading", name="Start a group"))
        await group.get_by_label(re.compile("Invite"), exact=False).fill("Lou Talk, Mo Talk")
        await group.get_by_label("Title", exact=True).fill("Book club")
        await group.get_by_role("button", name="Start group").click()
        await expect(cy.page.locator("#request-count")).to_have_text("1")
        # A counter-proposal: the proposer is asked again, and the scene starts when
        # they accept the changed card.
        await ada.page.get_by_role("link", name="Scenes").click()
        await ada.page.get_by_role("link", name="Propose a scene").click()
        proposal = ada.page.locator("form.propose")
        await proposal.get_by_label(re.compile("Invite")).fill("Lou Talk")
        await proposal.get_by_label("Title", exact=True).fill("First idea")
        await proposal.get_by_role("button", name="Send proposal").click()
        await bo.page.get_by_role("link", name="Scenes").click()
        await bo.page.get_by_role("link", name="First idea").click()
        await bo.page.get_by_text("Suggest changes instead").click()
        changed = bo.page.locator("form.counter")
        await changed.get_by_label("Title", exact=True).fill("Better idea")
        await changed.get_by_role("button", name="Propose this instead").click()
        await expect(ada.page.get_by_role(
            "heading", name="Better idea (version 2)")).to_be_visible()
        await ada.page.locator("form.answer").get_by_role(
            "button", name="Accept with these channels").click()
        for someone in (ada, bo):
            await expect(someone.page.locator(".status-line")).to_have_text("Status: active")
        assert not [e for p in people for e in p.errors]
    except BaseException:
        await keep_screenshots(people, "talk")
        raise
