"""`tryst protect` and `tryst banks` as people run them: real processes, real files, a
real server for the hashes to reach."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.imagedata import drawing, encode, variants
from tests.test_cli import ServerProcess

TRYST = [sys.executable, "-m", "tryst"]
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def tryst(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRYST, *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, timeout=120)


def test_protect_dry_run_prints_hashes_and_sends_nothing(tmp_path: Path) -> None:
    first, second = tmp_path / "one.jpg", tmp_path / "two.png"
    first.write_bytes(encode(drawing(50)))
    second.write_bytes(encode(drawing(51), "PNG"))
    done = tryst("protect", "--dry-run", str(first), str(second), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(first), str(second)]
    for line in lines:
        assert HEX64.match(line["pdq"]) and HEX64.match(line["sha256"])
        assert len(line["pdq_dihedral"]) == 8 and line["pdq_dihedral"][0] == line["pdq"]
        assert all(HEX64.match(h) for h in line["pdq_dihedral"])
        assert 50 <= line["quality"] <= 100
    assert lines[0]["pdq"] != lines[1]["pdq"]


def test_protect_refuses_non_images_and_missing_server(tmp_path: Path) -> None:
    note = tmp_path / "note.jpg"
    note.write_text("not a picture")
    done = tryst("protect", "--dry-run", str(note), cwd=tmp_path)
    assert done.returncode == 1 and "not a JPEG, PNG, WebP or GIF" in done.stderr
    picture = tmp_path / "p.jpg"
    picture.write_bytes(encode(drawing(52)))
    done = tryst("protect", str(picture), cwd=tmp_path)
    assert done.returncode == 2 and "--server" in done.stderr


def test_protect_submits_hashes_and_the_server_refuses_copies(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(tmp_path, "--data-dir", str(data_dir), "--image-classifier", "off")
    try:
        original = drawing(53)
        picture = tmp_path / "mine.jpg"
        picture.write_bytes(encode(original))
        owner = httpx.post(server.base + "/api/v1/accounts", json={
            "username": "owner1", "password": "a long enough password",
            "confirm_adult": True}).json()["token"]
        done = tryst("protect", "--server", server.base, "--token", owner, str(picture),
                     cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"added": 2, "duplicates": 0, "low_quality": 0}
        bad = tryst("protect", "--server", server.base, "--token", "wrong", str(picture),
                    cwd=tmp_path)
        assert bad.returncode == 1 and "refused" in bad.stderr
        other = httpx.post(server.base + "/api/v1/accounts", json={
            "username": "other1", "password": "a long enough password",
            "confirm_adult": True}).json()["token"]
        headers = {"authorization": f"Bearer {other}"}
        persona = httpx.post(server.base + "/api/v1/personas", headers=headers,
                             json={"name": "Other One", "age": 30}).json()
        refused = httpx.post(server.base + "/api/v1/media", params={"persona_id": persona["id"]},
                             content=variants(original)["mirrored"],
                             headers={**headers, "content-type": "image/jpeg"}, timeout=60)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "image_blocked"
    finally:
        server.stop()


def test_banks_import_export_round_trip(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    hashes = [f"{i:064x}" for i in range(1, 6)]
    # The `threatexchange dataset --csv` layout, with a header in another column order.
    te = tmp_path / "te.csv"
    te.write_text("collab,signal_type,signal_str,category,tags\n" + "".join(
        f"Samples,pdq,{h},WORTH_INVESTIGATING,\n" for h in hashes[:3]))
    # pdq-photo-hasher output: hash,quality,filename (one too plain to keep).
    photo = tmp_path / "photo.csv"
    photo.write_text(f"{hashes[3]},90,a.jpg\n{hashes[4]},20,b.jpg\n{hashes[0]},95,c.jpg\n")
    done = tryst("banks", "import", "--create", "shared", str(te), *data, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"added": 3, "duplicates": 0, "low_quality": 0}
    assert "importing into shared" in done.stderr  # the progress bar
    done = tryst("banks", "import", "shared", str(photo), *data, cwd=tmp_path)
    assert json.loads(done.stdout) == {"added": 1, "duplicates": 1, "low_quality": 1}
    listed = [json.loads(line) for line in tryst("banks", "list", *data,
                                                 cwd=tmp_path).stdout.splitlines()]
    assert listed[0]["name"] == "shared" and listed[0]["entries"] == 4
    exported = tryst("banks", "export", "shared", *data, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    out_lines = exported.stdout.splitlines()
    assert out_lines[0] == "signal_type,signal_str,collab,category,tags"
    assert sorted(line.split(",")[1] for line in out_lines[1:]) == sorted(hashes[:4])
    assert any("quality:90" in line for line in out_lines)
    # What we export, we (and the ThreatExchange CLI) can read back.
    again = tmp_path / "again.csv"
    again.write_text(exported.stdout)
    tryst("banks", "create", "copy", *data, cwd=tmp_path)
    done = tryst("banks", "import", "copy", str(again), *data, cwd=tmp_path)
    assert json.loads(done.stdout)["added"] == 4
    plain = tryst("banks", "export", "copy", "--format", "hashes", *data, cwd=tmp_path)
    assert sorted(plain.stdout.split()) == sorted(hashes[:4])
    done = tryst("banks", "delete", "copy", "--yes", *data, cwd=tmp_path)
    assert done.returncode == 0 and "4 hashes" in done.stdout


def test_banks_import_refuses_a_bad_file_before_adding_anything(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    tryst("banks", "create", "strict", *data, cwd=tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{'a' * 64}\n{'b' * 64}\nnot a hash at all\n")
    done = tryst("banks", "import", "strict", str(bad), *data, cwd=tmp_path)
    assert done.returncode == 1
    assert "line 3" in done.stderr and "nothing was imported" in done.stderr
    listed = json.loads(tryst("banks", "list", *data, cwd=tmp_path).stdout)
    assert listed["entries"] == 0
    missing = tryst("banks", "import", "nope", str(bad), *data, cwd=tmp_path)
    assert missing.returncode == 1
    bad.write_text(f"{'a' * 64}\n")
    missing = tryst("banks", "import", "nope", str(bad), *data, cwd=tmp_path)
    assert missing.returncode == 1 and "no bank named nope" in missing.stderr
    bad_name = tryst("banks", "create", "Bad Name!", *data, cwd=tmp_path)
    assert bad_name.returncode == 1 and "bank names" in bad_name.stderr
