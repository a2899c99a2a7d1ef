"""Images drawn in the tests with Pillow (shapes and text only: nothing explicit), and the
usual ways a re-shared copy differs from its original."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageOps


def drawing(seed: int = 1, size: tuple[int, int] = (640, 480),
            marker: bool = False) -> Image.Image:
    """A busy, distinctive picture: PDQ needs texture to give a quality of 50 or more.
    ``marker`` paints the top-left pixel magenta (tests.fakes.classifier calls that
    explicit)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(60):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(20, w // 2), y0 + rng.randrange(20, h // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    draw.text((w // 10, h // 2), f"test image {seed}", fill=(0, 0, 0))
    if marker:
        image.putpixel((0, 0), (255, 0, 255))
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def variants(image: Image.Image) -> dict[str, bytes]:
    """The copies a hash bank must still recognise."""
    w, h = image.size
    return {
        "resized": encode(image.resize((w // 2, h // 2))),
        "quality30": encode(image, quality=30),
        "greyscale": encode(ImageOps.grayscale(image)),
        "mirrored": encode(ImageOps.mirror(image)),
        "rotated": encode(image.rotate(90, expand=True)),
        "png": encode(image, "PNG"),
    }
