"""Sweeps and leave-one-crisis-out CV: many `train(cfg)` runs as children of one parent run.

Both orchestrate the one training path, :func:`diplostance.training.train`, which nests
its run under the active parent. Children never touch the registry (``register: false``),
so a sweep or a CV cannot move ``@champion``; a variant worth keeping is trained again
with ``make train`` and goes through the champion gate like any other model.

- A sweep (``configs/sweep/<name>.yaml``) is a list of named variants, each a model
  family, an experiment file and/or dotted overrides. The parent run logs a summary
  table and names the best child by ``val_macro_f1`` (selection on validation; the
  chosen child's ``test_unseen_macro_f1`` is reported, never used to choose). A sweep
  whose variants hold out a group of crises (``split.holdout_crisis``) can select by
  ``heldout_macro_f1`` instead (``select_by: heldout``): a cross-crisis choice.
- CV holds out each non-reserved crisis in turn (see :mod:`diplostance.splits`); the
  reserved crises stay test_unseen in every fold. The parent logs mean and spread of the
  held-out crises' macro-F1 and a per-crisis plot.
"""

from __future__ import annotations

import logging
import math
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
import yaml

from diplostance import tracking
from diplostance.config import ConfigError, load_config
from diplostance.paths import CONFIGS_DIR
from diplostance.plots import png

log = logging.getLogger(__name__)

SWEEP_DIR = CONFIGS_DIR / "sweep"
SWEEP_EXPERIMENT = "diplostance-sweeps"
CV_EXPERIMENT = "diplostance-cv"
SELECTION_METRIC = "val_macro_f1"
SELECT_BY = {"validation": "val_macro_f1", "heldout": "heldout_macro_f1"}  # sweep file `select_by`
# Children never register a model: a sweep or a CV must not move @champion.
CHILD_OVERRIDES = ("register=false",)


class ExperimentError(ValueError):
    """A sweep or CV definition that cannot run; the message says why."""


# --------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Variant:
    """One named configuration of a sweep: a family, an experiment file, overrides."""

    name: str
    model: str | None = None
    exp: str | None = None
    overrides: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"model={self.model}"] if self.model else []
        parts += [f"exp={self.exp}"] if self.exp else []
        return " ".join(parts + list(self.overrides)) or "(defaults)"


@dataclass(frozen=True)
class Sweep:
    name: str
    variants: tuple[Variant, ...]
    experiment: str = SWEEP_EXPERIMENT
    description: str = ""
    overrides: tuple[str, ...] = ()  # applied to every variant, before its own
    source: str = ""
    select_by: str = "validation"  # validation | heldout (see SELECT_BY)

    @property
    def selection_metric(self) -> str:
        return SELECT_BY[self.select_by]


_VARIANT_KEYS = {"name", "model", "exp", "overrides"}
_SWEEP_KEYS = {"name", "experiment", "description", "overrides", "variants", "select_by"}


