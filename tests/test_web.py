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
# Each wait ends as soon as its condition holds; the ceiling is for a loaded machine.
expect.set_options(timeout=15_000)
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

    async def open(self, link: str) -> None:
        await self.page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=link).click()

    async def create_room(self, name: str) -> None:
        await self.open("Rooms")
        page = self.page
        create = page.locator("form", has=page.get_by_role("heading", name="Create a room"))
        await create.get_by_label("Name", exact=True).fill(name)
        await create.get_by_role("button", name="Create room").click()
        await expect(page.get_by_role("heading", name=name)).to_be_visible()

    async def join_room(self, name: str) -> None:
        await self.open("Rooms")
        page = self.page
        await page.get_by_label("Search rooms", exact=True).fill(name)
        await page.get_by_role("button", name="Search").click()
        await page.get_by_role("button", name=f"Join {name}").click()
        await expect(page.get_by_role("heading", name=name)).to_be_visible()

    async def request(self, to: str, text: str) -> None:
        await self.open("Requests")
        page = self.page
        ask = page.locator("form", has=page.get_by_role("heading", name="Send a message request"))
        await ask.get_by_label("To (persona name)", exact=True).fill(to)
        await ask.get_by_label("First message", exact=True).fill(text)
        await ask.get_by_role("button", name="Send request").click()
        await expect(page.get_by_role("heading", name=to)).to_be_visible()

    def who(self) -> Any:
        return self.page.get_by_role("list", name="Who is here")

    async def menu_for(self, name: str) -> Any:
        """Open the actions of a persona in the room's who list, by keyboard."""
        await self.who().get_by_role("button", name=name, exact=True).press("Enter")
        menu = self.page.get_by_role("group", name=f"Actions for {name}")
        await expect(menu).to_be_visible()
        return menu

    async def minutes_left(self, channel: str) -> float:
        """How long one's own grant of a scene channel has left, as the page shows it."""
        time = self.page.locator(f".grants li[data-channel={channel}] time")
        return float(await time.evaluate(
            "(t) => (Date.parse(t.getAttribute('datetime')) - Date.now()) / 60000"))


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
        # A room of one's own, its tools open, still within the screen; the status too.
        await someone.create_room("Phone Den")
        await page.locator("details.room-tools summary").press("Enter")
        await expect(page.get_by_role("button", name="Save room settings")).to_be_visible()
        await page.get_by_label("Status of Kay Phone").select_option("looking")
        await expect(page.get_by_role("list", name="Who is here")).to_contain_text(
            "Looking to play")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width
        await axe_check(page, "room tools, dark, 360 px")
        await shot(page, "room-tools-phone-dark")
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


