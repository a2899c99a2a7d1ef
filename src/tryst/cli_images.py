"""`tryst protect` (hash your own images locally; send only hashes) and `tryst banks`
(operators' hash banks: create, import and export lists, delete)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from tryst.domain.errors import TrystError


def _hashes(path: Path) -> dict[str, Any]:
    """What the server would compute for this file: PDQ of the upright pixels (all eight
    rotations and flips) and SHA-256 of the file's bytes."""
    from tryst.domain.media import ImageRefused
    from tryst.media import images, pdq

    data = path.read_bytes()
    try:
        cleaned = images.clean(data, None, images.Limits(max_bytes=1 << 31,
                                                          max_pixels=400_000_000))
    except ImageRefused as exc:
        raise click.ClickException(f"{path}: {exc.message}") from None
    hashes, quality = pdq.dihedral_hex(cleaned.pixels)
    return {"file": str(path), "pdq": hashes[0], "quality": quality,
            "sha256": cleaned.upload_sha256, "pdq_dihedral": hashes}


@click.command()
@click.argument("images", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", envvar="TRYST_SERVER", show_envvar=True,
              help="The Tryst server to protect the images on, e.g. https://tryst.example.")
@click.option("--token", envvar="TRYST_TOKEN", show_envvar=True,
              help="Your session token (from logging in with \"session\": \"token\").")
@click.option("--dry-run", is_flag=True,
              help="Only print each image's hashes (one JSON line per image); send nothing.")
