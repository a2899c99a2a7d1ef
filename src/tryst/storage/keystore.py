"""The default key store: one small file per key in a directory of its own.

Keys live outside the database on purpose: database backups then never hold them, and
destroying a key (crypto-shredding) leaves every copy of what it encrypted unreadable.
Operators must not back this directory up with the database (docs/operations.md)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

KEY_BYTES = 32
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class FileKeyStore:
    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._cache: dict[tuple[str, str], bytes] = {}

    def _path(self, namespace: str, key_id: str) -> Path:
        if not _ID.match(namespace) or not _ID.match(key_id) or key_id.startswith("."):
            raise ValueError(f"bad key id {namespace}/{key_id}")
        return self._dir / namespace / f"{key_id}.key"

    def get(self, namespace: str, key_id: str) -> bytes | None:
        cached = self._cache.get((namespace, key_id))
        if cached is not None:
            return cached
        try:
            key = self._path(namespace, key_id).read_bytes()
        except FileNotFoundError:
            return None
        if len(key) != KEY_BYTES:
            return None  # a half-destroyed or foreign file is no key
        self._cache[(namespace, key_id)] = key
        return key

    def create(self, namespace: str, key_id: str) -> bytes:
        existing = self.get(namespace, key_id)
        if existing is not None:
            return existing
        path = self._path(namespace, key_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(KEY_BYTES)
        tmp = path.with_suffix(f".tmp{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # all or nothing: a crash never leaves half a key
        self._cache[(namespace, key_id)] = key
        return key

    def destroy(self, namespace: str, key_id: str) -> bool:
        self._cache.pop((namespace, key_id), None)
        path = self._path(namespace, key_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        # Overwrite before unlinking: on a plain file system the old blocks would
        # otherwise hold the key until reused. (Copy-on-write and journalling file
        # systems may still keep it; docs/safety.md says so.)
        with contextlib.suppress(OSError), open(path, "r+b") as f:
            f.write(secrets.token_bytes(size))
            f.flush()
            os.fsync(f.fileno())
        path.unlink(missing_ok=True)
        return True

    def ids(self, namespace: str) -> list[str]:
        folder = self._dir / namespace
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.key"))