def _str_list(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExperimentError(f"{where}: expected a list of key=value strings")
    return tuple(value)


def sweep_path(name_or_path: str | Path) -> Path:
    """A sweep file: an existing path, or a name in configs/sweep/."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    return SWEEP_DIR / f"{name_or_path}.yaml"


def load_sweep(name_or_path: str | Path) -> Sweep:
    """Read and check a sweep file (see configs/sweep/default.yaml)."""
    path = sweep_path(name_or_path)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SWEEP_DIR.glob("*.yaml"))) or "none"
        raise ExperimentError(f"no sweep {str(name_or_path)!r} ({path} does not exist; known: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ExperimentError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("variants"), list) or not data["variants"]:
        raise ExperimentError(f"{path}: expected a mapping with a non-empty list `variants`")
    unknown = set(data) - _SWEEP_KEYS
    if unknown:
        raise ExperimentError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_SWEEP_KEYS))})")
    variants = []
    for i, entry in enumerate(data["variants"]):
        where = f"{path}: variant {i + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise ExperimentError(f"{where}: expected a mapping with a `name`")
        unknown = set(entry) - _VARIANT_KEYS
        if unknown:
            raise ExperimentError(f"{where} ({entry['name']}): unknown key(s) {', '.join(sorted(unknown))}")
        variants.append(
            Variant(
                name=entry["name"].strip(),
                model=entry.get("model"),
                exp=entry.get("exp"),
                overrides=_str_list(entry.get("overrides"), f"{where} ({entry['name']}) overrides"),
            )
        )
    select_by = str(data.get("select_by") or "validation")
    if select_by not in SELECT_BY:
        raise ExperimentError(f"{path}: select_by must be one of {', '.join(SELECT_BY)}, not {select_by!r}")
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ExperimentError(f"{path}: variant names must be unique (repeated: {', '.join(duplicates)})")
    return Sweep(
        name=str(data.get("name") or path.stem),
        variants=tuple(variants),
        experiment=str(data.get("experiment") or SWEEP_EXPERIMENT),
        description=str(data.get("description") or "").strip(),
        overrides=_str_list(data.get("overrides"), f"{path}: overrides"),
        source=str(path),
        select_by=select_by,
    )


def variant_config(sweep: Sweep, variant: Variant, overrides: tuple[str, ...] | list[str] = ()) -> dict:
    """The full run config of one variant. Precedence: command line > variant > sweep."""
    try:
        cfg = load_config(
            model=variant.model,
            experiment=variant.exp,
            overrides=[*sweep.overrides, *variant.overrides, *overrides, *CHILD_OVERRIDES],
        )
    except ConfigError as exc:
        raise ExperimentError(f"sweep {sweep.name}, variant {variant.name}: {exc}") from exc
    cfg["run_name"] = variant.name
    cfg["tags"] = {
        **(cfg.get("tags") or {}),
        "run_kind": "sweep-variant",
        "sweep": sweep.name,
        "variant": variant.name,
        "variant_spec": variant.describe()[:5000],
        "mlflow.note.content": f"Sweep `{sweep.name}`, variant `{variant.name}`: {variant.describe()}",
    }
    return cfg


# --------------------------------------------------------------------------- helpers


def _metric(summary: dict, split: str, key: str = "macro_f1") -> float:
    value = summary.get("metrics", {}).get(split, {}).get(key)
    return float(value) if value is not None else math.nan


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _markdown(table: pd.DataFrame, columns: list[str]) -> str:
    """A small Markdown table (no extra dependency): shown as the parent run's description."""

    def cell(v) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.3f}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table[columns].itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _log_table_artifacts(table: pd.DataFrame, stem: str, markdown: str, tmp: Path) -> None:
    table.to_csv(tmp / f"{stem}.csv", index=False)
    (tmp / f"{stem}.md").write_text(markdown, encoding="utf-8")
    mlflow.log_artifact(str(tmp / f"{stem}.csv"))
    mlflow.log_artifact(str(tmp / f"{stem}.md"))
    mlflow.log_table(table, f"{stem}.json")


def _run_metric(run_id: str, key: str) -> float:
    value = mlflow.tracking.MlflowClient().get_run(run_id).data.metrics.get(key)
    return float(value) if value is not None else math.nan


def _run_child(cfg: dict) -> tuple[dict | None, str]:
    """Train one child; a failing child is recorded, not fatal for the others."""
    from diplostance.training import train

    try:
        return train(cfg), "FINISHED"
    except Exception as exc:  # noqa: BLE001 - one bad variant must not lose the sweep
        log.warning("child run %s failed: %s", cfg.get("run_name"), exc)
        return None, f"FAILED: {type(exc).__name__}: {exc}"[:500]


# --------------------------------------------------------------------------- sweep


SWEEP_COLUMNS = [
    "variant",
    "family",
    "spec",
    "val_macro_f1",
    "val_stance_macro_f1",
    "test_seen_macro_f1",
    "test_unseen_macro_f1",
    "heldout_macro_f1",
    "train_seconds",
    "best",
    "status",
    "run_id",
]


