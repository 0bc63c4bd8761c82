"""Screenshot the MLflow compare view of the latest sweep's best child against a second run.

python pipelines/screenshot_ui.py [--out docs/img/mlflow-compare.png] [--other tfidf]

Starts `mlflow ui` over the project store (or MLFLOW_TRACKING_URI) on a free port in its
own session, opens it in Debian's headless Chromium (Playwright, no browser download),
puts the params that differ and val/test_unseen macro-F1 on the parallel-coordinates plot,
saves the screenshot and stops the server's process group. Needs a sweep in the store
(make sweep) and /usr/bin/chromium (apt-get install -y chromium).
"""

from __future__ import annotations

import time
from pathlib import Path

import mlflow
import typer
from mlflow.tracking import MlflowClient

from diplostance import mlflow_ui
from diplostance.cli.common import console, fail
from diplostance.experiments import SWEEP_EXPERIMENT
from diplostance.paths import PROJECT_ROOT
from diplostance.tracking import tracking_uri

METRICS = ["val_macro_f1", "test_unseen_macro_f1"]
IGNORED_PARAMS = {"run_name", "experiment_name"}


def pick_runs(client: MlflowClient, experiment_id: str, other: str | None) -> tuple[str, list]:
    parents = client.search_runs(
        [experiment_id],
        "tags.run_kind = 'sweep' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not parents:
        fail("no finished sweep in this experiment: run make sweep first")
    parent = parents[0]
    children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'", max_results=500)
    by_name = {r.info.run_name: r for r in children}
    best = by_name.get(parent.data.tags.get("best_child", ""))
    if best is None:
        fail(f"sweep {parent.info.run_name} names no best child")
    ranked = sorted(children, key=lambda r: r.data.metrics.get("val_macro_f1", -1), reverse=True)
    second = by_name.get(other) if other else next((r for r in ranked if r.info.run_id != best.info.run_id), None)
    if second is None or second.info.run_id == best.info.run_id:
        fail(f"no second run {other!r} in sweep {parent.info.run_name} (children: {', '.join(sorted(by_name))})")
    return parent.info.run_name, [best, second]


def main(
    out: Path = typer.Option(PROJECT_ROOT / "docs" / "img" / "mlflow-compare.png", "--out", help="PNG to write"),
    experiment: str = typer.Option(SWEEP_EXPERIMENT, "--experiment", help="MLflow experiment holding the sweep"),
    other: str = typer.Option("tfidf", "--other", help="Variant to compare the best one with ('' = the runner-up)"),
    width: int = typer.Option(1440, help="Viewport width"),
    height: int = typer.Option(1150, help="Viewport height"),
) -> None:
    store = tracking_uri()
    mlflow.set_tracking_uri(store)
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        fail(f"no experiment {experiment!r} in {store}: run make sweep first")
    parent_name, runs = pick_runs(client, found.experiment_id, other or None)
    names = [r.info.run_name for r in runs]
    differing = sorted(
        k
        for k in set(runs[0].data.params) | set(runs[1].data.params)
        if k not in IGNORED_PARAMS and runs[0].data.params.get(k) != runs[1].data.params.get(k)
    )
    if mlflow_ui.chromium_path() is None:
        fail(f"{mlflow_ui.CHROMIUM} not found: apt-get install -y chromium")
    started = time.perf_counter()
    with mlflow_ui.running_server(store) as server, mlflow_ui.browser_page(width=width, height=height) as page:
        mlflow_ui.open_compare(page, server.url, found.experiment_id, [r.info.run_id for r in runs], names)
        mlflow_ui.show_in_plot(page, differing[:4], METRICS)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
    console.print(f"{out}: {names[0]} vs {names[1]} from {parent_name} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    typer.run(main)
