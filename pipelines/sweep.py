"""Run a sweep: every variant of configs/sweep/<name>.yaml as a child of one MLflow run.

python pipelines/sweep.py [--sweep default|path.yaml] [--experiment NAME] [key=value ...]
"""

from __future__ import annotations

import logging
import math

import typer
from rich.table import Table

from diplostance.cli.common import console, fail
from diplostance.config import ConfigError
from diplostance.corpus import CorpusError
from diplostance.crises import RegistryError
from diplostance.experiments import ExperimentError, load_sweep, run_sweep


def _f(v: float) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def main(
    overrides: list[str] = typer.Argument(None, help="Dotted overrides applied to every variant, e.g. data.paths=[data/labeled]"),
    sweep: str = typer.Option("default", "--sweep", "-s", help="A name in configs/sweep/ or a path to a sweep YAML"),
    experiment: str = typer.Option(None, "--experiment", help="MLflow experiment [default: the sweep file's]"),
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        result = run_sweep(load_sweep(sweep), overrides or [], experiment=experiment)
    except (ExperimentError, ConfigError, CorpusError, RegistryError) as exc:
        fail(str(exc))
    table = Table(title=f"sweep {result['sweep']}: parent run {result['parent_run_id']} ({result['seconds']:.0f} s)")
    metric = result["selection_metric"]
    held = result["table"]["heldout_macro_f1"].notna().any()
    splits = ["val", "heldout" if held else "test_seen", "test_unseen"]
    console.print(f"macro-F1 per split; * = best by {metric} (the selection metric)")
    for col in ("variant", *splits, "train s", "status"):
        table.add_column(col, justify="left" if col in ("variant", "status") else "right")
    for r in result["table"].to_dict("records"):
        table.add_row(
            ("* " if r["best"] else "  ") + r["variant"],
            *(_f(r[f"{s}_macro_f1"]) for s in splits),
            f"{r['train_seconds']:.1f}" if not math.isnan(r["train_seconds"]) else "",
            r["status"],
        )
    console.print(table)
    best = result["best"]
    console.print(
        f"best by {metric}: [bold]{best['variant']}[/] ({metric} {best[metric]:.3f}, "
        f"test_unseen {best['test_unseen_macro_f1']:.3f}), run {best['run_id']}. "
        "Children are not registered: train the winner with make train to put it through the champion gate."
    )


if __name__ == "__main__":
    typer.run(main)
