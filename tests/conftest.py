import json
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
# Tests never touch the user's store: a throwaway one unless a fixture sets another.
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tempfile.mkdtemp(prefix='diplostance-tests-')}/mlflow.db"

REGISTRY_YAML = """
crises:
  - id: venezuela-2019
    country: VEN
    incumbent: {name: Nicolas Maduro, aliases: [Maduro, the Maduro government]}
    challenger: {name: Juan Guaido, aliases: [Guaido, the opposition leader]}
    period: {start: "2019-01-10", end: "2023-01-05"}
    reserved: false
  - id: myanmar-2021
    country: MMR
    incumbent: {name: Min Aung Hlaing, aliases: [the junta]}
    challenger: {name: National Unity Government, aliases: [the NUG]}
    reserved: true
"""


def row(id_, sentence, mentions, crisis="venezuela-2019", **extra):
    """A labeled row; mentions are (text, entity, label) and located in order."""
    out, pos = [], 0
    for text, entity, label in mentions:
        start = sentence.index(text, pos)
        out.append({"text": text, "start": start, "end": start + len(text), "entity": entity, "label": label})
        pos = start + len(text)
    base = {"id": id_, "crisis": crisis, "incumbent": "Nicolas Maduro", "challenger": "Juan Guaido"}
    if crisis == "myanmar-2021":
        base.update(incumbent="Min Aung Hlaing", challenger="National Unity Government")
    return {**base, **extra, "sentence": sentence, "mentions": out}


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def registry_path(tmp_path) -> Path:
    path = tmp_path / "crises.yaml"
    path.write_text(REGISTRY_YAML, encoding="utf-8")
    return path


@pytest.fixture
def registry(registry_path):
    from diplostance.crises import load_registry

    return load_registry(registry_path)


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory):
    """A fresh MLflow store where rules, then tfidf, were trained on the bundled corpus
    through the real pipeline. MLFLOW_TRACKING_URI points at it for the whole session."""
    root = tmp_path_factory.mktemp("mlflow")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root}/mlflow.db"
    from diplostance.config import load_config
    from diplostance.training import train

    return [train(load_config(model=family, overrides=["experiment=test-training"])) for family in ("rules", "tfidf")]
