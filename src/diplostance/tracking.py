"""MLflow conventions in one place: store, experiment, tags, model logging, aliases."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import tempfile
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

# Progress bars for tiny local artifact copies are noise in our logs.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from diplostance.paths import PROJECT_ROOT

log = logging.getLogger(__name__)

REGISTERED_MODEL = "diplostance"
CHAMPION = "champion"
GATE_METRIC = "test_unseen_macro_f1"
DEFAULT_EXPERIMENT = "diplostance"
DEFAULT_MODEL_URI = f"models:/{REGISTERED_MODEL}@{CHAMPION}"


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI if set, else the SQLite store at the repo root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"


def setup(experiment: str | None = None) -> str:
    """Point MLflow at the project's store and experiment; return the experiment id."""
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        mlflow.set_experiment(experiment_id=found.experiment_id)
        return found.experiment_id
    artifact_location = None
    if uri.startswith("sqlite:///"):  # keep artifacts beside the database, not in the CWD
        artifact_location = (Path(uri[len("sqlite:///") :]).parent / "mlartifacts").resolve().as_uri()
    experiment_id = mlflow.create_experiment(name, artifact_location=artifact_location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def files_digest(paths: list[Path]) -> str:
    """sha256 over the files' names and bytes, in sorted order (short form)."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def flatten(cfg: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = str(value)[:500]
    return out


def log_stance_model(model, *, register: bool = True):
    """Log a trained model as the project pyfunc (signature + input example); register it."""
    from diplostance.models import pyfunc_entry
    from diplostance.models.pyfunc import INPUT_EXAMPLE, MODEL_ARTIFACT, SIGNATURE

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = model.save(Path(tmp) / "model")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(pyfunc_entry.__file__)),  # models from code: no pickled objects
            artifacts={MODEL_ARTIFACT: str(model_dir)},
            signature=SIGNATURE,
            input_example=INPUT_EXAMPLE,
            # explicit: inference of requirements is slow and pins packages we do not need
            pip_requirements=_requirements(model.family),
            registered_model_name=REGISTERED_MODEL if register else None,
        )


def _requirements(family: str) -> list[str]:
    from importlib.metadata import version

    names = ["mlflow", "scikit-learn", "pandas", "numpy", "pyyaml", "joblib"]
    if family in ("minilm", "blend"):  # blend: its default parts include minilm
        names += ["onnxruntime", "tokenizers", "transformers"]
    return [f"{n}=={version(n)}" for n in names]


def metric_of_version(client: MlflowClient, version, metric: str = GATE_METRIC) -> float | None:
    run = client.get_run(version.run_id)
    return run.data.metrics.get(metric)


def promote(version: str, family: str, score: float | None) -> dict:
    """Set the family alias on the new version; move @champion only if the new version's
    gate metric is at least the current champion's (or there is no champion)."""
    client = MlflowClient()
    client.set_registered_model_alias(REGISTERED_MODEL, family, version)
    try:
        current = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    except mlflow.exceptions.MlflowException:
        current = None
    current_score = metric_of_version(client, current) if current else None
    if score is None:
        decision, promoted = f"not promoted: no {GATE_METRIC} (no reserved-crisis data)", False
    elif current is None:
        decision, promoted = "promoted: no champion existed", True
    elif current_score is None or score >= current_score:
        decision, promoted = f"promoted: {GATE_METRIC} {score:.4f} >= champion v{current.version} {current_score}", True
    else:
        decision, promoted = f"kept champion v{current.version}: {GATE_METRIC} {score:.4f} < {current_score:.4f}", False
    if promoted:
        client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, version)
    log.info(decision)
    return {"promoted": promoted, "decision": decision, "previous_champion": current.version if current else None}


def champion_exists() -> bool:
    client = MlflowClient()
    try:
        client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
        return True
    except mlflow.exceptions.MlflowException:
        return False


class ModelNotFound(LookupError):
    """The model URI names nothing in the store."""


def load_pyfunc(uri: str = DEFAULT_MODEL_URI):
    """Load a logged diplostance model through MLflow's pyfunc interface."""
    mlflow.set_tracking_uri(tracking_uri())
    try:
        return mlflow.pyfunc.load_model(uri)
    except (mlflow.exceptions.MlflowException, OSError) as exc:
        hint = " (train one first: make train)" if uri.startswith(f"models:/{REGISTERED_MODEL}") else ""
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotFound(f"cannot load model {uri} from {tracking_uri()}{hint}: {first}") from exc


def model_version_of(uri: str) -> str:
    """The registry version a models:/NAME@alias or models:/NAME/N URI points to ('' otherwise)."""
    if not uri.startswith("models:/"):
        return ""
    name, _, ref = uri[len("models:/") :].partition("@")
    client = MlflowClient()
    try:
        if ref:
            return str(client.get_model_version_by_alias(name, ref).version)
        name, _, number = name.partition("/")
        return number
    except mlflow.exceptions.MlflowException:
        return ""