def run_sweep(sweep: Sweep, overrides: tuple[str, ...] | list[str] = (), *, experiment: str | None = None) -> dict:
    """Run every variant as a child of one parent run; return the summary.

    The summary holds the parent run id, the table (one row per variant, in sweep order)
    and the best variant by the sweep's selection metric (first one on ties)."""
    metric = sweep.selection_metric
    configs = [variant_config(sweep, v, overrides) for v in sweep.variants]  # fail before any run starts
    experiment_id = tracking.setup(experiment or sweep.experiment)
    rows = []
    started = time.perf_counter()
    with mlflow.start_run(run_name=f"sweep-{sweep.name}-{_stamp()}", experiment_id=experiment_id) as parent:
        mlflow.set_tags(
            {
                "run_kind": "sweep",
                "sweep": sweep.name,
                "sweep_file": sweep.source,
                "git_commit": tracking.git_commit(),
                "selection_metric": metric,
            }
        )
        mlflow.log_params(
            {
                "sweep.name": sweep.name,
                "sweep.variants": ",".join(v.name for v in sweep.variants)[:500],
                "sweep.overrides": " ".join([*sweep.overrides, *overrides])[:500],
                "selection_metric": metric,
            }
        )
        for i, (variant, cfg) in enumerate(zip(sweep.variants, configs, strict=True)):
            log.info("sweep %s: variant %d/%d %s", sweep.name, i + 1, len(configs), variant.name)
            summary, status = _run_child(cfg)
            rows.append(
                {
                    "variant": variant.name,
                    "family": cfg["model"]["family"],
                    "spec": variant.describe(),
                    "val_macro_f1": _metric(summary or {}, "validation"),
                    "val_stance_macro_f1": _metric(summary or {}, "validation", "stance_macro_f1"),
                    "test_seen_macro_f1": _metric(summary or {}, "test_seen"),
                    "test_unseen_macro_f1": _metric(summary or {}, "test_unseen"),
                    "heldout_macro_f1": _metric(summary or {}, "heldout"),
                    "train_seconds": _run_metric(summary["run_id"], "train_seconds") if summary else math.nan,
                    "best": False,
                    "status": status,
                    "run_id": summary["run_id"] if summary else "",
                }
            )
        table = pd.DataFrame(rows, columns=SWEEP_COLUMNS)
        scored = table[table[metric].notna()]
        if scored.empty:
            mlflow.set_tag("best_child", f"none: no variant produced {metric}")
            raise ExperimentError(f"sweep {sweep.name}: no variant finished with a {metric} score (see the child runs)")
        best_index = scored[metric].idxmax()  # first maximum: sweep order breaks ties
        table.loc[best_index, "best"] = True
        best = table.loc[best_index]
        seconds = time.perf_counter() - started
        mlflow.set_tags(
            {
                "best_child": best["variant"],
                "best_child_run_id": best["run_id"],
                "mlflow.note.content": (
                    f"Sweep `{sweep.name}` ({sweep.source}): {len(table)} variants, best by {metric}: "
                    f"**{best['variant']}** (test_unseen_macro_f1 {best['test_unseen_macro_f1']:.3f}).\n\n"
                    + (f"{sweep.description}\n\n" if sweep.description else "")
                    + _markdown(table, ["variant", "spec", metric, "test_unseen_macro_f1", "best", "status"])
                ),
            }
        )
        mlflow.log_metrics(
            {
                f"best_{metric}": float(best[metric]),
                "best_test_unseen_macro_f1": float(best["test_unseen_macro_f1"]),
                "n_variants": float(len(table)),
                "n_failed": float((table["status"] != "FINISHED").sum()),
                "sweep_seconds": seconds,
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            md = _markdown(table, [c for c in SWEEP_COLUMNS if c != "run_id"])
            _log_table_artifacts(table, "sweep_summary", md, tmp)
            mlflow.log_artifact(str(sweep_plot(table, f"sweep {sweep.name}", tmp / "sweep_macro_f1.png", metric)), "plots")
    return {
        "parent_run_id": parent.info.run_id,
        "experiment_id": experiment_id,
        "sweep": sweep.name,
        "table": table,
        "best": best.to_dict(),
        "selection_metric": metric,
        "seconds": seconds,
    }


def sweep_plot(table: pd.DataFrame, title: str, path: Path, metric: str = SELECTION_METRIC) -> Path:
    """Grouped bars: the selection metric and test_unseen macro-F1 per variant; the chosen one marked."""
    import numpy as np

    y = np.arange(len(table))
    with png(path, (7.5, 0.45 * len(table) + 1.4)) as ax:
        ax.barh(y - 0.2, table[metric].fillna(0), height=0.4, label=f"{metric} (selection)", color="#4c78a8")
        ax.barh(y + 0.2, table["test_unseen_macro_f1"].fillna(0), height=0.4, label="test_unseen (report)", color="#f58518")
        labels = [f"{v} *" if b else v for v, b in zip(table["variant"], table["best"], strict=True)]
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"macro-F1 (* = chosen by {metric})")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=8)
    return path