async def test_mute_unmute_and_the_inbox_declines_block_and_unblock(
        server: Running, browser: Browser) -> None:
    people: list[Person] = []
    try:
        ada = await person(browser, server.base, "Ada Inbox")
        bo = await person(browser, server.base, "Bo Inbox")
        cy = await person(browser, server.base, "Cy Inbox")
        people += [ada, bo, cy]
        await ada.create_room("Inbox Lounge")
        for guest in (bo, cy):
            await guest.join_room("Inbox Lounge")
        # Ada mutes Bo: his lines while muted never reach her, Cy's still do.
        await expect(ada.who().get_by_role("button", name="Bo Inbox")).to_be_visible()
        menu = await ada.menu_for("Bo Inbox")
        await menu.get_by_role("button", name="Mute for an hour").press("Enter")
        await expect(ada.page.locator("#announcer")).to_have_text("Muted Bo Inbox for an hour.")
        await bo.say("a line while muted")
        await expect(bo.line("a line while muted")).to_be_visible()
        await cy.say("a marker after it")
        await expect(ada.line("a marker after it")).to_be_visible()
        await expect(ada.line("a line while muted")).to_have_count(0)
        # Unmuted from Settings: the list shows until when, and then nobody.
        await ada.open("Settings")
        muted = ada.page.get_by_role("list", name="Muted")
        await expect(muted).to_contain_text("Bo Inbox · until")
        await muted.get_by_role("button", name="Unmute Bo Inbox").click()
        await expect(muted).to_have_text("Nobody muted.")
        # A declined request: gone from Ada's inbox, still "pending" for Bo.
        await bo.request("Ada Inbox", "Would you like to talk?")
        await expect(ada.page.locator("#request-count")).to_have_text("1")
        await expect(ada.page.get_by_role("link", name="Requests, 1 waiting")).to_be_visible()
        await ada.open("Requests")
        await ada.page.get_by_role("button", name="Decline", exact=True).click()
        await expect(ada.page.get_by_text("No requests waiting.")).to_be_visible()
        await expect(ada.page.locator("#request-count")).to_have_text("")
        await bo.open("Conversations")
        await expect(bo.page.get_by_role("list", name="Your conversations")).to_contain_text(
            "Ada Inbox · pending")
        # Declined and blocked: Cy is in Ada's blocked list, and his lines stop.
        await cy.request("Ada Inbox", "Hello from Cy")
        await expect(ada.page.locator("#request-count")).to_have_text("1")
        await ada.page.get_by_role("button", name="Decline and block").click()
        await expect(ada.page.get_by_text("No requests waiting.")).to_be_visible()
        await ada.open("Settings")
        blocked = ada.page.locator("h3:text-is('Blocked') + ul")
        await expect(blocked).to_contain_text("Cy Inbox")
        await cy.open("Rooms")
        await cy.page.get_by_role("link", name="Inbox Lounge").click()
        await cy.say("said while blocked")
        await expect(cy.line("said while blocked")).to_be_visible()
        # Unblocked: what Cy says from now on reaches Ada; what he said meanwhile does not.
        await blocked.get_by_role("button", name="Unblock Cy Inbox").click()
        await expect(blocked).to_have_text("Nobody blocked.")
        await axe_check(ada.page, "settings")
        await cy.say("said after the unblock")
        await bo.open("Rooms")
        await bo.page.get_by_role("link", name="Inbox Lounge").click()
        await bo.say("heard again after the unmute")
        await ada.open("Rooms")
        await ada.page.get_by_role("link", name="Inbox Lounge").click()
        await expect(ada.line("heard again after the unmute")).to_be_visible()
        await expect(ada.line("said after the unblock")).to_be_visible()
        await expect(ada.line("said while blocked")).to_have_count(0)
        assert not [e for p in people for e in p.errors], [p.errors for p in people]
    except BaseException:
        await keep_screenshots(people, "inbox")
        raise


