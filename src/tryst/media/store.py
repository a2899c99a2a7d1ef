"""The default media store: content-addressed files in a directory of their own.

The directory is never served as a web root: bytes leave only through the media service,
which checks a signed, short-lived, per-viewer URL first. Files are named by their
SHA-256, so the same image posted twice is stored once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")


class LocalMediaStore:
    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def _path(self, sha256: str) -> Path:
        if not _SHA.match(sha256):
            raise ValueError("not a SHA-256 content address")
        return self._dir / sha256[:2] / sha256[2:4] / sha256

    def _put(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{sha256}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # readers never see half a file

    def _get(self, sha256: str) -> bytes | None:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def _delete(self, sha256: str) -> bool:
        path = self._path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        for parent in (path.parent, path.parent.parent):
            with contextlib.suppress(OSError):  # not empty: other images live there
                parent.rmdir()
        return True

    def _all(self) -> set[str]:
        if not self._dir.exists():
            return set()
        return {p.name for p in self._dir.glob("??/??/*") if _SHA.match(p.name)}

    async def put(self, sha256: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, sha256, data)

    async def get(self, sha256: str) -> bytes | None:
        return await asyncio.to_thread(self._get, sha256)

    async def delete(self, sha256: str) -> bool:
        return await asyncio.to_thread(self._delete, sha256)

    async def all(self) -> set[str]:
        return await asyncio.to_thread(self._all)
