"""Decode an upload, rebuild it from its pixels and re-encode it.

Synchronous and CPU-bound: it runs in the image worker process (``media.worker``), never
on the event loop. Rebuilding from pixels is the point: a plain re-save keeps JPEG
comments, and EXIF removers keep XMP (which can hold GPS), so nothing of the uploaded
file but its pixels, turned upright, is kept."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from tryst.domain.media import FORMATS, ImageRefused

PREVIEW_SIDE = 320  # the blurred preview's longest side
_TINY_SIDE = 24  # the preview is scaled down to this first, so no detail survives the blur


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_side: int = 20_000


@dataclass(frozen=True, slots=True)
class Clean:
    """A decoded, upright, metadata-free image and its re-encoded bytes."""

    pixels: Image.Image
    data: bytes
    mime: str
    preview: bytes
    upload_sha256: str


def _open(data: bytes, limits: Limits) -> Image.Image:
    if not data:
        raise ImageRefused("image_empty", "the upload is empty")
    if len(data) > limits.max_bytes:
        raise ImageRefused("payload_too_large",
                           f"images may be at most {limits.max_bytes} bytes",
                           details={"max_bytes": limits.max_bytes}, status=413)
    try:
        with warnings.catch_warnings():
            # Pillow warns (then errors) on very large images; we check the size ourselves.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # JPEG also opens phone cameras' MPO files (reported as format "MPO").
            image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP", "GIF"])
    except UnidentifiedImageError:
        if _looks_like_image(data):  # the right signature, then garbage
            raise ImageRefused("corrupt_image", "the image is damaged and cannot be read"
                               ) from None
        raise ImageRefused("unsupported_image",
                           "this is not a JPEG, PNG, WebP or GIF image", status=415) from None
    except Image.DecompressionBombError:
        raise ImageRefused("image_too_large",
                           f"the image has too many pixels; at most {limits.max_pixels:,} "
                           "are accepted", details={"max_pixels": limits.max_pixels}) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRefused("corrupt_image", f"the image cannot be read: {exc}") from None
    width, height = image.size
    if width < 1 or height < 1 or width > limits.max_side or height > limits.max_side \
            or width * height > limits.max_pixels:
        raise ImageRefused(
            "image_too_large",
            f"the image is {width}x{height} pixels; at most {limits.max_pixels:,} pixels "
            f"and {limits.max_side} on a side are accepted",
            details={"width": width, "height": height, "max_pixels": limits.max_pixels,
                     "max_side": limits.max_side})
    return image


def _looks_like_image(data: bytes) -> bool:
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")) \
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _upright_pixels(image: Image.Image) -> Image.Image:
    """The first frame, decoded, turned by its EXIF orientation, as a new image that
    carries nothing but pixels (no info dict, no ICC profile, no EXIF)."""
    try:
        image.seek(0)
        image.load()
        turned = ImageOps.exif_transpose(image) or image
        if turned.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale
            turned = turned.point(lambda v: v / 256).convert("L")
        has_alpha = turned.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            turned.mode == "P" and "transparency" in turned.info)
        if has_alpha:
            # Flattened onto white: what is served is exactly what was hashed and
            # classified. (Kept, transparency could hide a picture from both: black
            # pixels with the image in the alpha channel look like the original on a
            # light page but hash and classify as a black square.)
            rgba = turned.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            turned = flat
        elif turned.mode not in ("RGB", "L"):
            turned = turned.convert("RGB")
        fresh = Image.frombytes(turned.mode, turned.size, turned.tobytes())
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageRefused("corrupt_image", f"the image cannot be read: {exc}") from None
    return fresh


def _encode(pixels: Image.Image, source_format: str) -> tuple[bytes, str]:
    out = io.BytesIO()
    if source_format in ("JPEG", "MPO", "WEBP"):
        # Photos stay JPEG; WebP becomes JPEG too (universally shown).
        rgb = pixels if pixels.mode in ("RGB", "L") else pixels.convert("RGB")
        rgb.save(out, "JPEG", quality=88, optimize=True)
        return out.getvalue(), "image/jpeg"
    # PNG and GIF (first frame) become PNG: lossless (transparency was flattened).
    pixels.save(out, "PNG", optimize=False)
    return out.getvalue(), "image/png"


def _preview(pixels: Image.Image) -> bytes:
    rgb = pixels.convert("RGB")
    tiny = rgb.copy()
    tiny.thumbnail((_TINY_SIDE, _TINY_SIDE), Image.Resampling.BOX)
    scale = PREVIEW_SIDE / max(rgb.size)
    size = (max(1, round(rgb.width * min(1.0, scale))), max(1, round(rgb.height * min(1.0, scale))))
    blurred = tiny.resize(size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(12))
    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=70)
    return out.getvalue()


def clean(data: bytes, declared_mime: str | None, limits: Limits) -> Clean:
    """Check and rebuild an upload. ``declared_mime`` is what the client said the file
    is (Content-Type); a file whose bytes are another format is refused, so a renamed
    file is caught with a clear message rather than served under the wrong type."""
    image = _open(data, limits)
    fmt = image.format or ""
    actual = FORMATS.get(fmt)
    if actual is None:
        raise ImageRefused("unsupported_image",
                           "this is not a JPEG, PNG, WebP or GIF image", status=415)
    declared = (declared_mime or "").split(";")[0].strip().lower()
    declared = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}.get(declared, declared)
    if declared_mime is not None and declared not in ("", actual, "application/octet-stream"):
        raise ImageRefused(
            "image_type_mismatch",
            f"the file is a {fmt} image but was sent as {declared_mime}; "
            "rename it with the right extension and try again",
            details={"actual": actual, "declared": declared_mime}, status=415)
    pixels = _upright_pixels(image)
    encoded, mime = _encode(pixels, fmt)
    return Clean(pixels=pixels, data=encoded, mime=mime, preview=_preview(pixels),
                 upload_sha256=hashlib.sha256(data).hexdigest())
