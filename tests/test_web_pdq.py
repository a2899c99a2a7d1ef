"""PDQ and SHA-256 computed in the browser (src/tryst/data/web/js/pdq.js), so a person
can protect their own images without uploading them, compared with the server's own
hashes of the same files (``images.clean`` then ``pdq.dihedral_hex``).

On the same pixels the port is bit-exact (hash and quality). On files, the browser's
decoder is not Pillow's, so a few bits may differ; matching allows 31. The module is
loaded by the real app page, under its strict CSP.

Needs /usr/bin/chromium and the playwright package: skipped with the reason otherwise,
unless TRYST_REQUIRE_BROWSER is set (CI sets it), when their absence is a failure."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import Running
from tests.imagedata import drawing, encode, variants
from tryst.media import images, pdq

CHROMIUM = Path(os.environ.get("TRYST_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = bool(os.environ.get("TRYST_REQUIRE_BROWSER"))

try:
    from playwright.async_api import Page, async_playwright
except ImportError:  # pragma: no cover - the skip below says why
    async_playwright = None  # type: ignore[assignment]

if async_playwright is None or not CHROMIUM.exists():
    reason = ("browser tests need the playwright package and Chromium at "
              f"{CHROMIUM} (apt-get install chromium)")
    if REQUIRED:
        raise RuntimeError(reason + "; TRYST_REQUIRE_BROWSER is set")
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.timeout(120)

LIMITS = images.Limits(max_bytes=1 << 30, max_pixels=100_000_000)
# Different decoders and nothing else: well inside the matching threshold of 31.
MAX_FILE_DISTANCE = 16
MAX_QUALITY_GAP = 5


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'tryst.db'}"


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    """The app's page with pdq.js imported from /assets as a module (window.pdq)."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM),
                                          args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page()
            await page.goto(server.base + "/")
            await page.evaluate(
                "async () => { window.pdq = await import('/assets/js/pdq.js'); }")
            yield page
        finally:
            await browser.close()


def distance(a: str, b: str) -> int:
    return pdq.distance(pdq.from_hex(a), pdq.from_hex(b))


def server_hashes(data: bytes) -> dict[str, Any]:
    """What the server stores for an upload: PDQ of the upright pixels, SHA-256 of the
    file's bytes."""
    cleaned = images.clean(data, None, LIMITS)
    hashes, quality = pdq.dihedral_hex(cleaned.pixels)
    return {"pdq": hashes[0], "quality": quality, "sha256": cleaned.upload_sha256}


async def browser_hashes(page: Page, data: bytes) -> dict[str, Any]:
    """pdq.hashFile on a Blob of these bytes, as a file picked in the page would be."""
    result: dict[str, Any] = await page.evaluate(
        """async (b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            return window.pdq.hashFile(new Blob([bytes]));
        }""", base64.b64encode(data).decode())
    return result


async def hash_pixels(page: Page, image: Image.Image) -> dict[str, Any]:
    """Shrink (the port of Pillow's BILINEAR) and hash raw RGB pixels in the page."""
    rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8).tobytes()
    result: dict[str, Any] = await page.evaluate(
        """([b64, width, height]) => {
            const data = Uint8ClampedArray.from(atob(b64), (c) => c.charCodeAt(0));
            const [w, h] = window.pdq.targetSize(width, height);
            const small = window.pdq.resizeBilinear({ width, height, data }, w, h);
            return window.pdq.pdqFromImageData(small);
        }""", [base64.b64encode(rgba).decode(), image.width, image.height])
    return result


async def test_the_same_pixels_give_exactly_the_servers_hash(page: Page) -> None:
    """Luma, Jarosz filter, DCT, median, hex order and the 512 px shrink (both of
    Pillow's pass orders: wide and over-2:1 tall images) are bit-exact."""
    cases = [drawing(1), drawing(2, (512, 512)), drawing(3, (1600, 1004)),
             drawing(4, (700, 2000)), drawing(5, (333, 250)),
             drawing(6, (1025, 1025)).convert("L"),
             Image.new("RGB", (600, 400), (40, 90, 200))]  # plain: quality 0
    for image in cases:
        mine = await hash_pixels(page, image)
        theirs = pdq.hash_image(image)
        assert (mine["hash"], mine["quality"]) == (theirs.hex(), theirs.quality), image.size