# --------------------------------------------------------------------------- cross-validation


CV_COLUMNS = [
    "crisis",
    "heldout_macro_f1",
    "heldout_stance_macro_f1",
    "heldout_n",
    "val_macro_f1",
    "test_unseen_macro_f1",
    "status",
    "run_id",
]


@dataclass
class CVPlan:
    cfg: dict
    crises: list[str] = field(default_factory=list)


def plan_cv(
    model: str | None = None, exp: str | None = None, overrides: tuple[str, ...] | list[str] = (), crises: list[str] | None = None
) -> CVPlan:
    """The base config and the crises to hold out: every non-reserved crisis in the data
    (or the ones asked for, which must be non-reserved and present)."""
    from diplostance.corpus import jsonl_files, load_examples
    from diplostance.crises import load_registry
    from diplostance.training import resolve

    try:
        cfg = load_config(model=model, experiment=exp, overrides=[*overrides, *CHILD_OVERRIDES])
    except ConfigError as exc:
        raise ExperimentError(str(exc)) from exc
    registry = load_registry(resolve(cfg["data"]["registry"]))
    examples = load_examples(jsonl_files([resolve(p) for p in cfg["data"]["paths"]]), registry=registry)
    present = sorted({ex.crisis for ex in examples})
    eligible = [c for c in present if c not in registry.reserved]
    if crises:
        reserved = [c for c in crises if c in registry.reserved]
        if reserved:
            raise ExperimentError(f"reserved crises are never trained or validated on, so never held out: {', '.join(reserved)}")
        missing = [c for c in crises if c not in eligible]
        if missing:
            raise ExperimentError(
                f"no sentences of {', '.join(missing)} in {cfg['data']['paths']} (present: {', '.join(eligible)})"
            )
        eligible = list(dict.fromkeys(crises))
    if len(eligible) < 2:
        raise ExperimentError(
            f"leave-one-crisis-out needs at least 2 non-reserved crises (have: {', '.join(eligible) or 'none'})"
        )
    return CVPlan(cfg=cfg, crises=eligible)


def fold_config(plan: CVPlan, crisis: str, *, log_model: bool = False) -> dict:
    import copy

    cfg = copy.deepcopy(plan.cfg)
    cfg.setdefault("split", {})["holdout_crisis"] = crisis
    cfg["register"] = False
    cfg["log_model"] = log_model
    cfg["run_name"] = f"holdout-{crisis}"
    cfg["tags"] = {
        **(cfg.get("tags") or {}),
        "run_kind": "cv-fold",
        "holdout_crisis": crisis,
        "mlflow.note.content": (
            f"Leave-one-crisis-out fold: {crisis} held out (metrics `heldout_*`); reserved crises stay test_unseen."
        ),
    }
    return cfg


def _spread(values: list[float]) -> dict[str, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return {}
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,  # sample std (n-1) across folds
        "min": min(values),
        "max": max(values),
    }


