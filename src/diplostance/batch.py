"""A batch prediction run: inputs in, mentions/articles tables, summary and run.json out."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path

import pandas as pd

from diplostance.articles import Article, InputError, count_units, read_articles
from diplostance.crises import Registry
from diplostance.inference import (
    ARTICLE_COLUMNS,
    MENTION_COLUMNS,
    Roles,
    RolesError,
    article_roles,
    article_stances,
    classify,
    mention_rows_of,
)
from diplostance.labels import LABELS
from diplostance.outputs import RunJournal, write_run_file, write_summary

log = logging.getLogger(__name__)


@dataclass
class PredictOptions:
    inputs: list[str]
    out_dir: Path
    model_uri: str
    fmt: str = "jsonl"
    roles: Roles | None = None
    registry: Registry | None = None
    resume: bool = False
    batch_articles: int = 64
    text_column: str = "text"
    progress: bool = True


@dataclass
class RunResult:
    counts: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    summary: pd.DataFrame | None = None
    run_file: Path | None = None

    @property
    def failed(self) -> int:
        return self.counts.get("articles_failed", 0)


def _batches(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _no_mention_row(article: Article, roles: Roles) -> dict:
    """Articles without any mention still appear in the articles table (entity empty)."""
    return {c: None for c in ARTICLE_COLUMNS} | {
        "article_id": article.id,
        "title": article.title,
        "crisis": roles.crisis,
        "entity": "",
        "entity_name": "",
        "stance": "none",
        "supporting_mentions": 0,
        "mentions": 0,
        "confidence": None,
        "evidence_sentence": "",
        **{f"n_{label.replace('-', '_')}": 0 for label in LABELS},
    }


def stance_summary(article_rows: Iterable[dict]) -> pd.DataFrame:
    """Entities by stance across all articles: how many articles put each entity on each side."""
    counts: dict[str, Counter] = defaultdict(Counter)
    names: dict[str, str] = {}
    for r in article_rows:
        if r.get("entity"):
            counts[r["entity"]][r["stance"]] += 1
            names[r["entity"]] = r.get("entity_name") or r["entity"]
    rows = [
        {"entity": e, "name": names[e], **{label: c[label] for label in LABELS}, "articles": sum(c.values())}
        for e, c in counts.items()
    ]
    frame = pd.DataFrame(rows, columns=["entity", "name", *LABELS, "articles"])
    return frame.sort_values(["articles", "entity"], ascending=[False, True], ignore_index=True)


def run_predictions(opts: PredictOptions, predict, model_version: str = "") -> RunResult:
    """Process every input article; write outputs; never stop on a bad article."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    started_at = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    out = Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    journal = RunJournal(out, resume=opts.resume)
    counts = Counter()
    timings = Counter()
    total = count_units(opts.inputs)
    columns = (
        TextColumn("[bold]predict"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("articles"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not opts.progress, transient=False) as progress:
        task = progress.add_task("predict", total=total)
        processed = 0
        for batch in _batches(read_articles(opts.inputs, text_column=opts.text_column), opts.batch_articles):
            errors = [item.as_dict() for item in batch if isinstance(item, InputError)]
            rows, done, empty = [], [], []
            t = time.perf_counter()
            for item in batch:
                if isinstance(item, InputError):
                    continue
                if item.id in journal.done:
                    counts["articles_resumed"] += 1
                    continue
                try:
                    roles = article_roles(item, opts.roles, opts.registry)
                except RolesError as exc:
                    errors.append({"id": item.id, "source": item.source, "reason": str(exc)})
                    continue
                article_rows, n_sentences = mention_rows_of(item, roles)
                counts["sentences"] += n_sentences
                rows += article_rows
                done.append(item)
                if not article_rows:
                    empty.append(_no_mention_row(item, roles))
            timings["detect_seconds"] += time.perf_counter() - t
            t = time.perf_counter()
            try:
                mentions = classify(rows, predict, opts.model_uri, model_version)
            except Exception as exc:  # the run goes on: these articles are reported, not lost
                log.exception("model failed on a batch")
                errors += [{"id": a.id, "source": a.source, "reason": f"model failed: {exc}"} for a in done]
                done, empty, mentions = [], [], classify([], predict, opts.model_uri, model_version)
            timings["classify_seconds"] += time.perf_counter() - t
            order = {a.id: i for i, a in enumerate(done)}
            stances = article_stances(mentions, {a.id: a.title for a in done}).to_dict("records") + empty
            stances.sort(key=lambda r: order[r["article_id"]])  # stable: entities keep their order
            journal.add(mentions, stances, [{"id": a.id} for a in done])
            journal.add_errors(errors)
            counts["articles_done"] += len(done)
            counts["articles_failed"] += len(errors)
            counts["mentions"] += len(mentions)
            progress.advance(task, len(batch))
            processed = counts["articles_done"] + counts["articles_failed"] + counts["articles_resumed"]
            progress.update(task, total=max(total, processed))
        progress.update(task, total=processed, completed=processed)
    t = time.perf_counter()
    outputs = journal.finalize(opts.fmt, {"mentions": MENTION_COLUMNS, "articles": ARTICLE_COLUMNS})
    summary = stance_summary(journal.records("articles"))
    outputs.update(write_summary(summary, out))
    timings["write_seconds"] = time.perf_counter() - t
    timings["total_seconds"] = time.perf_counter() - t0
    counts["articles_in_output"] = len(journal.done)
    run_file = write_run_file(
        out,
        started_at=started_at,
        model_uri=opts.model_uri,
        model_version=model_version,
        counts=counts,
        timings=timings,
        inputs=opts.inputs,
        outputs=outputs,
        format=opts.fmt,
        resumed=opts.resume,
    )
    return RunResult(dict(counts), outputs, summary, run_file)