async def test_unread_counts_presence_privacy_and_grant_durations(
        server: Running, browser: Browser) -> None:
    people: list[Person] = []
    try:
        eve = await person(browser, server.base, "Eve Count")
        fay = await person(browser, server.base, "Fay Count")
        people += [eve, fay]
        # Fay's status and its message, shown beside her name to those she talks with.
        await fay.open("Settings")
        status = fay.page.locator("form", has=fay.page.get_by_role(
            "heading", name="Status of Fay Count"))
        await expect(status.get_by_role("button", name="Save status")).to_be_enabled()
        await status.get_by_label("Status", exact=True).select_option("looking")
        await status.get_by_label("Status message", exact=True).fill("Up for a tavern scene")
        await status.get_by_role("button", name="Save status").click()
        await expect(fay.page.locator("#announcer")).to_have_text("Status saved.")
        await expect(fay.page.get_by_label("Status of Fay Count")).to_have_value("looking")
        await fay.request("Eve Count", "Hello, Eve")
        await eve.open("Requests")
        await eve.page.get_by_role("button", name="Accept Fay Count").click()
        await expect(eve.line("Hello, Eve")).to_be_visible()
        members = eve.page.locator("#conversation-members")
        await expect(members).to_have_text(
            "Fay Count: active (Looking to play: Up for a tavern scene)")
        # A change of status shows at once, without a reload.
        await fay.page.get_by_label("Status of Fay Count").select_option("busy")
        await expect(members).to_have_text("Fay Count: active (Busy: Up for a tavern scene)")

        # Unread: counted while Eve is elsewhere, in the navigation, the list and the title.
        await eve.open("Rooms")
        await fay.say("first while you were away")
        await fay.say("second while you were away")
        await expect(fay.line("second while you were away")).to_be_visible()
        await expect(eve.page.locator("#unread-count")).to_have_text("2")
        await expect(eve.page).to_have_title("(2) Tryst")
        await eve.page.get_by_role("link", name="Conversations, 2 unread").click()
        conversations = eve.page.get_by_role("list", name="Your conversations")
        await expect(conversations.locator(".unread")).to_have_text("2 unread")
        await expect(conversations).to_contain_text("Busy: Up for a tavern scene")
        await axe_check(eve.page, "conversations with unread counts")
        await shot(eve.page, "conversations-unread-desktop")
        await conversations.get_by_role("link", name="Fay Count").click()
        await expect(eve.line("second while you were away")).to_be_visible()
        await expect(eve.page.locator("#unread-count")).to_have_text("")
        await expect(eve.page).to_have_title("Tryst")

        # Privacy: the shortest retention anyone chose holds; receipts when both share them.
        await eve.page.get_by_text("Privacy for this conversation").click()
        await eve.page.get_by_label("Keep history", exact=True).select_option("7")
        await eve.page.get_by_label("Share read receipts", exact=True).check()
        await eve.page.get_by_role("button", name="Save", exact=True).click()
        await expect(eve.page.locator("#announcer")).to_have_text("Saved.")
        await expect(eve.page.locator("#retention")).to_contain_text("History is not stored")
        await fay.page.get_by_text("Privacy for this conversation").click()
        await fay.page.get_by_label("Keep history", exact=True).select_option("30")
        await fay.page.get_by_label("Disappearing messages", exact=True).select_option("3600")
        await fay.page.get_by_label("Share read receipts", exact=True).check()
        await fay.page.get_by_role("button", name="Save", exact=True).click()
        await expect(fay.page.locator("#retention")).to_have_text(
            "History is kept for 7 days; lines disappear after 1 hour.")
        await fay.say("Did you read this?")
        await expect(eve.line("Did you read this?")).to_be_visible()
        await expect(fay.page.locator("#receipts")).to_have_text(
            "Eve Count has read up to here")
        # After a reload: still read, and the choices are as saved.
        await eve.page.reload()
        await expect(eve.page.locator("#status")).to_have_text("Online")
        await expect(eve.line("Did you read this?")).to_be_visible()
        await expect(eve.page.locator("#unread-count")).to_have_text("")
        await eve.page.get_by_text("Privacy for this conversation").click()
        await expect(eve.page.get_by_label("Keep history", exact=True)).to_have_value("7")
        await expect(eve.page.get_by_label("Share read receipts", exact=True)).to_be_checked()
        await expect(eve.page.get_by_label("Share typing indicators", exact=True)
                     ).not_to_be_checked()
        await expect(eve.page.get_by_label("Disappearing messages", exact=True)
                     ).to_have_value("3600")

        # Grant durations: chosen when proposing and answering, shown, renewed, stopped.
        await eve.page.get_by_role("link", name="Propose a scene").click()
        proposal = eve.page.locator("form.propose")
        await expect(proposal.get_by_label(re.compile("Invite"))).to_have_value("Fay Count")
        await proposal.get_by_label("Title", exact=True).fill("Short and sweet")
        await proposal.get_by_role("group", name="Channels").get_by_label(
            "Images", exact=True).check()
        await proposal.get_by_label("Your channels last", exact=True).select_option("60")
        await proposal.get_by_role("button", name="Send proposal").click()
        await fay.open("Scenes")
        await fay.page.get_by_role("link", name="Short and sweet").click()
        answer = fay.page.locator("form.answer")
        await answer.get_by_label("What you share lasts", exact=True).select_option("30")
        await answer.get_by_role("button", name="Accept with these channels").click()
        for someone in (eve, fay):
            await expect(someone.page.locator(".status-line")).to_have_text("Status: active")
        text = eve.page.locator(".grants li[data-channel=text]")
        await expect(text).to_contain_text("Text: shared until")
        assert 58 < await eve.minutes_left("text") <= 60
        await expect(fay.page.locator(".grants li[data-channel=text]")).to_contain_text(
            "shared until")
        assert 28 < await fay.minutes_left("text") <= 30
        await axe_check(eve.page, "scene with grants")
        # Renewed for a day, by keyboard: the focus stays on the button.
        await eve.page.get_by_label("Share or renew for", exact=True).select_option("1440")
        await text.get_by_role("button", name="Renew Text").press("Enter")
        await expect(eve.page.locator("#announcer")).to_contain_text("You share Text until")
        await eve.page.wait_for_function(
            "() => { const t = document.querySelector('.grants li[data-channel=text] time');"
            " return t && Date.parse(t.getAttribute('datetime')) - Date.now() > 1430 * 60000; }")
        assert await eve.minutes_left("text") <= 1440
        await expect(text.get_by_role("button", name="Renew Text")).to_be_focused()
        await expect(fay.line("Eve Count shares text until")).to_be_visible()
        await text.get_by_role("button", name="Stop sharing Text").click()
        await expect(text).to_contain_text("Text: not shared")
        await expect(fay.line("Eve Count stopped sharing text")).to_be_visible()
        await expect(eve.page.locator(".grants li[data-channel=images]")).to_contain_text(
            "Images: shared until")
        await shot(eve.page, "scene-grants-desktop")
        await text.get_by_role("button", name="Share Text").click()
        await expect(text).to_contain_text("Text: shared until")
        await eve.say("Back again.")
        await expect(fay.line("Back again.")).to_be_visible()
        assert not [e for p in people for e in p.errors], [p.errors for p in people]
    except BaseException:
        await keep_screenshots(people, "counts")
        raise


