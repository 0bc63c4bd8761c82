"""Shared by the benchmark scripts: replace one '## ' section of docs/benchmarks.md."""

from __future__ import annotations

import re
from pathlib import Path

HEADER = (
    "# Benchmarks\n\nEvery figure here was written by the command shown with it (`make bench` runs them all) on\n"
    "the project's machine: 2 CPU cores (Xeon, 2.5 GHz), 24 GiB RAM, no GPU.\n"
)


def write_section(path: Path, heading: str, block: str) -> None:
    """Replace the section that starts with ``heading`` (or append it); keep the others."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if not block.startswith(heading):
        block = f"{heading}\n\n{block}"
    if pattern.search(text):
        text = pattern.sub(lambda _: block.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
