"""`diplostance mentions FILE|-`: list the country/organisation mentions of a text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from diplostance.cli.common import console, fail


def _read_source(source: str) -> str:
    """The text of FILE, or of stdin for '-'; user errors exit with code 2."""
    if source == "-":
        data = sys.stdin.buffer.read()
        where = "standard input"
    else:
        path = Path(source)
        if not path.exists():
            fail(f"no such file: {source}")
        if path.is_dir():
            fail(f"{source} is a directory, not a text file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            fail(f"cannot read {source}: {exc.strerror or exc}")
        where = source
    if b"\x00" in data:
        fail(f"{where} looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"{where} is not valid UTF-8 text (byte {exc.start})")


def mentions(
    source: str = typer.Argument(..., help="FILE or - for stdin"),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object per mention instead of a table."),
) -> None:
    """Find country and organisation mentions in a text."""
    text = _read_source(source)
    from diplostance.mentions import entity_name, find_mentions

    found = find_mentions(text)
    if json_out:
        out = sys.stdout
        for m in found:
            out.write(json.dumps({"start": m.start, "end": m.end, "text": m.text, "entity": m.entity,
                                  "name": entity_name(m.entity), "kind": m.kind}, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(found)} mention(s)")
    for col, justify in (("start", "right"), ("end", "right"), ("text", "left"), ("entity", "left"),
                         ("name", "left"), ("kind", "left")):
        table.add_column(col, justify=justify)
    for m in found:
        table.add_row(str(m.start), str(m.end), m.text, m.entity, entity_name(m.entity), m.kind)
    console.print(table)
