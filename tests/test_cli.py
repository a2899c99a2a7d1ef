"""The `tryst` command as an operator runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client import PASSWORD, Ws, register
from tryst.config import Settings
from tryst.storage.migrate import head_revision

TRYST = [sys.executable, "-m", "tryst"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(self, cwd: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TRYST_LOG_LEVEL": "warning", "TRYST_AUTH_BURST": "100"}
        self.proc = subprocess.Popen([*TRYST, "serve", "--port", str(self.port), *args],
                                     cwd=cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(self.proc.stdout.read().decode())  # type: ignore[union-attr]
            try:
                if httpx.get(self.base + "/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.proc.kill()
        raise AssertionError("tryst serve did not start")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    started: list[ServerProcess] = []

    class Tracked(ServerProcess):
        def __init__(self, *args: str, cwd: Path = tmp_path) -> None:
            super().__init__(cwd, *args)
            started.append(self)

    yield Tracked
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


def test_serve_help_lists_every_setting_with_its_environment_variable() -> None:
    out = subprocess.run([*TRYST, "serve", "--help"], capture_output=True, text=True,
                         check=True, env={**os.environ, "COLUMNS": "200"}).stdout
    # Tuned by tests and benchmarks, not operators.
    internal = {"argon2_time_cost", "argon2_memory_kib", "safety_engine"}
    for field in dataclasses.fields(Settings):
        if field.name not in internal:
            assert f"TRYST_{field.name.upper()}" in out, field.name


def test_invalid_flag_values_are_refused_clearly() -> None:
    result = subprocess.run([*TRYST, "serve", "--port", "99999"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "--port" in result.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    result = subprocess.run([*TRYST, "migrate", "--data-dir", str(tmp_path / "data")],
                            capture_output=True, text=True, check=True)
    head = head_revision()
    assert head is not None and f"revision {head}" in result.stdout
    assert (tmp_path / "data" / "tryst.db").exists()
    again = subprocess.run([*TRYST, "migrate", "--data-dir", str(tmp_path / "data")],
                           capture_output=True, text=True, check=True)
    assert f"revision {head}" in again.stdout  # idempotent


def test_serve_defaults_to_sqlite_in_tryst_data(serve: type[ServerProcess],
                                                tmp_path: Path) -> None:
    server = serve()
    assert (tmp_path / "tryst-data" / "tryst.db").exists()
    assert httpx.get(server.base + "/").status_code == 200
    docs = httpx.get(server.base + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "cdn" not in docs.text.lower()  # the documentation page works offline
    assert httpx.get(server.base + "/openapi.json").json()["info"]["title"] == "Tryst"
    assert server.stop() == 0


def test_acknowledged_messages_survive_a_crash_and_sigterm_closes_cleanly(
        serve: type[ServerProcess], database_url: str) -> None:
    server = serve("--database-url", database_url)

    async def talk() -> tuple[str, str, str, list[int]]:
        api = await register(server.base, "durable")
        persona = await api.new_persona("Durable One")
        room = await api.new_room(persona["id"], "Durable Room")
        ws = await Ws.connect(server.base, api.token)
        await ws.hello(persona["id"])
        acked = [(await ws.ok("say", room=room["id"], text=f"kept {i}"))["seq"]
                 for i in range(20)]
        await ws.close()
        return api.token or "", persona["id"], room["id"], acked

    token, persona_id, room_id, acked = asyncio.run(talk())
    server.stop(signal.SIGKILL)  # no chance to flush anything
    server = serve("--database-url", database_url)

    async def check_and_wait_for_close() -> tuple[int, str]:
        async with httpx.AsyncClient(base_url=server.base) as http:
            login = await http.post("/api/v1/sessions",
                                    json={"username": "durable", "password": PASSWORD})
            assert login.status_code == 200
            page = await http.get(f"/api/v1/rooms/{room_id}/events",
                                  params={"persona_id": persona_id, "limit": 200},
                                  headers={"authorization": f"Bearer {token}"})
        says = [e for e in page.json()["events"] if e["kind"] == "say"]
        assert [e["seq"] for e in says] == acked
        assert [e["text"] for e in says] == [f"kept {i}" for i in range(20)]
        ws = await Ws.connect(server.base, token)
        await ws.hello(persona_id)
        server.proc.send_signal(signal.SIGTERM)
        return await ws.wait_closed(within=15)

    code, _ = asyncio.run(check_and_wait_for_close())
    assert code == 1012  # "service restart": clients know to reconnect
    assert server.proc.wait(timeout=30) == 0


def test_create_operator(serve: type[ServerProcess], tmp_path: Path) -> None:
    data = str(tmp_path / "ops")
    result = subprocess.run([*TRYST, "admin", "create-operator", "Boss", "--data-dir", data,
                             "--password", "operator password", "--confirm-adult"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "boss" in result.stdout
    dup = subprocess.run([*TRYST, "admin", "create-operator", "boss", "--data-dir", data,
                          "--password", "operator password", "--confirm-adult"],
                         capture_output=True, text=True)
    assert dup.returncode == 1 and "taken" in dup.stderr
    weak = subprocess.run([*TRYST, "admin", "create-operator", "other", "--data-dir", data,
                           "--password", "short", "--confirm-adult"],
                          capture_output=True, text=True)
    assert weak.returncode == 1 and "password" in weak.stderr
    server = serve("--data-dir", data)

    async def as_operator() -> None:
        user = await register(server.base, "someone")
        persona = await user.new_persona("Someone Else")
        async with httpx.AsyncClient(base_url=server.base) as http:
            login = await http.post("/api/v1/sessions", json={
                "username": "boss", "password": "operator password"})
            assert login.json()["account"]["role"] == "operator"
            owner = await http.get(f"/api/v1/admin/personas/{persona['id']}/account",
                                   headers={"authorization": f"Bearer {login.json()['token']}"})
        assert owner.status_code == 200 and owner.json()["account"]["username"] == "someone"

    asyncio.run(as_operator())


@pytest.mark.parametrize(("content", "message"), [
    ('{"mode": "sideways", "categories": []}', "'mode' must be"),
    ("not json", "cannot read tags file"),
    ('{"categories": [{"name": "C", "tags": [{"id": "Bad Id", "name": "x"}]}]}', "tag id"),
])
def test_bad_tags_file_stops_serve_with_a_clear_message(tmp_path: Path, content: str,
                                                        message: str) -> None:
    tags = tmp_path / "tags.json"
    tags.write_text(content)
    result = subprocess.run([*TRYST, "serve", "--tags-file", str(tags), "--port", "0",
                             "--data-dir", str(tmp_path / "d")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and message in result.stderr