def run_cv(plan: CVPlan, *, experiment: str | None = None, log_models: bool = False) -> dict:
    """One child run per held-out crisis under one parent; mean and spread on the parent."""
    family = plan.cfg["model"]["family"]
    label = plan.cfg.get("experiment_name") or family
    experiment_id = tracking.setup(experiment or CV_EXPERIMENT)
    rows = []
    started = time.perf_counter()
    with mlflow.start_run(run_name=f"cv-{label}-{_stamp()}", experiment_id=experiment_id) as parent:
        mlflow.set_tags(
            {
                "run_kind": "cv",
                "model_family": family,
                "experiment_config": plan.cfg.get("experiment_name", ""),
                "git_commit": tracking.git_commit(),
            }
        )
        mlflow.log_params(tracking.flatten({k: v for k, v in plan.cfg.items() if k not in {"tags", "split", "run_name"}}))
        mlflow.log_param("cv.crises", ",".join(plan.crises)[:500])
        for i, crisis in enumerate(plan.crises):
            log.info("cv %s: fold %d/%d, holding out %s", label, i + 1, len(plan.crises), crisis)
            summary, status = _run_child(fold_config(plan, crisis, log_model=log_models))
            heldout = (summary or {}).get("metrics", {}).get("heldout", {})
            rows.append(
                {
                    "crisis": crisis,
                    "heldout_macro_f1": _metric(summary or {}, "heldout"),
                    "heldout_stance_macro_f1": _metric(summary or {}, "heldout", "stance_macro_f1"),
                    "heldout_n": int(heldout.get("n", 0)),
                    "val_macro_f1": _metric(summary or {}, "validation"),
                    "test_unseen_macro_f1": _metric(summary or {}, "test_unseen"),
                    "status": status,
                    "run_id": summary["run_id"] if summary else "",
                }
            )
        table = pd.DataFrame(rows, columns=CV_COLUMNS)
        stats = {
            "heldout_macro_f1": _spread(list(table["heldout_macro_f1"])),
            "heldout_stance_macro_f1": _spread(list(table["heldout_stance_macro_f1"])),
            "test_unseen_macro_f1": _spread(list(table["test_unseen_macro_f1"])),
        }
        if not stats["heldout_macro_f1"]:
            raise ExperimentError("cv: no fold finished (see the child runs)")
        seconds = time.perf_counter() - started
        metrics = {f"cv_{name}_{k}": v for name, s in stats.items() for k, v in s.items()}
        metrics.update(cv_folds=float(len(table)), cv_failed=float((table["status"] != "FINISHED").sum()), cv_seconds=seconds)
        mlflow.log_metrics(metrics)
        h = stats["heldout_macro_f1"]
        mlflow.set_tag(
            "mlflow.note.content",
            f"Leave-one-crisis-out CV of `{label}` over {len(table)} non-reserved crises: held-out macro-F1 "
            f"**{h['mean']:.3f} ± {h['std']:.3f}** (mean ± sample std; min {h['min']:.3f}, max {h['max']:.3f}). "
            "Reserved crises stay test_unseen in every fold.\n\n"
            + _markdown(table, ["crisis", "heldout_macro_f1", "heldout_n", "test_unseen_macro_f1", "status"]),
        )
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            md = _markdown(table, [c for c in CV_COLUMNS if c != "run_id"])
            _log_table_artifacts(table, "cv_folds", md, tmp)
            mlflow.log_artifact(str(cv_plot(table, h, f"leave-one-crisis-out: {label}", tmp / "cv_per_crisis.png")), "plots")
    return {
        "parent_run_id": parent.info.run_id,
        "experiment_id": experiment_id,
        "family": family,
        "table": table,
        "stats": stats,
        "seconds": seconds,
    }


def cv_plot(table: pd.DataFrame, spread: dict, title: str, path: Path) -> Path:
    """Held-out macro-F1 per crisis (sorted), with the mean and ±1 std band."""
    t = table.sort_values("heldout_macro_f1", ascending=True, na_position="first")
    with png(path, (7.5, 0.32 * len(t) + 1.5)) as ax:
        ax.barh(t["crisis"], t["heldout_macro_f1"].fillna(0), color="#4c78a8", label="held-out crisis")
        if t["test_unseen_macro_f1"].notna().any():
            ax.scatter(t["test_unseen_macro_f1"], t["crisis"], color="#f58518", marker="|", s=120,
                       label="test_unseen (reserved)")
        ax.axvline(spread["mean"], color="black", lw=1, label=f"mean {spread['mean']:.3f}")
        ax.axvspan(spread["mean"] - spread["std"], spread["mean"] + spread["std"], color="grey", alpha=0.2,
                   label=f"± std {spread['std']:.3f}")
        ax.set_xlim(0, 1)
        ax.set_xlabel("macro-F1")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=8)
    return path
