"""Score a registered model on the corpus splits (test_unseen first: in-crisis figures flatter).

python pipelines/evaluate.py [--model models:/diplostance@champion] [--split test_unseen --split test_seen]
"""

from __future__ import annotations

import json

import typer

from diplostance.cli.common import console, fail
from diplostance.corpus import CorpusError, load_examples
from diplostance.crises import RegistryError, load_registry
from diplostance.evaluation import predict_examples, report_text, score
from diplostance.paths import LABELED_DIR, REGISTRY_PATH
from diplostance.splits import SPLITS, split_examples
from diplostance.tracking import DEFAULT_MODEL_URI, ModelNotFound, load_pyfunc


def main(
    model: str = typer.Option(DEFAULT_MODEL_URI, "--model", help="MLflow model URI."),
    split: list[str] = typer.Option(["test_unseen", "test_seen"], "--split", help=f"Splits to score: {', '.join(SPLITS)}."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    unknown = set(split) - set(SPLITS)
    if unknown:
        fail(f"unknown split(s) {', '.join(sorted(unknown))} (use {', '.join(SPLITS)})")
    try:
        registry = load_registry(REGISTRY_PATH)
        parts = split_examples(load_examples([LABELED_DIR], registry=registry), registry)
        pyfunc = load_pyfunc(model)
    except (CorpusError, RegistryError, ModelNotFound) as exc:
        fail(str(exc))
    results = {name: score(predict_examples(pyfunc.predict, parts[name], registry)) for name in split}
    if as_json:
        print(json.dumps({"model": model, **results}, indent=2))
        return
    console.print(f"[bold]{model}[/]")
    for name, m in results.items():
        console.print(report_text(name, m), end="")


if __name__ == "__main__":
    typer.run(main)