async def test_files_hash_like_the_server(page: Page) -> None:
    original = drawing(11)
    files = {"jpeg": encode(original), **variants(original),
             "gif": encode(original, "GIF"),
             "large": encode(drawing(12, (1600, 1004)), quality=90),
             "tall": encode(drawing(13, (600, 1400))),
             "small png": encode(drawing(14, (200, 150)), "PNG")}
    seen = {}
    for name, data in files.items():
        mine = await browser_hashes(page, data)
        theirs = server_hashes(data)
        seen[name] = distance(mine["pdq"], theirs["pdq"])
        assert mine["sha256"] == hashlib.sha256(data).hexdigest() == theirs["sha256"]
        assert seen[name] <= MAX_FILE_DISTANCE, (name, seen)
        assert abs(mine["quality"] - theirs["quality"]) <= MAX_QUALITY_GAP, name
        assert mine["quality"] >= pdq.MIN_QUALITY, name
    print("browser vs server PDQ distances:", seen)


async def test_exif_orientation_is_applied_as_on_the_server(page: Page) -> None:
    upright = drawing(21)
    # Stored turned a quarter anticlockwise, with orientation 6 ("turn 90 clockwise to
    # show"): upright once displayed, and by Pillow's exif_transpose on the server.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=90, exif=exif)
    data = out.getvalue()

    mine = await browser_hashes(page, data)
    theirs = server_hashes(data)
    as_stored = pdq.hash_image(stored).hex()
    print("orientation 6: browser vs server", distance(mine["pdq"], theirs["pdq"]),
          "browser vs unturned", distance(mine["pdq"], as_stored))
    assert distance(mine["pdq"], theirs["pdq"]) <= MAX_FILE_DISTANCE
    assert distance(mine["pdq"], pdq.hash_image(upright).hex()) <= MAX_FILE_DISTANCE
    assert distance(mine["pdq"], as_stored) > 64  # it did turn the picture upright


def with_transparency(image: Image.Image) -> Image.Image:
    """The drawing with a transparent band (its colours kept under alpha 0) and a
    half-transparent one."""
    rgba = image.convert("RGBA")
    alpha = np.full((image.height, image.width), 255, dtype=np.uint8)
    alpha[:, : image.width // 5] = 0
    alpha[: image.height // 4, :] = 128
    rgba.putalpha(Image.fromarray(alpha, "L"))
    return rgba


async def test_transparent_and_very_large_images(page: Page) -> None:
    """Transparent PNGs: a small one, whose colours under alpha 0 the server hashes as
    they are (read through WebGL, since a 2D canvas loses them), and a large one shrunk
    premultiplied, as Pillow shrinks RGBA. And images over MAX_CANVAS_PIXELS, which the
    browser's decoder first shrinks itself (upright, even with an EXIF orientation)."""
    large = drawing(42, (4800, 3600))
    turned = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    large.transpose(Image.Transpose.ROTATE_90).save(turned, "JPEG", quality=85, exif=exif)
    files = {"small transparent png": encode(with_transparency(drawing(40, (500, 400))),
                                             "PNG"),
             "transparent png": encode(with_transparency(drawing(41, (800, 600))), "PNG"),
             "17 megapixels": encode(large, quality=85),
             "17 megapixels, orientation 6": turned.getvalue()}
    seen = {}
    for name, data in files.items():
        mine = await browser_hashes(page, data)
        theirs = server_hashes(data)
        seen[name] = distance(mine["pdq"], theirs["pdq"])
        assert seen[name] <= MAX_FILE_DISTANCE, (name, seen)
        assert abs(mine["quality"] - theirs["quality"]) <= MAX_QUALITY_GAP, name
    print("browser vs server PDQ distances:", seen)


async def test_different_drawings_are_far_apart(page: Page) -> None:
    hashes = [(await browser_hashes(page, encode(drawing(seed))))["pdq"]
              for seed in (31, 32, 33)]
    far = [distance(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1:]]
    print("different drawings:", far)
    assert min(far) > 64
    # The module's own Hamming distance agrees with the server's.
    assert await page.evaluate("([a, b]) => window.pdq.hammingDistance(a, b)",
                               hashes[:2]) == far[0]


async def test_sha256_without_web_crypto(page: Page) -> None:
    """Pages served over plain HTTP (not localhost) have no crypto.subtle: the
    module's own SHA-256 must agree with hashlib, across block boundaries."""
    for length in (0, 1, 55, 56, 63, 64, 65, 1000, 100_003):
        data = bytes((i * 7 + length) % 256 for i in range(length))
        got = await page.evaluate(
            """(b64) => window.pdq.sha256Js(
                   Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))""",
            base64.b64encode(data).decode())
        assert got == hashlib.sha256(data).hexdigest(), length
