"""`diplostance evaluate`: score a model on any file in the labeled format."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from diplostance.cli.common import console, fail, warn
from diplostance.corpus import read_examples
from diplostance.crises import RegistryError, load_registry
from diplostance.evaluation import detect_and_score, predict_examples, score, write_predicted_rows
from diplostance.labels import LABELS
from diplostance.paths import REGISTRY_PATH
from diplostance.tracking import DEFAULT_MODEL_URI, ModelNotFound, load_pyfunc


def evaluate(
    data: list[Path] = typer.Option(..., "--data", "-d", help="Labeled JSONL file(s) or folder(s)."),
    model: str = typer.Option(DEFAULT_MODEL_URI, "--model", help="MLflow model URI."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    predictions_out: Path = typer.Option(
        None, "--predictions-out", help="Write the rows with predicted labels and scores (JSONL)."
    ),
    detect: bool = typer.Option(False, "--detect", help="Find mentions instead of using the given ones; also score detection."),
    registry: Path = typer.Option(REGISTRY_PATH, "--registry", help="Crisis registry (YAML)."),
) -> None:
    """Macro-F1 (4 labels and 3 stances), per-label F1, confusion matrix, per-crisis macro-F1."""
    try:
        reg = load_registry(registry)
    except RegistryError as exc:
        fail(str(exc))
    result = read_examples(data, registry=reg)
    for p in result.problems:
        if p.level == "warning":
            warn(str(p))
    if result.errors:
        for p in result.errors[:20]:
            console.print(str(p), highlight=False, soft_wrap=True)
        fail(f"{len(result.errors)} error(s) in the input; nothing was scored", 1)
    if not result.examples:
        fail("no examples in the input")
    try:
        pyfunc = load_pyfunc(model)
    except ModelNotFound as exc:
        fail(str(exc))
    predicted = predict_examples(pyfunc.predict, result.examples, reg)
    out = {"model": model, "sentences": len(result.examples), **score(predicted)}
    if detect:
        out["end_to_end"] = detect_and_score(pyfunc.predict, result.examples, reg)
    if predictions_out:
        write_predicted_rows(predictions_out, result.examples, predicted)
    if as_json:
        print(json.dumps(out, indent=2))
        return
    console.print(f"[bold]{model}[/] on {out['sentences']} sentences, {out['n']} mentions")
    console.print(
        f"macro-F1 [bold]{out['macro_f1']:.3f}[/]   stance macro-F1 {out['stance_macro_f1']:.3f}   accuracy {out['accuracy']:.3f}"
    )
    table = Table("gold \\ predicted", *LABELS, "F1", title="confusion matrix", title_justify="left")
    for label, row in zip(LABELS, out["confusion"], strict=False):
        table.add_row(label, *map(str, row), f"{out['f1'][label]:.3f}")
    console.print(table)
    if len(out["per_crisis_macro_f1"]) > 1:
        table = Table("crisis", "macro-F1", title="per crisis", title_justify="left")
        for crisis, v in out["per_crisis_macro_f1"].items():
            table.add_row(crisis, f"{v:.3f}")
        console.print(table)
    if detect:
        d, lab = out["end_to_end"]["detection"], out["end_to_end"]["labeled_mentions"]
        console.print(
            f"detection: precision {d['precision']:.3f}, recall {d['recall']:.3f} ({d['found']} found, {d['gold']} gold)"
        )
        console.print(f"labeled mentions: precision {lab['precision']:.3f}, recall {lab['recall']:.3f}, F1 {lab['f1']:.3f}")
    if predictions_out:
        console.print(f"predictions written to {predictions_out}")
