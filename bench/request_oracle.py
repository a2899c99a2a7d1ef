"""Block-oracle timing benchmark: does a message request to someone who blocked you take
the same time as one to someone who simply has not answered?

What is measured
    One sender sends first-contact message requests, alternating between two groups of
    recipients created the same way: personas whose account blocked the sender's account
    ("blocked") and personas whose account did not ("pending"). Each request goes to a
    fresh recipient, so every one takes the first-contact path. For each group: the
    send-to-ack time over the WebSocket (median, p10, p90, mean), and the same for a
    follow-up ``send`` into each conversation (which must fail with request_pending in
    both groups). The baseline is the "pending" group of the same run.

    The comparison: the difference of the medians relative to the pending median, and
    the probability that a random blocked sample is slower than a random pending one
    (the Mann-Whitney "common language" effect size; 0.5 means indistinguishable).
    "target_met" is true when, for both request and follow-up, the medians differ by less
    than 10% and the effect size lies within 0.4..0.6.

Run
    .venv/bin/python bench/request_oracle.py            # 300 requests per group
    .venv/bin/python bench/request_oracle.py --samples 50
Prints exactly one JSON line on stdout; progress goes to stderr. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long enough benchmark password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.AsyncClient(base_url=base + "/api/v1", timeout=30,
                                      headers={"authorization": f"Bearer {token}"})
        self.token = token

    async def persona(self, name: str) -> str:
        r = await self.http.post("/personas", json={"name": name, "age": 30})
        r.raise_for_status()
        return str(r.json()["id"])


async def register(base: str, username: str) -> Client:
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=30) as http:
        r = await http.post("/accounts", json={"username": username, "password": PASSWORD,
                                               "confirm_adult": True})
        r.raise_for_status()
        return Client(base, r.json()["token"])


async def timed(ws: Any, n: int, msg: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    msg = {**msg, "id": f"m{n}"}
    start = time.perf_counter()
    await ws.send(json.dumps(msg))
    while True:
        reply = json.loads(await ws.recv())
        if reply.get("id") == msg["id"]:
            return time.perf_counter() - start, reply


def summary(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=10)
    return {"median_ms": round(statistics.median(xs) * 1000, 3),
            "p10_ms": round(q[0] * 1000, 3), "p90_ms": round(q[-1] * 1000, 3),
            "mean_ms": round(statistics.fmean(xs) * 1000, 3), "n": len(xs)}


def effect_size(a: list[float], b: list[float]) -> float:
    """P(a random sample of a is larger than one of b), ties counting half."""
    wins = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    return wins / (len(a) * len(b))


def compare(blocked: list[float], pending: list[float]) -> dict[str, Any]:
    b, p = summary(blocked), summary(pending)
    diff = (b["median_ms"] - p["median_ms"]) / p["median_ms"]
    effect = effect_size(blocked, pending)
    return {"blocked": b, "pending": p, "median_diff": round(diff, 4),
            "effect_size": round(effect, 4),
            "indistinguishable": abs(diff) < 0.10 and 0.4 <= effect <= 0.6}


async def run(samples: int, base: str) -> dict[str, Any]:
    sender = await register(base, "oracle_sender")
    sender_persona = await sender.persona("Oracle Sender")
    per_account = 40
    groups: dict[str, list[str]] = {"blocked": [], "pending": []}
    for group in groups:
        for a in range((samples + per_account - 1) // per_account):
            account = await register(base, f"oracle_{group}_{a}")
            for i in range(min(per_account, samples - a * per_account)):
                groups[group].append(await account.persona(f"{group.title()} {a} {i}"))
            if group == "blocked":
                r = await account.http.post("/blocks", json={"persona_id": sender_persona})
                r.raise_for_status()
    print(f"set up {samples} recipients per group", file=sys.stderr)
    url = base.replace("http://", "ws://") + "/ws"
    times: dict[str, dict[str, list[float]]] = {
        g: {"request": [], "follow_up": []} for g in groups}
    async with websockets.connect(url, additional_headers={
            "authorization": f"Bearer {sender.token}"}) as ws:
        _, hello = await timed(ws, 0, {"type": "hello", "version": 1,
                                       "persona": sender_persona})
        assert hello["type"] == "ack", hello
        n = 1
        for i in range(samples):
            order = ("blocked", "pending") if i % 2 == 0 else ("pending", "blocked")
            for group in order:
                took, reply = await timed(ws, n, {"type": "request", "to": groups[group][i],
                                                  "text": "hello there"})
                n += 1
                assert reply["result"]["status"] == "pending", reply
                times[group]["request"].append(took)
                cid = reply["result"]["conversation"]["id"]
                took, reply = await timed(ws, n, {"type": "send", "conversation": cid,
                                                  "text": "still there?"})
                n += 1
                assert reply.get("code") == "request_pending", reply
                times[group]["follow_up"].append(took)
            if i % 50 == 0:
                print(f"{i}/{samples}", file=sys.stderr)
    request = compare(times["blocked"]["request"], times["pending"]["request"])
    follow = compare(times["blocked"]["follow_up"], times["pending"]["follow_up"])
    return {"benchmark": "request_oracle", "samples_per_group": samples,
            "request": request, "follow_up": follow,
            "target_met": request["indistinguishable"] and follow["indistinguishable"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "TRYST_DATA_DIR": data, "TRYST_PORT": str(port),
               "TRYST_MAX_PERSONAS": "1000", "TRYST_REQUEST_BURST": "100000",
               "TRYST_REQUEST_RATE_PER_HOUR": "1000000", "TRYST_MESSAGE_RATE": "100000",
               "TRYST_MESSAGE_BURST": "100000", "TRYST_ADDRESS_RATE": "100000",
               "TRYST_ADDRESS_BURST": "100000", "TRYST_AUTH_BURST": "100000",
               "TRYST_AUTH_RATE_PER_MINUTE": "100000", "TRYST_ARGON2_TIME_COST": "1",
               "TRYST_ARGON2_MEMORY_KIB": "8192", "TRYST_LOG_LEVEL": "warning"}
        proc = subprocess.Popen([sys.executable, "-m", "tryst", "serve"], env=env,
                                cwd=ROOT, stdin=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("tryst did not start")
                time.sleep(0.2)
            result = asyncio.run(run(args.samples, base))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
