"""Writing a prediction run: a journal that survives a crash, then atomic final files.

Rows of finished articles are appended to a journal folder inside the output folder
(``.journal/``) and the article ids recorded only after their rows are flushed, so a
crash or Ctrl-C loses at most the articles in flight and ``--resume`` skips the rest.
Final tables are written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from diplostance.plots import png

FORMATS = ("jsonl", "csv", "parquet")
JOURNAL = ".journal"
CHUNK_ROWS = 20_000


def _append_jsonl(path: Path, records: list[dict]) -> None:
    if not records:
        return
    with path.open("a", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, default=_json_default) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _read_jsonl(path: Path) -> Iterator[dict]:
    """Records of a journal file; a torn last line (crash mid-write) is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def write_summary(summary: pd.DataFrame, out_dir: Path) -> dict[str, str]:
    """summary.csv (entities by stance across articles) and its chart stances.png."""
    out_dir = Path(out_dir)
    path = out_dir / "summary.csv"
    tmp = path.with_name(".summary.csv.tmp")
    summary.to_csv(tmp, index=False)
    tmp.replace(path)
    chart = str(stance_chart(summary, out_dir / "stances.png")) if len(summary) else ""
    return {"summary": str(path), "chart": chart}


def write_run_file(
    out_dir: Path,
    *,
    started_at,
    model_uri: str,
    model_version: str,
    counts: dict,
    timings: dict,
    inputs: list[str],
    outputs: dict,
    **details,
) -> Path:
    """run.json of a prediction run: when, which model, counts, timings, input digests,
    output files; engine-specific ``details`` go in between."""
    from datetime import datetime, timezone

    from diplostance.articles import digest_inputs

    run = {
        "started": started_at.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"uri": model_uri, "version": model_version},
        **details,
        "counts": dict(counts),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "mentions_per_second": round(counts.get("mentions", 0) / max(timings.get("total_seconds", 0), 1e-9), 1),
        "inputs": digest_inputs(inputs),
        "outputs": outputs,
    }
    path = Path(out_dir) / "run.json"
    atomic_write_text(path, json.dumps(run, indent=2))
    return path


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class RunJournal:
    def __init__(self, out_dir: Path, *, resume: bool):
        self.out_dir = Path(out_dir)
        self.dir = self.out_dir / JOURNAL
        if self.dir.exists() and not resume:
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = {r["id"] for r in _read_jsonl(self.dir / "done.jsonl")}
        # errors are found again on every run (they cost nothing to redo)
        (self.dir / "errors.jsonl").unlink(missing_ok=True)

    def add(self, mentions: pd.DataFrame, articles: list[dict], done: list[dict]) -> None:
        """Record finished articles: rows first, then their ids."""
        _append_jsonl(self.dir / "mentions.jsonl", mentions.to_dict("records"))
        _append_jsonl(self.dir / "articles.jsonl", articles)
        _append_jsonl(self.dir / "done.jsonl", done)
        self.done.update(d["id"] for d in done)

    def add_errors(self, errors: list[dict]) -> None:
        _append_jsonl(self.dir / "errors.jsonl", errors)

    def records(self, name: str) -> Iterator[dict]:
        """Journal rows of articles recorded as done (rows of an interrupted chunk are dropped)."""
        for r in _read_jsonl(self.dir / f"{name}.jsonl"):
            if name == "errors" or r.get("article_id") in self.done:
                yield r

    def finalize(self, fmt: str, columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
        """Write mentions.<fmt>, articles.<fmt> and errors.jsonl atomically; return their paths."""
        written = {}
        for name, cols in columns.items():
            path = self.out_dir / f"{name}.{fmt}"
            write_table(self.records(name), path, fmt, cols)
            written[name] = str(path)
        errors = self.out_dir / "errors.jsonl"
        tmp = errors.with_name(".errors.jsonl.tmp")
        tmp.unlink(missing_ok=True)
        tmp.touch()
        _append_jsonl(tmp, list(self.records("errors")))
        os.replace(tmp, errors)
        written["errors"] = str(errors)
        return written


def _chunks(records: Iterator[dict], size: int = CHUNK_ROWS) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_table(records: Iterator[dict], path: Path, fmt: str, columns: tuple[str, ...]) -> None:
    """Stream records to path in the format, through a temporary file renamed at the end."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    if fmt == "jsonl":
        tmp.touch()
        for chunk in _chunks(records):
            _append_jsonl(tmp, [{c: r.get(c) for c in columns} for r in chunk])
    elif fmt == "csv":
        header = True
        for chunk in _chunks(records):
            frame = pd.DataFrame(chunk, columns=list(columns))
            frame.to_csv(tmp, mode="a", header=header, index=False)
            header = False
        if header:
            pd.DataFrame(columns=list(columns)).to_csv(tmp, index=False)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        schema = None
        for chunk in _chunks(records):
            table = pa.Table.from_pandas(pd.DataFrame(chunk, columns=list(columns)), preserve_index=False)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(tmp, schema)
            writer.write_table(table.cast(schema))
        if writer is None:
            pq.write_table(pa.Table.from_pandas(pd.DataFrame(columns=list(columns)), preserve_index=False), tmp)
        else:
            writer.close()
    else:
        raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
    os.replace(tmp, path)


def read_table(path: Path) -> pd.DataFrame:
    """Read back a table written by write_table."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False) if path.stat().st_size else pd.DataFrame()
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False)
    return pd.read_parquet(path)


def stance_chart(summary: pd.DataFrame, path: Path, top: int = 20) -> Path:
    """A horizontal stacked bar chart: for the most-covered entities, articles per stance."""
    data = summary.head(top).iloc[::-1]
    colors = {
        "supports-incumbent": "#c0392b",
        "recognizes-challenger": "#2874a6",
        "calls-for-dialogue": "#229954",
        "none": "#b3b6b7",
    }
    with png(path, (8, 0.35 * max(len(data), 4) + 1.2)) as ax:
        left = [0] * len(data)
        for label, color in colors.items():
            values = data[label].tolist() if label in data else [0] * len(data)
            ax.barh(data["name"], values, left=left, color=color, label=label)
            left = [a + b for a, b in zip(left, values, strict=False)]
        ax.set_xlabel("articles")
        ax.set_title("Stance by entity across articles")
        ax.legend(loc="lower right", fontsize=8)
    return path
