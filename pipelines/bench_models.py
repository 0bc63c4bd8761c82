"""Stance-model quality: each registered family on test_unseen (first) and test_seen.

    python pipelines/bench_models.py [--models rules,tfidf,minilm,blend] [--write docs/benchmarks.md]

Scores the models registered under each family alias (train them first with
`make train MODEL=<family>`) on the corpus splits and writes the "## Stance models"
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

from benchdoc import write_section  # pipelines/ is on sys.path when this script runs
from diplostance.corpus import load_examples
from diplostance.crises import load_registry
from diplostance.evaluation import predict_examples, score
from diplostance.paths import LABELED_DIR
from diplostance.splits import split_examples
from diplostance.tracking import REGISTERED_MODEL, ModelNotFound, load_pyfunc, setup

SECTION = "## Stance models"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="rules,tfidf,minilm,blend")
    ap.add_argument("--write", type=Path)
    args = ap.parse_args(argv)
    setup()
    registry = load_registry()
    parts = split_examples(load_examples([LABELED_DIR], registry=registry), registry)
    rows, missing = [], []
    for family in args.models.split(","):
        try:
            model = load_pyfunc(f"models:/{REGISTERED_MODEL}@{family}")
        except ModelNotFound:
            missing.append(family)
            continue
        version = MlflowClient().get_model_version_by_alias(REGISTERED_MODEL, family)
        run = MlflowClient().get_run(version.run_id)
        metrics = {name: score(predict_examples(model.predict, parts[name], registry)) for name in ("test_unseen", "test_seen")}
        rows.append((family, version.version, run.data.params.get("run_name", run.info.run_name), metrics))
        print(family, {k: round(v["macro_f1"], 3) for k, v in metrics.items()}, file=sys.stderr)
    n_unseen = sum(len(e.mentions) for e in parts["test_unseen"])
    n_seen = sum(len(e.mentions) for e in parts["test_seen"])
    lines = [
        SECTION,
        "",
        "Command: `python pipelines/bench_models.py --write docs/benchmarks.md`, after "
        + ", ".join(f"`make train MODEL={family}`" for family, *_ in rows)
        + " (default configs). `test_unseen` is the five reserved",
        f"crises ({n_unseen} mentions), never seen in training or validation; `test_seen` holds out sentences of the",
        f"training crises ({n_seen} mentions). Macro-F1 over the 4 labels; stance = macro-F1 over the 3 stances.",
        "",
        "| model | version | test_unseen macro-F1 | test_unseen stance | test_seen macro-F1 | test_seen stance |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for family, version, _, m in rows:
        cells = [m[split][key] for split in ("test_unseen", "test_seen") for key in ("macro_f1", "stance_macro_f1")]
        lines.append(f"| {family} | {version} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    if rows:
        lines += [
            "",
            "Per-label F1 on test_unseen:",
            "",
            "| model | supports-incumbent | recognizes-challenger | calls-for-dialogue | none |",
            "|---|---:|---:|---:|---:|",
        ]
        for family, _, _, m in rows:
            f1 = m["test_unseen"]["f1"]
            lines.append(f"| {family} | " + " | ".join(f"{v:.3f}" for v in f1.values()) + " |")
        lines += [
            "",
            "Per reserved crisis (test_unseen macro-F1):",
            "",
            "| model | " + " | ".join(rows[0][3]["test_unseen"]["per_crisis_macro_f1"]) + " |",
            "|---|" + "---:|" * len(rows[0][3]["test_unseen"]["per_crisis_macro_f1"]),
        ]
        for family, _, _, m in rows:
            lines.append(
                f"| {family} | " + " | ".join(f"{v:.3f}" for v in m["test_unseen"]["per_crisis_macro_f1"].values()) + " |"
            )
    if missing:
        lines += ["", f"Not measured (no model registered under that alias): {', '.join(missing)}."]
    block = "\n".join(lines) + "\n"
    print(block)
    if args.write:
        write_section(args.write, SECTION, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