def protect(images: tuple[Path, ...], server: str | None, token: str | None,
            dry_run: bool) -> None:
    """Protect your own intimate images from being shared on a Tryst server.

    Each IMAGE is hashed here, on your computer: its PDQ perceptual hash (which also
    catches resized, recompressed, greyscale, mirrored and rotated copies) and its
    SHA-256. Only those hashes are sent; the images never leave this machine. Uploads
    that match are then refused.
    """
    rows = [_hashes(path) for path in images]
    if dry_run:
        for row in rows:
            click.echo(json.dumps(row))
        return
    if not server or not token:
        raise click.UsageError("give --server and --token (or use --dry-run)")
    for row in rows:
        if row["quality"] < 50:
            click.echo(f"{row['file']}: too plain for a perceptual hash (quality "
                       f"{row['quality']}); only exact copies will be refused", err=True)
    body = {"images": [{"pdq": r["pdq"], "quality": r["quality"], "sha256": r["sha256"]}
                       for r in rows]}
    request = urllib.request.Request(
        server.rstrip("/") + "/api/v1/protect", data=json.dumps(body).encode(),
        method="POST", headers={"content-type": "application/json",
                                "authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            result = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["error"]["message"]
        raise click.ClickException(f"the server refused: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(f"cannot reach {server}: {exc}") from None
    click.echo(json.dumps(result))


def make_banks_group(db_options: Callable[[Any], Any],
                     settings_of: Callable[[dict[str, Any]], Any]) -> click.Group:
    """The `tryst banks` commands (built here so cli.py stays small)."""

    @click.group()
    def banks() -> None:
        """Operators' hash banks: images that must not be shared on this server.

        A running server picks up changes within 30 seconds."""

    def run(values: dict[str, Any], action: Callable[[Any], Any]) -> Any:
        from tryst.app import build
        from tryst.storage import migrate as migrations

        async def go() -> Any:
            tryst = build(settings_of(values))
            try:
                await migrations.upgrade(tryst.engine)
                return await action(tryst.banks)
            finally:
                await tryst.engine.dispose()

        try:
            return asyncio.run(go())
        except TrystError as exc:
            raise click.ClickException(exc.message) from None

    @banks.command("list")
    @db_options
    def list_banks(**values: Any) -> None:
        """Print each bank as a JSON line: name, entries, description."""
        async def action(service: Any) -> Any:
            return await service.banks()
        for bank, count in run(values, action):
            click.echo(json.dumps({"name": bank.name, "entries": count,
                                   "description": bank.description,
                                   "created_at": bank.created_at.isoformat()}))

    @banks.command("create")
    @click.argument("name")
    @click.option("--description", default="", help="What the bank holds and where from.")
    @db_options
    def create(name: str, description: str, **values: Any) -> None:
        """Create an empty bank NAME."""
        async def action(service: Any) -> Any:
            return await service.create(name, description)
        click.echo(f"bank {run(values, action).name!r} created")

    @banks.command("delete")
    @click.argument("name")
    @click.confirmation_option(prompt="Delete the bank and every hash in it?")
    @db_options
    def delete(name: str, **values: Any) -> None:
        """Delete bank NAME and its hashes (uploads matching only them pass again)."""
        async def action(service: Any) -> Any:
            return await service.delete(name)
        click.echo(f"bank {name!r} deleted with {run(values, action)} hashes")

    @banks.command("import")
    @click.argument("name")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--create", "create_bank", is_flag=True, help="Create the bank if missing.")
    @click.option("--signal", type=click.Choice(["pdq", "sha256"]), default="pdq",
                  show_default=True, help="What bare hashes in the file are.")
    @db_options
    def import_(name: str, file: Path, create_bank: bool, signal: str,
                **values: Any) -> None:
        """Import a hash list FILE into bank NAME.

        Reads ThreatExchange/HMA exports: `threatexchange dataset --csv` files (with a
        header), HMA data files (hash,id,timestamp,tags), pdq-photo-hasher output
        (hash,quality,filename), `pdq <hash>` lines and bare hashes. The whole file is
        checked first: a bad line stops the import before anything is added. PDQ hashes
        with a stated quality below 50 are skipped; duplicates are skipped."""
        from tryst.protocols.bankcsv import ListError, read_rows
        from tryst.services.hashbanks import Row

        def lines() -> Iterator[str]:
            with file.open(encoding="utf-8", errors="strict", newline="") as fh:
                yield from fh

        try:
            total = sum(1 for _ in read_rows(lines(), signal))
        except ListError as exc:
            raise click.ClickException(f"{file}: {exc}; nothing was imported") from None
        except UnicodeDecodeError:
            raise click.ClickException(f"{file} is not UTF-8 text; nothing was imported"
                                       ) from None

        async def action(service: Any) -> Any:
            from tryst.domain.hashbanks import Signal

            if create_bank and name not in {b.name for b, _ in await service.banks()}:
                await service.create(name)
            with click.progressbar(length=total, label=f"importing into {name}",
                                   file=sys.stderr, show_pos=True) as bar:
                rows = (Row(Signal(r.signal), r.value, r.quality, r.note)
                        for r in read_rows(lines(), signal))
                return await service.add(name, rows, progress=bar.update)

        result = run(values, action)
        click.echo(json.dumps(result.as_dict()))

    @banks.command("export")
    @click.argument("name")
    @click.option("--format", "fmt", type=click.Choice(["te-csv", "hashes"]),
                  default="te-csv", show_default=True,
                  help="te-csv: the `threatexchange dataset --csv` layout (quality in the "
                       "tags); hashes: one bare hash per line.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write here instead of standard output.")
    @db_options
    def export(name: str, fmt: str, output: Path | None, **values: Any) -> None:
        """Export bank NAME as a hash list another HMA or ThreatExchange tool can read."""
        from tryst.protocols.bankcsv import write_te_csv

        async def action(service: Any) -> Any:
            return [(e.signal.value, e.value, e.quality, e.note)
                    async for e in service.export(name)]

        rows = run(values, action)
        out = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            if fmt == "hashes":
                for _, value, _, _ in rows:
                    out.write(value + "\n")
            else:
                for line in write_te_csv(rows, collab=name):
                    out.write(line)
        finally:
            if output:
                out.close()
        if output:
            click.echo(f"{len(rows)} hashes written to {output}", err=True)

    return banks