async def test_room_moderation_topic_roles_invites_kick_and_refusals(
        server: Running, browser: Browser) -> None:
    people: list[Person] = []
    try:
        own = await person(browser, server.base, "Own Hall")
        mod = await person(browser, server.base, "Mod Hall")
        mem = await person(browser, server.base, "Mem Hall")
        people += [own, mod, mem]
        await own.create_room("Moderated Hall")
        for guest in (mod, mem):
            await guest.join_room("Moderated Hall")
        # Only those allowed see the tools.
        tools = own.page.locator("details.room-tools")
        await expect(tools.locator("summary")).to_have_text("Manage this room")
        await expect(mem.page.locator("details.room-tools")).to_have_count(0)
        await tools.locator("summary").click()
        topic = tools.locator("form", has=own.page.get_by_role("button", name="Set topic"))
        await topic.get_by_label("Topic", exact=True).fill("Storm over the crossroads")
        await topic.get_by_role("button", name="Set topic").click()
        await expect(mem.page.locator("#room-topic")).to_have_text("Storm over the crossroads")
        await expect(mem.line("Own Hall set the topic: Storm over the crossroads")).to_be_visible()
        await axe_check(own.page, "room tools")
        # The owner makes Mod a moderator: Mod gets the tools, everyone sees the role.
        await expect(own.who().get_by_role("button", name="Mod Hall")).to_be_visible()
        menu = await own.menu_for("Mod Hall")
        await menu.get_by_role("button", name="Make Mod Hall a moderator").press("Enter")
        await expect(mem.line("Mod Hall is now moderator")).to_be_visible()
        await expect(mem.who().locator("li", has_text="Mod Hall")).to_contain_text("moderator")
        modtools = mod.page.locator("details.room-tools")
        await expect(modtools.locator("summary")).to_have_text("Moderate this room")
        await modtools.locator("summary").click()
        notice = modtools.locator("form", has=mod.page.get_by_role("button", name="Post notice"))
        await notice.get_by_label("Notice to everyone here").fill("Quiet hours from ten.")
        await notice.get_by_role("button", name="Post notice").click()
        await expect(mem.line("Quiet hours from ten.")).to_be_visible()
        await expect(own.line("Quiet hours from ten.")).to_be_visible()
        if SHOTS:
            await own.page.locator("details.room-tools summary").click()
            await mem.say("/me settles by the fire.")
            await expect(own.line("settles by the fire.")).to_be_visible()
            await own.menu_for("Mem Hall")
            await shot(own.page, "room-moderation-desktop")
            await own.page.keyboard.press("Escape")
            await own.page.locator("details.room-tools summary").click()
        # A moderator cannot remove an owner: the menu does not offer it.
        menu = await mod.menu_for("Own Hall")
        await expect(menu.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
        await menu.get_by_role("button", name="Close").press("Enter")
        # A refusal is shown where it happened: Mem leaves while Mod is about to remove her.
        menu = await mod.menu_for("Mem Hall")
        await mem.page.get_by_role("button", name="Leave room").click()
        await expect(mod.line("Mem Hall left")).to_be_visible()
        await menu.get_by_role("button", name="Remove Mem Hall from the room").click()
        await expect(mod.page.locator("#action-error")).to_have_text(
            "not a member of this room")
        # Removed for real: Mem is told, and everyone sees it.
        await mem.join_room("Moderated Hall")
        menu = await mod.menu_for("Mem Hall")
        await menu.get_by_role("button", name="Remove Mem Hall from the room").click()
        await expect(mem.page.get_by_role(
            "heading", name="You were removed from this room")).to_be_visible()
        await expect(own.line("Mem Hall was removed from the room")).to_be_visible()
        await expect(mod.page.locator("#action-error")).to_have_text("")
        # The last owner cannot step down: the refusal is shown in the form.
        step = tools.locator("form", has=own.page.get_by_role("heading", name="Step down"))
        await step.get_by_label("Your role from now on").select_option("member")
        await step.get_by_role("button", name="Step down").click()
        await expect(step.locator(".error")).to_contain_text("a room needs an owner")
        # Invite-only: Mem cannot find it until invited, then joins from the link.
        settings = tools.locator("form", has=own.page.get_by_role("heading", name="Room settings"))
        await settings.get_by_label("Who can find it").select_option("invite_only")
        await settings.get_by_role("button", name="Save room settings").click()
        await expect(own.line("room settings changed: visibility")).to_be_visible()
        link = mem.page.url
        await mem.page.goto(server.base + "/")
        await expect(mem.page.locator("#status")).to_have_text("Online")
        await mem.page.goto(link)
        await expect(mem.page.get_by_text("it is invite-only and you are not invited")
                     ).to_be_visible()
        invite = tools.locator("form", has=own.page.get_by_role("button", name="Invite"))
        await invite.get_by_label("Invite (persona name)").fill("Mem Hall")
        await invite.get_by_role("button", name="Invite").click()
        await expect(invite.get_by_role("status")).to_contain_text(
            "Invited Mem Hall. Tryst does not tell them")
        await mem.open("Rooms")
        opener = mem.page.locator("form", has=mem.page.get_by_role(
            "heading", name="Open a room from a link"))
        await opener.get_by_label("Room link or id").fill(link)
        await opener.get_by_role("button", name="Open").click()
        await mem.page.get_by_role("button", name="Join Moderated Hall").click()
        await expect(mem.page.get_by_role("heading", name="Moderated Hall")).to_be_visible()
        await expect(own.who()).to_contain_text("Mem Hall")
        assert not [e for p in people for e in p.errors], [p.errors for p in people]
    except BaseException:
        await keep_screenshots(people, "moderation")
        raise
