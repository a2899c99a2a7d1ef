"""Images over real sockets: upload, metadata stripped (checked with exiftool), blur by
default, signed URLs, view-once, scenes' images grant, hash banks, and bad uploads."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from tests.client import Api, Ws
from tests.conftest import Running, ServerFactory
from tests.imagedata import drawing, encode, variants
from tests.test_conversations import opened, person, quiet
from tests.test_scenes import running, wait_kind
from tryst.media import images, pdq

MARKER = "tests.fakes.classifier:MarkerClassifier"
EXIFTOOL = shutil.which("exiftool")
EXIFTOOL_REASON = ("metadata checks need exiftool (Debian package libimage-exiftool-perl; "
                   ".ci/run installs it)")


@pytest.fixture
async def srv(server_factory: ServerFactory) -> AsyncIterator[Running]:
    async with server_factory(image_classifier=MARKER) as running_server:
        yield running_server


async def upload(api: Api, persona: dict[str, Any], data: bytes,
                 mime: str = "image/jpeg") -> httpx.Response:
    return await api.http.post("/api/v1/media", params={"persona_id": persona["id"]},
                               content=data, headers={"content-type": mime})


async def uploaded(api: Api, persona: dict[str, Any], data: bytes,
                   mime: str = "image/jpeg") -> dict[str, Any]:
    response = await upload(api, persona, data, mime)
    assert response.status_code == 201, response.text
    return response.json()["media"]  # type: ignore[no-any-return]


async def fetch(api: Api, url: str) -> httpx.Response:
    return await api.http.get(url)


def stored_files(server: Running) -> list[Path]:
    root = server.tryst.settings.resolved_media_dir()
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def media_rows(server: Running) -> int:
    async with server.tryst.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM media"))).scalar_one())


async def cases(server: Running) -> list[dict[str, Any]]:
    async with server.tryst.engine.connect() as conn:
        rows = await conn.execute(text("SELECT kind, account_id, details FROM moderation_cases"))
        return [{"kind": r[0], "account_id": r[1],
                 "details": r[2] if isinstance(r[2], dict) else json.loads(r[2])} for r in rows]


async def conversation_pair(server: Running, b_fields: dict[str, Any] | None = None
                            ) -> tuple[Api, dict[str, Any], Ws, Api, dict[str, Any], Ws, str]:
    api_a, pa, wa = await person(server, "Ada Image")
    api_b, pb, wb = await person(server, "Bo Image", **(b_fields or {}))
    cid = await opened(wa, wb, pb)
    return api_a, pa, wa, api_b, pb, wb, cid


async def wait_image(ws: Ws, stream: str) -> dict[str, Any]:
    return await ws.wait_for(lambda: next(  # type: ignore[no-any-return]
        (e for e in ws.events if e.get("stream") == stream and e.get("kind") == "image"),
        None))


def gps_jpeg() -> bytes:
    """A JPEG carrying GPS, a comment, XMP, an orientation tag and a thumbnail-worthy
    EXIF block: everything that must not survive."""
    image = drawing(7, (320, 160))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "TestCam"  # camera make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/'
           b'1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/'
           b'exif/1.0/" exif:GPSLatitude="51,30N"/></rdf:RDF></x:xmpmeta>')
    return encode(image, exif=exif.tobytes(), comment=b"secret comment", xmp=xmp)


def exif_tags(data: bytes, tmp_path: Path) -> dict[str, Any]:
    assert EXIFTOOL is not None
    path = tmp_path / "probe.bin"
    path.write_bytes(data)
    out = subprocess.run([EXIFTOOL, "-json", "-a", "-G1", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)[0]  # type: ignore[no-any-return]


# ---------------------------------------------------------------- metadata


async def test_metadata_is_stripped_and_orientation_applied(srv: Running,
                                                            tmp_path: Path) -> None:
    if EXIFTOOL is None:
        if os.environ.get("TRYST_REQUIRE_EXIFTOOL"):
            pytest.fail(EXIFTOOL_REASON)
        pytest.skip(EXIFTOOL_REASON)
    original = gps_jpeg()
    before = exif_tags(original, tmp_path)
    assert any("GPS" in k for k in before) and any("Comment" in k for k in before)
    assert any(k.startswith("XMP") for k in before)
    api_a, pa, wa, api_b, _pb, wb, cid = await conversation_pair(srv)
    media = await uploaded(api_a, pa, original)
    # Turned upright: the 320x160 picture displays as 160x320.
    assert (media["width"], media["height"]) == (160, 320)
    await wa.ok("post_image", media=media["id"], conversation=cid, caption="From the trip")
    event = await wait_image(wb, f"conv:{cid}")
    assert event["text"] == "From the trip" and event["data"]["media"]["id"] == media["id"]
    view = await wb.ok("view_media", media=media["id"])
    assert view["blurred"] is False
    got = await fetch(api_b, view["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert "no-store" in got.headers["cache-control"]
    after = exif_tags(got.content, tmp_path)
    leaked = [k for k in after if k.split(":")[0] in ("EXIF", "IFD0", "IFD1", "GPS", "XMP",
                                                      "XMP-x", "XMP-exif", "ICC_Profile")
              or "Comment" in k or "GPS" in k or "Orientation" in k or "Make" in k]
    assert leaked == [], leaked
    assert Image.open(io.BytesIO(got.content)).size == (160, 320)


# ---------------------------------------------------------------- who sees what


async def test_outsiders_and_strangers_get_404(srv: Running) -> None:
    api_a, pa, wa, api_b, pb, wb, cid = await conversation_pair(srv)
    api_c, _pc, wc = await person(srv, "Cy Outsider")
    media = await uploaded(api_a, pa, encode(drawing(2)))
    # Before posting, only the uploader may look.
    assert (await wb.fail("view_media", media=media["id"]))["code"] == "not_found"
    await wa.ok("post_image", media=media["id"], conversation=cid)
    view = await wb.ok("view_media", media=media["id"])
    # Someone outside the conversation: not found, whether or not it exists.
    assert (await wc.fail("view_media", media=media["id"]))["code"] == "not_found"
    assert (await wc.fail("view_media", media="m_0000000000000000"))["code"] == "not_found"
    # The signed URL is bound to the viewer: another account, or nobody, gets 404.
    assert (await fetch(api_c, view["url"])).status_code == 404
    async with httpx.AsyncClient(base_url=srv.base) as anonymous:
        assert (await anonymous.get(view["url"])).status_code == 404
    tampered = view["url"].replace(".full.", ".preview.")
    assert (await fetch(api_b, tampered)).status_code == 404
    assert (await fetch(api_b, view["url"])).status_code == 200
    # Checked again on every fetch: once blocked, the URL in hand stops working.
    await wa.ok("block", persona=pb["id"])
    assert (await fetch(api_b, view["url"])).status_code == 404
    await wa.ok("unblock", persona=pb["id"])
    # A media id cannot be posted twice, nor by someone else.
    assert (await wc.fail("post_image", media=media["id"],
                          conversation=cid))["code"] == "not_found"
    for ws in (wa, wb, wc):
        await ws.close()
    for api in (api_a, api_b, api_c):
        await api.close()


async def test_explicit_images_are_blurred_until_revealed(srv: Running) -> None:
    api_a, pa, wa, api_b, _pb, wb, cid = await conversation_pair(srv)
    media = await uploaded(api_a, pa, encode(drawing(3, marker=True), "PNG"), "image/png")
    assert media["explicit"] is True and media["mime"] == "image/png"
    await wa.ok("post_image", media=media["id"], conversation=cid)
    await wait_image(wb, f"conv:{cid}")
    view = await wb.ok("view_media", media=media["id"])
    assert view["blurred"] is True and view["media"]["explicit"] is True
    preview = await fetch(api_b, view["url"])
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(preview.content)).size) <= images.PREVIEW_SIDE
    revealed = await wb.ok("view_media", media=media["id"], reveal=True)
    assert revealed["blurred"] is False
    full = await fetch(api_b, revealed["url"])
    assert full.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(full.content)).size == (640, 480)
    # The sender always sees their own image as it is.
    assert (await wa.ok("view_media", media=media["id"]))["blurred"] is False


async def test_persona_opt_in_shows_explicit_images_unblurred(srv: Running) -> None:
    api_a, pa, wa, _api_b, _pb, wb, cid = await conversation_pair(
        srv, b_fields={"adult_content": True})
    media = await uploaded(api_a, pa, encode(drawing(4, marker=True), "PNG"), "image/png")
    await wa.ok("post_image", media=media["id"], conversation=cid)
    assert (await wb.ok("view_media", media=media["id"]))["blurred"] is False


async def test_rooms_share_images_only_when_allowed(srv: Running) -> None:
    api_a, pa, wa = await person(srv, "Ada Rooms", adult_content=True)
    _api_b, _pb, wb = await person(srv, "Bo Rooms", adult_content=True)
    closed = await api_a.new_room(pa["id"], "No Pictures Here")
    open_room = await api_a.new_room(pa["id"], "Gallery Lounge", images=True, rating="adult")
    assert open_room["images"] is True and closed["images"] is False
    for room in (closed, open_room):
        await wb.ok("join", room=room["id"])
    media = await uploaded(api_a, pa, encode(drawing(5, marker=True), "PNG"), "image/png")
    refused = await wa.fail("post_image", media=media["id"], room=closed["id"])
    assert refused["code"] == "forbidden" and "does not allow images" in refused["message"]
    assert (await wa.fail("post_image", media=media["id"], room=open_room["id"],
                          view_once=True))["code"] == "invalid"
    posted = await wa.ok("post_image", media=media["id"], room=open_room["id"])
    assert posted["stream"] == f"room:{open_room['id']}"
    await wait_image(wb, f"room:{open_room['id']}")
    # An adult room and an opted-in persona: shown as it is.
    assert (await wb.ok("view_media", media=media["id"]))["blurred"] is False
    # Leaving the room ends access.
    await wb.ok("leave", room=open_room["id"])
    assert (await wb.fail("view_media", media=media["id"]))["code"] == "not_found"


async def test_view_once_is_deleted_after_it_is_seen(srv: Running) -> None:
    api_a, pa, wa, api_b, _pb, wb, cid = await conversation_pair(srv)
    files_before = len(stored_files(srv))
    media = await uploaded(api_a, pa, encode(drawing(6)))
    assert len(stored_files(srv)) == files_before + 2  # the image and its blurred preview
    await wa.ok("post_image", media=media["id"], conversation=cid, view_once=True)
    event = await wait_image(wb, f"conv:{cid}")
    assert event["data"]["media"]["view_once"] is True
    first = await wb.ok("view_media", media=media["id"])
    assert first["blurred"] is True and first["view_once"] is True  # tap to view
    assert (await fetch(api_b, first["url"])).status_code == 200  # the preview is free
    shown = await wb.ok("view_media", media=media["id"], reveal=True)
    assert (await fetch(api_b, shown["url"])).status_code == 200
    # Seen once: the same URL, a new one, anything, is now "not found".
    assert (await fetch(api_b, shown["url"])).status_code == 404
    assert (await wb.fail("view_media", media=media["id"], reveal=True))["code"] == "not_found"
    assert len(stored_files(srv)) == files_before and await media_rows(srv) == 0


async def test_unposted_uploads_and_view_once_deadlines_are_swept(
        server_factory: ServerFactory, fake_clock: Any) -> None:
    async with server_factory(clock=fake_clock, image_classifier=MARKER,
                              view_once_hours=1.0) as server:
        api_a, pa, wa, _api_b, _pb, _wb, cid = await conversation_pair(server)
        await uploaded(api_a, pa, encode(drawing(8)))  # never posted
        sent = await uploaded(api_a, pa, encode(drawing(9)))
        await wa.ok("post_image", media=sent["id"], conversation=cid, view_once=True)
        assert await media_rows(server) == 2
        fake_clock.advance(2 * 3600)
        assert await server.tryst.media.sweep(full=True) == 2
        assert await media_rows(server) == 0 and stored_files(server) == []


# ---------------------------------------------------------------- scenes


async def test_scene_images_reach_only_those_who_granted_them(srv: Running) -> None:
    api_a, pa, wa, api_b, pb, wb, cid = await conversation_pair(srv)
    sid = await running(wa, wb, pb, ["text", "images"], {"text": True, "images": False})
    media = await uploaded(api_a, pa, encode(drawing(10)))
    posted = await wa.ok("post_image", media=media["id"], scene=sid, caption="Look")
    await wait_kind(wa, sid, "image")
    await quiet()
    stream = f"scene:{sid}"
    assert not [e for e in wb.events if e.get("stream") == stream and e.get("kind") == "image"]
    assert posted["stream"] == stream
    assert (await wb.fail("view_media", media=media["id"]))["code"] == "not_found"
    # Granting later does not open an image sent before.
    await wb.ok("grant", scene=sid, channel="images")
    assert (await wb.fail("view_media", media=media["id"]))["code"] == "not_found"
    second = await uploaded(api_a, pa, encode(drawing(11, marker=True), "PNG"), "image/png")
    await wa.ok("post_image", media=second["id"], scene=sid)
    await wait_kind(wb, sid, "image")
    view = await wb.ok("view_media", media=second["id"])
    assert view["blurred"] is False  # the images grant is the opt-in, for this scene
    assert (await fetch(api_b, view["url"])).status_code == 200
    # Revoking the grant stops viewing too; the scene's end deletes its images.
    await wb.ok("revoke", scene=sid, channel="images")
    assert (await wb.fail("view_media", media=second["id"]))["code"] == "not_found"
    # Without one's own images grant nothing is sent, and the upload stays usable.
    await wa.ok("revoke", scene=sid, channel="images")
    third = await uploaded(api_a, pa, encode(drawing(12)))
    refused = await wa.fail("post_image", media=third["id"], scene=sid)
    assert refused["code"] == "not_granted"
    await wa.ok("post_image", media=third["id"], conversation=cid)
    await wa.ok("end_scene", scene=sid)
    await wait_kind(wb, sid, "ended")
    assert await media_rows(srv) == 1  # only the one posted in the conversation


# ---------------------------------------------------------------- hash banks


def local_hashes(data: bytes) -> dict[str, Any]:
    cleaned = images.clean(data, None, images.Limits(1 << 30, 100_000_000))
    hashes, quality = pdq.dihedral_hex(cleaned.pixels)
    return {"pdq": hashes[0], "quality": quality, "sha256": cleaned.upload_sha256}


async def test_protected_images_and_their_copies_are_refused(srv: Running) -> None:
    api_a, _pa, _wa = await person(srv, "Ada Protects")
    api_m, pm, _wm = await person(srv, "Mal Reuploads")
    original = drawing(20)
    hashes = local_hashes(encode(original))
    assert hashes["quality"] >= 50
    result = await api_a.call("POST", "/protect", expect=201, json={"images": [hashes]})
    assert result == {"added": 2, "duplicates": 0, "low_quality": 0}
    # Submitting again adds nothing.
    assert (await api_a.call("POST", "/protect", json={"images": [hashes]}))["duplicates"] == 2
    for name, data in variants(original).items():
        response = await upload(api_m, pm, data,
                                "image/png" if name == "png" else "image/jpeg")
        assert response.status_code == 422, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == "image_blocked", name
        assert error["message"] == "this image cannot be shared on this server"
    # Hidden in the alpha channel (black pixels, the picture as transparency: it looks
    # like the original on a light page): flattened before hashing, so still refused.
    grey = original.convert("L")
    hidden = Image.new("RGBA", original.size, (0, 0, 0, 0))
    hidden.putalpha(grey.point(lambda v: 255 - v))
    response = await upload(api_m, pm, encode(hidden, "PNG"), "image/png")
    assert response.json()["error"]["code"] == "image_blocked"
    # Someone else protecting the same image is not told it was already protected.
    other = await srv.user()
    assert (await other.call("POST", "/protect", json={"images": [hashes]}))["added"] == 2
    # Different pictures pass.
    for seed in (21, 22, 23):
        await uploaded(api_m, pm, encode(drawing(seed)))
    opened_cases = await cases(srv)
    assert len(opened_cases) == len(variants(original)) + 1
    assert {c["kind"] for c in opened_cases} == {"hash_match"}
    assert all(c["details"]["distance"] <= 31 for c in opened_cases)
    assert await media_rows(srv) == 3  # nothing of the refused uploads was kept
    # Deleting the bank lifts the block (the index is rebuilt and swapped in whole).
    assert await srv.tryst.banks.delete("self-protected") == 4
    assert srv.tryst.banks.stats()["pdq_entries"] == 0
    await uploaded(api_m, pm, variants(original)["mirrored"])
    await api_a.close()
    await api_m.close()


async def test_exact_hash_bank_catches_plain_images(srv: Running) -> None:
    api_a, pa, _ = await person(srv, "Ada Plain")
    plain = encode(Image.new("RGB", (64, 64), (200, 200, 200)), "PNG")
    hashes = local_hashes(plain)
    assert hashes["quality"] < 50  # too plain for PDQ: only the exact copy can be caught
    await api_a.call("POST", "/protect", json={"images": [{"sha256": hashes["sha256"]}]})
    response = await upload(api_a, pa, plain, "image/png")
    assert response.json()["error"]["code"] == "image_blocked"


async def test_protect_refuses_bad_submissions(srv: Running) -> None:
    api = await srv.user()
    bad = [
        {"images": []},
        {"images": [{"pdq": "zz" * 32, "quality": 90}]},
        {"images": [{"pdq": "ab" * 32}]},  # no quality
        {"images": [{}]},
        {"images": [{"sha256": "ab" * 31}]},
        {"images": [{"sha256": "ab" * 32, "extra": 1}]},
    ]
    for body in bad:
        response = await api.http.post("/api/v1/protect", json=body)
        assert response.status_code == 422, (body, response.text)
    anonymous = await api.http.post("/api/v1/protect", json={"images": [{"sha256": "ab" * 32}]},
                                    headers={"authorization": ""})
    assert anonymous.status_code == 401


# ---------------------------------------------------------------- bad uploads


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a decompression bomb's opening)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


async def test_bad_uploads_give_clear_errors_and_leave_nothing(
        server_factory: ServerFactory) -> None:
    async with server_factory(image_classifier=MARKER, max_image_bytes=200_000) as server:
        api, persona, _ = await person(server, "Ada Uploads")
        jpeg = encode(drawing(30))
        cases_ = [
            (b"", "image/jpeg", 422, "image_empty"),
            (b"this is plainly text, not a picture", "image/jpeg", 415,
             "unsupported_image"),
            (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "image/png", 422, "corrupt_image"),
            (jpeg[: len(jpeg) // 2], "image/jpeg", 422, "corrupt_image"),
            (png_claiming(50_000, 50_000), "image/png", 422, "image_too_large"),
            (jpeg, "image/png", 415, "image_type_mismatch"),
            (encode(drawing(31, (100, 80)), "BMP"), "image/bmp", 415, "unsupported_image"),
            (os.urandom(300_000), "image/jpeg", 413, "payload_too_large"),
        ]
        for data, mime, status, code in cases_:
            response = await upload(api, persona, data, mime)
            assert response.status_code == status, (code, response.text)
            body = response.json()["error"]
            assert body["code"] == code and body["message"], body
        assert stored_files(server) == [] and await media_rows(server) == 0
        # Still working afterwards, with WebP and the first frame of a GIF.
        frames = [drawing(32, (120, 90)), drawing(33, (120, 90))]
        gif = io.BytesIO()
        frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
        assert (await uploaded(api, persona, gif.getvalue(), "image/gif"))["mime"] == "image/png"
        webp = await uploaded(api, persona, encode(drawing(34), "WEBP"), "image/webp")
        assert webp["mime"] == "image/jpeg"
        # A common alias and a parameter are accepted.
        await uploaded(api, persona, encode(drawing(35, (100, 80))), "image/jpg; q=1")
        await api.close()


async def test_nudenet_classifies_ordinary_pictures_as_not_explicit(server: Running) -> None:
    """The real classifier (the default), on drawn shapes: it loads, runs in the worker
    and finds nothing explicit."""
    api, persona, _ = await person(server, "Ada Classifier")
    media = await uploaded(api, persona, encode(drawing(40)))
    assert media["explicit"] is False
    await api.close()
