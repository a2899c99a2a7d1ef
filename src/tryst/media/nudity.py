"""Explicit-image classification with NudeNet (its ONNX model ships in the wheel; it runs
on the CPU with onnxruntime, in the image worker process, never on the event loop).

NudeNet's package metadata says MIT but it bundles an AGPL-3.0 licence file; Tryst is
itself AGPL-3.0-or-later, so shipping and running it is compatible (see the README)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image

# What makes an image explicit for the blur decision: exposed genitals, breasts, buttocks.
# Faces, feet, bellies and covered parts are found too but never blur an image.
EXPLICIT_LABELS = frozenset({
    "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED"})
DEFAULT_THRESHOLD = 0.45
_CLASSIFY_SIDE = 640  # the model looks at 320 px; more only costs decode time


@dataclass(frozen=True, slots=True)
class Verdict:
    explicit: bool
    labels: tuple[tuple[str, float], ...]


class Classifier(Protocol):
    def classify(self, pixels: Image.Image) -> Verdict: ...


class NudeNetClassifier:
    """Loads the model once per worker process."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        from nudenet import NudeDetector  # heavy (onnxruntime, OpenCV): workers only

        self._detector: Any = NudeDetector()
        self._threshold = threshold

    def classify(self, pixels: Image.Image) -> Verdict:
        import numpy as np

        small = pixels.convert("RGBA")
        small.thumbnail((_CLASSIFY_SIDE, _CLASSIFY_SIDE))
        found = self._detector.detect(np.asarray(small))
        labels = tuple(sorted(((str(d["class"]), round(float(d["score"]), 3)) for d in found),
                              key=lambda pair: -pair[1]))
        explicit = any(label in EXPLICIT_LABELS and score >= self._threshold
                       for label, score in labels)
        return Verdict(explicit=explicit, labels=labels)


class AlwaysExplicit:
    """Used when classification is switched off: every image is treated as explicit,
    so nothing reaches a recipient unblurred without their opt-in (fail closed)."""

    def classify(self, pixels: Image.Image) -> Verdict:
        return Verdict(explicit=True, labels=())
