"""A stand-in classifier for tests, loaded by the image worker process as
``tests.fakes.classifier:MarkerClassifier``. Test images are drawn, never explicit: this
one calls an image "explicit" when its top-left pixel is pure magenta, so the blur path
can be tested without explicit test content. (The real NudeNet classifier is exercised
separately on ordinary drawn images.)"""

from __future__ import annotations

from PIL import Image

from tryst.media.nudity import Verdict

MARKER = (255, 0, 255)


class MarkerClassifier:
    def classify(self, pixels: Image.Image) -> Verdict:
        explicit = pixels.convert("RGB").getpixel((0, 0)) == MARKER
        return Verdict(explicit=explicit, labels=(("TEST_MARKER", 1.0),) if explicit else ())
