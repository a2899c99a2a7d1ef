"""Room fan-out benchmark: Tryst against a minimal reference relay, in one run.

What is measured
    N clients (default 1000) are connected to one room; S senders (default 4) send M
    messages (default 4000) of ~100 characters. Every client, senders included, must
    receive every message exactly once, so a run makes N*M deliveries. For each server:
    - deliveries per second: deliveries of the messages after the warm-up ones, divided
      by the time from the first such send to the last such delivery;
    - p50/p99 send-to-receive latency over those deliveries: receive time minus the
      CLOCK_MONOTONIC send time written into the message text;
    - the server's peak RSS (VmHWM of its process tree), counted from just before the
      clients connect, so Tryst's account set-up (argon2 hashing) is not charged to the
      fan-out; the set-up peak is reported apart;
    - lost and duplicated deliveries, error frames and closed connections, exactly.

How
    The server runs pinned to one core (``taskset -c 0``); the load generator, a small C
    epoll client compiled here at run time (bench/fanout_client.c), runs on the other core
    with this script. Both servers get the same workload with the same parameters:
    - Tryst (``tryst serve``, full path: HTTP accounts/personas/room, then WebSocket
      hello, join and say, persisted and fanned out by the server);
    - the reference relay (bench/reference_relay.py), a bare ``websockets`` server that
      relays each frame to all clients with ``websockets.broadcast``.
    Pacing is closed loop by default: each sender keeps at most W messages that have not
    reached every client yet, which measures sustained throughput without a standing
    queue. Two loads are measured by default (--windows 1,4):
    - W=1, "one line at a time": 4 messages in flight in all. This mostly measures
      latency: a server can put at most 4 messages into one write to a client.
    - W=4, "busy room": 16 messages in flight, about what 4 people typing quickly make.
      Per-client write coalescing pays off here; the target is judged on this load.
    --rate R offers R messages/s in total instead (open loop, one run).

Output
    Exactly one JSON line on stdout at the end: for each load ("runs"), each server's
    figures, the Tryst/reference ratios and whether the target (>= 2x the reference's
    deliveries/s with p99 < 50 ms) was met; "target_met" is that verdict for the busy
    room load. Progress and diagnostics go to stderr.

Run
    .venv/bin/python bench/fanout.py            # default run, 1000 clients, two loads (~4 min)
    .venv/bin/python bench/fanout.py --quick    # 50 clients, 1000 messages
    .venv/bin/python bench/fanout.py --servers reference
This is a benchmark, not a test: pytest never runs it. It talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
CLIENT_SOURCE = BENCH_DIR / "fanout_client.c"
RELAY_SCRIPT = BENCH_DIR / "reference_relay.py"
HOST = "127.0.0.1"
HEALTH_PATH = "/api/v1/health"
PASSWORD = "bench-password-0123"

TARGET_THROUGHPUT_RATIO = 2.0
TARGET_P99_MS = 50.0
# Above this share of its core the load generator, not the server, may set the pace.
CLIENT_SATURATED = 0.9


class BenchError(Exception):
    """A server could not be started, set up or measured; the message says why."""


@dataclass
class Workload:
    """The parameters both servers are measured with."""

    clients: int
    senders: int
    messages: int
    message_bytes: int
    window: int
    rate: float | None
    warmup: int
    settle_ms: float
    idle_timeout_s: float
    timeout_s: float
    send_limit_s: float


@dataclass
class Cores:
    server: int
    client: int


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path


def log(message: str) -> None:
    print(f"[fanout] {message}", file=sys.stderr, flush=True)


def raise_nofile_limit(needed: int) -> None:
    """Raise the soft open-files limit to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < needed:
        raise BenchError(f"open-files limit {soft} is below the {needed} this run needs")


