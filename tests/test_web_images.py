"""Images, safety notices, protecting one's own images and reporting, in a real browser.

Ada asks Bo to move off-platform: Bo's page shows a safety notice. Bo accepts; Ada
shares a picture (drawn in the test) and Bo sees it. Bo protects another picture from
the "Protect my images" page (hashed in the browser: only hashes leave it); Ada's
attempt to share a mirrored copy is refused. Bo reports Ada from the notice."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import Running
from tests.imagedata import drawing, encode, variants
from tests.test_web import (  # noqa: F401  (fixtures used by name)
    Browser,
    Person,
    axe_check,
    browser,
    database_url,
    expect,
    keep_screenshots,
    person,
)


def upload(name: str, data: bytes, mime: str) -> dict[str, object]:
    return {"name": name, "mimeType": mime, "buffer": data}


async def test_images_notices_protection_and_a_report(server: Running,
                                                      browser: Browser) -> None:  # noqa: F811
    people: list[Person] = []
    try:
        ada = await person(browser, server.base, "Ada Pictures")
        bo = await person(browser, server.base, "Bo Pictures")
        people += [ada, bo]
        # An off-platform move to a new contact reaches Bo with a notice.
        await ada.request("Bo Pictures", "add me on snap, it's easier")
        notice = bo.page.locator(".safety-notice")
        await expect(notice).to_contain_text("Safety notice")
        await expect(notice.get_by_role("button", name="Block Ada Pictures")).to_be_visible()
        await bo.open("Requests")
        await bo.page.get_by_role("button", name="Accept Ada Pictures").click()
        await expect(bo.page.get_by_role("heading", name="Ada Pictures")).to_be_visible()
        # Ada shares a picture in the conversation; Bo sees it.
        await ada.open("Conversations")
        await ada.page.get_by_role("link", name="Bo Pictures").first.click()
        await ada.page.locator(".share-image input[type=file]").set_input_files(
            [upload("harbour.png", encode(drawing(60), "PNG"), "image/png")])
        status = ada.page.locator(".share-image [role=status]")
        await expect(status).to_have_text("Image sent.")
        picture = bo.page.locator("figure.image img")
        await expect(picture).to_have_attribute("alt", "Image from Ada Pictures")
        await bo.page.wait_for_function(  # decoded: the signed URL served the picture
            "() => document.querySelector('figure.image img')?.naturalWidth > 0")
        # Bo protects another picture of his; only its hashes leave the page.
        mine = drawing(61)
        await bo.open("Protect my images")
        await expect(bo.page.get_by_role("heading", name="Protect my images")).to_be_visible()
        await bo.page.get_by_label("Images to protect").set_input_files(
            [upload("mine.jpg", encode(mine), "image/jpeg")])
        await expect(bo.page.locator(".protect-results")).to_contain_text("mine.jpg: ready")
        await bo.page.get_by_role("button", name="Protect these images").click()
        await expect(bo.page.get_by_role("status").filter(has_text="Protected")).to_have_text(
            "Protected: 2 new hashes.")
        await axe_check(bo.page, "protect")
        # A mirrored copy is refused when Ada tries to share it.
        await ada.page.locator(".share-image input[type=file]").set_input_files(
            [upload("copy.jpg", variants(mine)["mirrored"], "image/jpeg")])
        await expect(ada.page.locator(".share-image .error")).to_have_text(
            "this image cannot be shared on this server")
        # Bo reports Ada from the notice, with her messages he chooses.
        await notice.get_by_role("button", name="Report").click()
        await expect(bo.page.get_by_role("heading", name="Report")).to_be_visible()
        await bo.page.get_by_label("What is happening").select_option("other")
        await bo.page.get_by_label("Anything the moderators should know (optional)").fill(
            "Asked me to move to another app straight away.")
        await axe_check(bo.page, "report")
        await bo.page.get_by_role("button", name="Send the report").click()
        await expect(bo.page.locator("[role=status]", has_text="Reported")).to_be_visible()
        async with server.tryst.engine.connect() as conn:
            kinds = (await conn.execute(text("SELECT kind FROM moderation_cases"))).scalars()
            assert sorted(kinds) == ["hash_match", "report_other"]
        assert not [e for p in people for e in p.errors], [p.errors for p in people]
    except BaseException:
        await keep_screenshots(people, "images")
        raise
