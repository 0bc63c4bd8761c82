"""train(cfg) -> summary: read the corpus, fit a model, score every split, log it all to MLflow."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
import warnings
from pathlib import Path

import mlflow

from diplostance import tracking
from diplostance.corpus import jsonl_files, load_examples
from diplostance.crises import load_registry
from diplostance.evaluation import confusion_png, mention_table, misclassified, predict_examples, report_text, score
from diplostance.metrics import flat_metrics
from diplostance.models import create_model
from diplostance.models.base import library_fingerprint
from diplostance.paths import PROJECT_ROOT
from diplostance.splits import SplitError, holdout_crises, split_examples, to_datasets

log = logging.getLogger(__name__)

PREFIX = {"train": "train", "validation": "val", "test_seen": "test_seen", "test_unseen": "test_unseen", "heldout": "heldout"}


class TrainingError(ValueError):
    """The configuration or data cannot produce a model."""


def resolve(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else PROJECT_ROOT / path


def config_hash(cfg: dict) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:8]


def log_datasets(examples, registry, files: list[Path], holdout: str | None = None) -> None:
    """Each split as an MLflow dataset input (a Hugging Face dataset of mention rows)."""
    datasets = to_datasets(examples, registry, holdout)
    source = ",".join(str(f.relative_to(PROJECT_ROOT)) if f.is_relative_to(PROJECT_ROOT) else str(f) for f in files)
    with warnings.catch_warnings():
        # a comma-separated local source matches two equivalent resolvers; start/end are
        # never missing, so MLflow's hint about integer columns does not apply
        warnings.filterwarnings("ignore", message=".*dataset source can be interpreted.*")
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer.*")
        for name in datasets:
            if len(datasets[name]):
                dataset = mlflow.data.from_huggingface(datasets[name], name=f"diplostance-{name}", source=source[:1000] or None)
                mlflow.log_input(dataset, context=name)


def train(cfg: dict) -> dict:
    """Run one training run as configured; return metrics and the registry decision."""
    registry = load_registry(resolve(cfg["data"]["registry"]))
    files = jsonl_files([resolve(p) for p in cfg["data"]["paths"]])
    examples = load_examples(files, registry=registry)
    holdout = ",".join(holdout_crises((cfg.get("split") or {}).get("holdout_crisis"))) or None
    try:
        parts = split_examples(examples, registry, holdout)
    except SplitError as exc:
        raise TrainingError(str(exc)) from exc
    if holdout and not parts["heldout"]:
        raise TrainingError(f"held-out crisis {holdout!r} has no sentences in {cfg['data']['paths']}")
    if not parts["train"]:
        raise TrainingError("no training sentences: every input sentence belongs to a reserved crisis")
    family = cfg["model"]["family"]
    model = create_model(family, {k: v for k, v in cfg["model"].items() if k != "family"})
    train_table = mention_table(parts["train"], registry)
    val_table = mention_table(parts["validation"], registry)

    # Under an active run (a sweep or CV parent) this run is its child, in its experiment.
    parent = mlflow.active_run()
    if parent is None:
        tracking.setup(cfg.get("experiment"))
    run_name = cfg.get("run_name") or f"{family}-{config_hash(cfg)}"
    with mlflow.start_run(
        run_name=run_name, nested=parent is not None, experiment_id=parent.info.experiment_id if parent else None
    ) as run:
        mlflow.set_tags(
            {
                "model_family": family,
                "git_commit": tracking.git_commit(),
                "corpus_digest": tracking.files_digest(files),
                "library_code_digest": library_fingerprint()["code_digest"],
                "experiment_config": cfg.get("experiment_name", ""),
                **({"holdout_crisis": holdout} if holdout else {}),
                **{str(k): str(v) for k, v in (cfg.get("tags") or {}).items()},
            }
        )
        mlflow.log_params(tracking.flatten({k: v for k, v in cfg.items() if k != "tags"}))
        log_datasets(examples, registry, files, holdout)

        started = time.perf_counter()
        model.fit(train_table, list(train_table["label"]), validation=(val_table, list(val_table["label"])))
        mlflow.log_metric("train_seconds", time.perf_counter() - started)

        all_metrics: dict[str, dict] = {}
        reports = []
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for name in parts:
                if not parts[name]:
                    continue
                started = time.perf_counter()
                predicted = predict_examples(model.predict, parts[name], registry)
                m = score(predicted)
                all_metrics[name] = m
                mlflow.log_metrics(flat_metrics(PREFIX[name], m))
                mlflow.log_metric(
                    f"{PREFIX[name]}_mentions_per_second", len(predicted) / max(time.perf_counter() - started, 1e-9)
                )
                reports.append(report_text(name, m))
                if name != "train":
                    mlflow.log_artifact(str(confusion_png(m, f"{family} {name}", tmp / f"confusion_{name}.png")), "plots")
                    wrong = misclassified(predicted, cfg.get("report", {}).get("misclassified_limit", 1000))
                    mlflow.log_table(wrong, f"misclassified/{name}.json")
            (tmp / "report.txt").write_text("".join(reports))
            (tmp / "metrics.json").write_text(json.dumps(all_metrics, indent=2))
            mlflow.log_artifact(str(tmp / "report.txt"))
            mlflow.log_artifact(str(tmp / "metrics.json"))

        # log_model: false (CV folds) keeps the metrics and reports but not the model
        register = bool(cfg.get("register", True)) and bool(cfg.get("log_model", True))
        info = tracking.log_stance_model(model, register=register) if cfg.get("log_model", True) else None
        summary = {
            "run_id": run.info.run_id,
            "run_name": run_name,
            "family": family,
            "model_uri": info.model_uri if info else None,
            "metrics": all_metrics,
        }
        if register:
            version = str(info.registered_model_version)
            unseen = all_metrics.get("test_unseen", {})
            gate = tracking.promote(version, family, unseen.get("macro_f1") if unseen.get("n") else None)
            mlflow.set_tags(
                {
                    "registered_version": version,
                    "champion_decision": gate["decision"],
                    "promoted_to_champion": str(gate["promoted"]),
                }
            )
            summary.update(version=version, **gate)
    return summary