def free_port() -> int:
    """An ephemeral port that was free a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def compile_client(workdir: Path) -> Path:
    """Build the C load generator; -O2 because it must out-run a server on the other core."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise BenchError("gcc is needed to build the load generator")
    binary = workdir / "fanout_client"
    cmd = [gcc, "-O2", "-Wall", "-o", str(binary), str(CLIENT_SOURCE)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"compiling the load generator failed:\n{result.stderr}")
    return binary


def proc_tree(pid: int) -> list[int]:
    """The process and its descendants: the server may fork workers."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def status_kib(pid: int, key: str) -> int:
    """A "VmXxx:  1234 kB" field of /proc/PID/status summed over the process tree."""
    total = 0
    for p in proc_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
    return total


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so set-up peaks are not counted."""
    ok = True
    for p in proc_tree(pid):
        try:
            Path(f"/proc/{p}/clear_refs").write_text("5")
        except OSError:
            ok = False
    return ok


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in proc_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def wait_healthy(server: ServerProcess, timeout_s: float = 60.0) -> None:
    url = f"http://{HOST}:{server.port}{HEALTH_PATH}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(f"server exited with {server.proc.returncode}:\n{tail(server)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer 200 within {timeout_s:.0f} s:\n{tail(server)}")


def tail(server: ServerProcess, lines: int = 30) -> str:
    try:
        return "\n".join(server.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@contextlib.contextmanager
def running(cmd: list[str], cores: Cores, log_path: Path,
            env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """Start a server pinned to the server core on a free port; stop it on the way out."""
    port = free_port()
    full = ["taskset", "-c", str(cores.server), *cmd, "--host", HOST, "--port", str(port)]
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT, env=env)
        server = ServerProcess(proc=proc, port=port, log_path=log_path)
        try:
            wait_healthy(server)
            yield server
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # uvicorn and the relay both shut down cleanly on it
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def run_client(binary: Path, server: ServerProcess, work: Workload, cores: Cores,
               mode: str, extra_args: list[str]) -> dict[str, Any]:
    """Run the load generator; snapshot the server's CPU time around the measured phase."""
    cmd = ["taskset", "-c", str(cores.client), str(binary), "--host", HOST,
           "--port", str(server.port), "--mode", mode, "--clients", str(work.clients),
           "--senders", str(work.senders), "--messages", str(work.messages),
           "--message-bytes", str(work.message_bytes), "--window", str(work.window),
           "--warmup", str(work.warmup), "--settle-ms", str(work.settle_ms),
           "--idle-timeout-s", str(work.idle_timeout_s), "--timeout-s", str(work.timeout_s),
           "--send-limit-s", str(work.send_limit_s),
           *extra_args]
    if work.rate:
        cmd += ["--rate", str(work.rate)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    cpu_start: float | None = None
    # The client's stderr is its progress log: relay it, and use its "measuring" line
    # to read the server's CPU time at the start of the measured phase.
    for line in proc.stderr:
        sys.stderr.write("  " + line)
        if "measuring" in line:
            cpu_start = cpu_seconds(server.proc.pid)
    out = proc.stdout.read()
    proc.wait()
    cpu_end = cpu_seconds(server.proc.pid)
    if proc.returncode != 0 or not out.strip():
        raise BenchError(f"load generator failed (exit {proc.returncode}); server log:\n"
                         f"{tail(server)}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if cpu_start is not None and result.get("measure_wall_s"):
        result["server_cpu_util"] = round((cpu_end - cpu_start) / result["measure_wall_s"], 3)
    return result


def summarize(name: str, client: dict[str, Any], hwm_kib: int, **extra: Any) -> dict[str, Any]:
    """The per-server block of the JSON line, headline figures first."""
    block: dict[str, Any] = {
        "deliveries_per_s": client["deliveries_per_s"],
        "p50_ms": client["p50_ms"],
        "p99_ms": client["p99_ms"],
        "peak_rss_mb": round(hwm_kib / 1024, 1),
        "complete": client["deliveries"] == client["expected_deliveries"]
        and not client["duplicates"],
        **{k: v for k, v in client.items() if k not in ("deliveries_per_s", "p50_ms", "p99_ms")},
        **extra,
    }
    log(f"{name}: {block['deliveries_per_s']:.0f} deliveries/s, p50 {block['p50_ms']:.2f} ms, "
        f"p99 {block['p99_ms']:.2f} ms, peak RSS {block['peak_rss_mb']} MB, "
        f"{block['deliveries']}/{block['expected_deliveries']} delivered, "
        f"{block['duplicates']} duplicates, {block['errors']} errors ({block['outcome']})")
    if not block["complete"]:
        log(f"{name}: WARNING: delivery count is not exactly clients x messages sent")
    if block["client_cpu_util"] > CLIENT_SATURATED:
        log(f"{name}: WARNING: the load generator was {block['client_cpu_util']:.0%} busy; "
            "it may have limited this server's figures")
    return block


def bench_reference(binary: Path, work: Workload, cores: Cores, workdir: Path,
                    use_uvloop: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(RELAY_SCRIPT)] + (["--uvloop"] if use_uvloop else [])
    log(f"reference relay: starting on core {cores.server}"
        f"{' (uvloop)' if use_uvloop else ''}")
    with running(cmd, cores, workdir / "reference.log") as server:
        reset_peak_rss(server.proc.pid)
        client = run_client(binary, server, work, cores, "relay", [])
        hwm = status_kib(server.proc.pid, "VmHWM")
    return summarize("reference", client, hwm, loop="uvloop" if use_uvloop else "asyncio")


def tryst_env(personas_per_account: int, overrides: list[str]) -> dict[str, str]:
    """Lift the abuse limits a single-address benchmark would trip; keep the outbox default."""
    env = dict(os.environ)
    env.update({
        "TRYST_LOG_LEVEL": "warning",
        "TRYST_MAX_PERSONAS": str(max(10, personas_per_account)),
        "TRYST_MAX_CONNECTIONS_PER_ACCOUNT": str(max(10, personas_per_account + 5)),
        "TRYST_MESSAGE_RATE": "1000000",
        "TRYST_MESSAGE_BURST": "1000000",
        "TRYST_ADDRESS_RATE": "1000000",
        "TRYST_ADDRESS_BURST": "1000000",
        "TRYST_AUTH_RATE_PER_MINUTE": "1000000",
        "TRYST_AUTH_BURST": "1000000",
    })
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("TRYST_"):
            raise BenchError(f"--tryst-env wants TRYST_NAME=VALUE, got {item!r}")
        env[key] = value
    return env


def expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise BenchError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def tryst_setup(port: int, clients: int, personas_per_account: int,
                credentials: Path) -> str:
    """Accounts, one persona per client and one public room; writes "token persona" lines."""
    lines: list[str] = []
    room = ""
    accounts = math.ceil(clients / personas_per_account)
    started = time.monotonic()
    with httpx.Client(base_url=f"http://{HOST}:{port}/api/v1", timeout=60) as http:
        for a in range(accounts):
            account = expect(http.post("/accounts", json={
                "username": f"bench{a:04d}", "password": PASSWORD, "confirm_adult": True,
            }), 201, "sign-up")
            headers = {"Authorization": f"Bearer {account['token']}"}
            for i in range(a * personas_per_account,
                           min(clients, (a + 1) * personas_per_account)):
                persona = expect(http.post("/personas", headers=headers,
                                           json={"name": f"Bench {i:04d}", "age": 30}),
                                 201, "persona")
                lines.append(f"{account['token']} {persona['id']}")
                if not room:
                    room = expect(http.post("/rooms", headers=headers, json={
                        "persona_id": persona["id"], "name": "Bench Room",
                        "visibility": "public", "rating": "general",
                    }), 201, "room")["id"]
    credentials.write_text("\n".join(lines) + "\n")
    log(f"tryst: {accounts} accounts, {clients} personas and a room in "
        f"{time.monotonic() - started:.1f} s")
    return room


def bench_tryst(binary: Path, work: Workload, cores: Cores, workdir: Path,
                tryst_bin: str, personas_per_account: int,
                env_overrides: list[str]) -> dict[str, Any]:
    data_dir = workdir / "tryst-data"
    data_dir.mkdir()
    env = tryst_env(personas_per_account, env_overrides)
    cmd = [tryst_bin, "serve", "--data-dir", str(data_dir)]
    log(f"tryst: starting on core {cores.server}")
    with running(cmd, cores, workdir / "tryst.log", env) as server:
        credentials = workdir / "credentials.txt"
        room = tryst_setup(server.port, work.clients, personas_per_account, credentials)
        setup_hwm = status_kib(server.proc.pid, "VmHWM")
        reset_peak_rss(server.proc.pid)
        client = run_client(binary, server, work, cores, "tryst",
                            ["--credentials", str(credentials), "--room", room])
        hwm = status_kib(server.proc.pid, "VmHWM")
        if server.proc.poll() is not None:
            raise BenchError(f"tryst exited during the run:\n{tail(server)}")
    return summarize("tryst", client, hwm, setup_peak_rss_mb=round(setup_hwm / 1024, 1))


def ratios(ours: dict[str, Any], ref: dict[str, Any]) -> dict[str, float | None]:
    def ratio(key: str) -> float | None:
        a, b = ours.get(key), ref.get(key)
        if not isinstance(a, int | float) or not isinstance(b, int | float) or b <= 0:
            return None
        return round(a / b, 3)

    return {k: ratio(k) for k in ("deliveries_per_s", "p50_ms", "p99_ms", "peak_rss_mb")}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Room fan-out benchmark: Tryst against a minimal websockets relay.")
    p.add_argument("--clients", type=int, default=1000, help="clients in the room")
    p.add_argument("--messages", type=int, default=4000, help="messages sent in all")
    p.add_argument("--senders", type=int, default=4, help="clients that send")
    p.add_argument("--message-bytes", type=int, default=100, help="characters per message")
    p.add_argument("--windows", default="1,4",
                   help="closed loop: comma-separated loads to measure, each the number of "
                        "messages per sender not yet delivered to every client")
    p.add_argument("--rate", type=float, default=None,
                   help="open loop instead: messages per second offered, all senders together")
    p.add_argument("--warmup", type=int, default=None,
                   help="first messages left out of the figures (default: 5%%, at most 200)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 50 clients, 1000 messages (explicit flags still win)")
    p.add_argument("--servers", choices=("both", "reference", "tryst"), default="both")
    p.add_argument("--personas-per-account", type=int, default=25,
                   help="Tryst personas per account (fewer accounts: less argon2 set-up)")
    p.add_argument("--tryst-bin", default=str(Path(sys.executable).with_name("tryst")))
    p.add_argument("--tryst-env", action="append", default=[], metavar="TRYST_NAME=VALUE",
                   help="extra server setting for Tryst (repeatable)")
    p.add_argument("--reference-uvloop", action="store_true",
                   help="run the reference relay on uvloop instead of asyncio")
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--settle-ms", type=float, default=500.0,
                   help="quiet time after set-up before sending (Tryst fans out joins)")
    p.add_argument("--idle-timeout", type=float, default=10.0,
                   help="give up when no delivery arrives for this many seconds")
    p.add_argument("--send-limit", type=float, default=60.0,
                   help="stop sending after this many seconds (fewer messages on a slow "
                        "server; the figures are rates)")
    p.add_argument("--timeout", type=float, default=150.0,
                   help="time limit for one server's connect + measure phase, seconds")
    args = p.parse_args(argv)
    if args.quick:
        defaults = {"clients": 1000, "messages": 4000}
        quick = {"clients": 50, "messages": 1000}
        for key, value in quick.items():
            if getattr(args, key) == defaults[key]:
                setattr(args, key, value)
    return args


BUSY_WINDOW = 4  # the load the target is judged on (see the module docstring)


def parse_windows(text: str) -> list[int]:
    try:
        windows = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BenchError(f"--windows wants numbers like 1,4; got {text!r}") from None
    if not windows or min(windows) < 1:
        raise BenchError("--windows needs at least one window of 1 or more")
    return windows


def measure(work: Workload, args: argparse.Namespace, binary: Path, cores: Cores,
            workdir: Path) -> tuple[dict[str, Any], bool]:
    """Run one load against the selected servers; returns its block and whether any
    server could not be measured."""
    block: dict[str, Any] = {"window": work.window, "rate": work.rate}
    failed = False
    for name in ("reference", "tryst"):
        if args.servers not in ("both", name):
            continue
        rundir = workdir / f"{name}-w{work.window}-r{work.rate}"
        rundir.mkdir()
        try:
            if name == "reference":
                block[name] = bench_reference(binary, work, cores, rundir,
                                              args.reference_uvloop)
            else:
                block[name] = bench_tryst(binary, work, cores, rundir, args.tryst_bin,
                                          args.personas_per_account, args.tryst_env)
        except (BenchError, httpx.HTTPError, OSError) as exc:
            log(f"{name}: FAILED: {exc}")
            block[name] = {"error": str(exc).splitlines()[0] if str(exc) else
                           type(exc).__name__}
            failed = True
    ours, ref = block.get("tryst"), block.get("reference")
    if ours and ref and "error" not in ours and "error" not in ref:
        block["ratio"] = ratios(ours, ref)
        block["target"] = {
            "throughput_ratio_min": TARGET_THROUGHPUT_RATIO,
            "p99_ms_max": TARGET_P99_MS,
            "met": bool(ours["complete"] and (block["ratio"]["deliveries_per_s"] or 0)
                        >= TARGET_THROUGHPUT_RATIO and ours["p99_ms"] < TARGET_P99_MS),
        }
    return block, failed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print one JSON line; exit 0 if every server was measured."""
    args = parse_args(argv)
    warmup = args.warmup if args.warmup is not None else min(200, args.messages // 20)
    cores = Cores(server=args.server_core, client=args.client_core)
    result: dict[str, Any] = {"bench": "fanout", "clients": args.clients,
                              "senders": args.senders, "messages": args.messages,
                              "message_bytes": args.message_bytes, "warmup": warmup,
                              "runs": []}
    failed = False
    started = time.monotonic()
    try:
        windows = [1] if args.rate is not None else parse_windows(args.windows)
        raise_nofile_limit(args.clients + 64)
        # This script only waits while measuring; keep it off the server's core.
        os.sched_setaffinity(0, {cores.client})
        with tempfile.TemporaryDirectory(prefix="tryst-fanout-") as tmp:
            workdir = Path(tmp)
            binary = compile_client(workdir)
            for window in windows:
                log(f"== load: {'rate ' + str(args.rate) if args.rate else f'window {window}'}")
                work = Workload(clients=args.clients, senders=args.senders,
                                messages=args.messages, message_bytes=args.message_bytes,
                                window=window, rate=args.rate, warmup=warmup,
                                settle_ms=args.settle_ms, idle_timeout_s=args.idle_timeout,
                                timeout_s=args.timeout, send_limit_s=args.send_limit)
                block, run_failed = measure(work, args, binary, cores, workdir)
                result["runs"].append(block)
                failed = failed or run_failed
    except BenchError as exc:
        log(f"FAILED: {exc}")
        result["error"] = str(exc)
        failed = True
    busy = [r for r in result["runs"] if r["window"] == BUSY_WINDOW and r["rate"] is None]
    if busy and "target" in busy[0]:
        result["target_met"] = busy[0]["target"]["met"]
    result["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
