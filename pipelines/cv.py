"""Leave-one-crisis-out cross-validation of one model configuration.

python pipelines/cv.py [--model tfidf] [--exp NAME] [--crises a,b,c] [key=value ...]
"""

from __future__ import annotations

import logging

import typer
from rich.table import Table

from diplostance.cli.common import console, fail
from diplostance.config import ConfigError
from diplostance.corpus import CorpusError
from diplostance.crises import RegistryError
from diplostance.experiments import ExperimentError, plan_cv, run_cv


def main(
    overrides: list[str] = typer.Argument(None, help="Dotted overrides, e.g. model.C=2"),
    model: str = typer.Option(None, "--model", "-m", help="Model family (configs/model/*.yaml) [default: from config]"),
    exp: str = typer.Option(None, "--exp", "-e", help="Experiment file in configs/experiment/"),
    crises: str = typer.Option(None, "--crises", help="Comma-separated crises to hold out [default: every non-reserved one]"),
    experiment: str = typer.Option(None, "--experiment", help="MLflow experiment [default: diplostance-cv]"),
    log_models: bool = typer.Option(False, "--log-models", help="Also log each fold's model (slower, more disk)"),
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        plan = plan_cv(model, exp, overrides or [], [c.strip() for c in crises.split(",") if c.strip()] if crises else None)
        result = run_cv(plan, experiment=experiment, log_models=log_models)
    except (ExperimentError, ConfigError, CorpusError, RegistryError) as exc:
        fail(str(exc))
    table = Table(
        title=f"leave-one-crisis-out, {result['family']}: parent run {result['parent_run_id']} ({result['seconds']:.0f} s)"
    )
    console.print("macro-F1 of the held-out crisis and of the reserved crises (test_unseen), per fold")
    for col in ("held-out crisis", "heldout", "mentions", "test_unseen", "status"):
        table.add_column(col, justify="left" if col in ("held-out crisis", "status") else "right")
    for r in result["table"].to_dict("records"):
        table.add_row(
            r["crisis"], f"{r['heldout_macro_f1']:.3f}", str(r["heldout_n"]), f"{r['test_unseen_macro_f1']:.3f}", r["status"]
        )
    console.print(table)
    h, u = result["stats"]["heldout_macro_f1"], result["stats"].get("test_unseen_macro_f1", {})
    console.print(
        f"held-out macro-F1 [bold]{h['mean']:.3f} ± {h['std']:.3f}[/] (mean ± sample std over {len(result['table'])} crises, "
        f"min {h['min']:.3f}, max {h['max']:.3f})" + (f"; test_unseen {u['mean']:.3f} ± {u['std']:.3f}" if u else "")
    )


if __name__ == "__main__":
    typer.run(main)
