"""The image worker: decoding, cleaning, hashing and classifying in separate processes.

Decoding hostile files and running a neural network are CPU-heavy and occasionally
crash-prone; doing them in a process pool keeps the event loop responsive and a crash
contained (the pool is rebuilt and the one upload fails with a clear error)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import logging
import multiprocessing
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tryst.domain.errors import TrystError
from tryst.domain.media import ImageRefused, Processed
from tryst.media import images, pdq
from tryst.media.nudity import DEFAULT_THRESHOLD, AlwaysExplicit, Classifier, NudeNetClassifier

log = logging.getLogger("tryst.media")

_classifier: Classifier | None = None  # one per worker process, loaded by _start


class WorkerBusy(TrystError):
    code = "busy"
    status = 503


def load_classifier(spec: str, threshold: float = DEFAULT_THRESHOLD) -> Classifier:
    """``nudenet`` (default), ``off`` (every image counts as explicit: fail closed), or
    ``package.module:Class`` for an operator's own classifier (constructed with no
    arguments, with a ``classify(PIL.Image) -> Verdict`` method)."""
    if spec == "nudenet":
        return NudeNetClassifier(threshold)
    if spec == "off":
        return AlwaysExplicit()
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"image classifier must be nudenet, off or module:Class, not {spec!r}")
    cls: Any = getattr(importlib.import_module(module), name)
    classifier: Classifier = cls()
    return classifier


def _start(spec: str, threshold: float) -> None:
    global _classifier
    _classifier = load_classifier(spec, threshold)


def process(data: bytes, declared: str | None, limits: images.Limits) -> Processed:
    """Everything done to one upload, in a worker process."""
    cleaned = images.clean(data, declared, limits)
    hashes, quality = pdq.dihedral_hex(cleaned.pixels)
    assert _classifier is not None, "worker started without a classifier"
    verdict = _classifier.classify(cleaned.pixels)
    return Processed(image=cleaned.data, mime=cleaned.mime, width=cleaned.pixels.width,
                     height=cleaned.pixels.height, preview=cleaned.preview,
                     upload_sha256=cleaned.upload_sha256, pdq=tuple(hashes),
                     pdq_quality=quality, explicit=verdict.explicit, labels=verdict.labels)


class ImageWorker:
    """Runs ``process`` in a pool of worker processes, started on first use (so a server
    that never sees an image never pays for loading the model)."""

    def __init__(self, limits: images.Limits, *, classifier: str = "nudenet",
                 threshold: float = DEFAULT_THRESHOLD, workers: int = 1,
                 max_waiting: int = 32) -> None:
        self.limits = limits
        self._spec = classifier
        self._threshold = threshold
        self._workers = workers
        self._slots = asyncio.Semaphore(workers + max_waiting)
        self._waiting = 0
        self._max = workers + max_waiting
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: forking a process that runs an event loop and threads can
            # copy held locks into the child.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start, initargs=(self._spec, self._threshold))
        return self._pool

    async def process(self, data: bytes, declared: str | None) -> Processed:
        if self._waiting >= self._max:
            raise WorkerBusy("the server is busy processing images; try again shortly")
        self._waiting += 1
        try:
            async with self._slots:
                pool = self._ensure_pool()
                loop = asyncio.get_running_loop()
                try:
                    return await loop.run_in_executor(pool, process, data, declared,
                                                      self.limits)
                except BrokenProcessPool:
                    log.error("the image worker died; starting a new one")
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise ImageRefused("image_failed",
                                       "the image could not be processed", status=422
                                       ) from None
        finally:
            self._waiting -= 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
