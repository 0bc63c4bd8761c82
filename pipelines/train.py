"""Train one model as configured and log it to MLflow.

python pipelines/train.py [--model tfidf] [--exp NAME] [key=value ...]
"""

from __future__ import annotations

import logging

import typer

from diplostance.cli.common import console, fail
from diplostance.config import ConfigError, load_config
from diplostance.corpus import CorpusError
from diplostance.crises import RegistryError
from diplostance.training import PREFIX, TrainingError, train


def main(
    overrides: list[str] = typer.Argument(None, help="Dotted overrides, e.g. model.C=2 data.paths=[data/labeled]"),
    model: str = typer.Option(None, "--model", "-m", help="Model family (configs/model/*.yaml) [default: from config]"),
    exp: str = typer.Option(None, "--exp", "-e", help="Experiment file in configs/experiment/ (deltas only)"),
    if_no_champion: bool = typer.Option(False, "--if-no-champion", help="Do nothing if a champion model is already registered."),
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if if_no_champion:
        from diplostance.tracking import DEFAULT_MODEL_URI, champion_exists, setup

        setup()
        if champion_exists():
            console.print(f"{DEFAULT_MODEL_URI} exists: not training (make train trains anyway)")
            return
    try:
        cfg = load_config(model=model, experiment=exp, overrides=overrides or [])
        summary = train(cfg)
    except (ConfigError, CorpusError, RegistryError, TrainingError) as exc:
        fail(str(exc))
    console.print(f"run [bold]{summary['run_name']}[/] ({summary['run_id']}), model {summary['model_uri']}")
    for split, m in summary["metrics"].items():
        if m.get("n"):
            console.print(
                f"  {PREFIX[split] + '_macro_f1':<22} {m['macro_f1']:.3f}"
                f"   stance {m['stance_macro_f1']:.3f}   ({m['n']} mentions)"
            )
    if "version" in summary:
        console.print(f"registered diplostance v{summary['version']} @{summary['family']}; {summary['decision']}")


if __name__ == "__main__":
    typer.run(main)
