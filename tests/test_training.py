"""The real training pipeline against a temporary MLflow store."""

import json

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from diplostance.cli import app
from diplostance.config import ConfigError, load_config
from diplostance.labels import LABELS
from diplostance.models.base import PROB_COLUMNS
from diplostance.models.pyfunc import INPUT_EXAMPLE
from diplostance.paths import LABELED_DIR
from diplostance.tracking import GATE_METRIC, REGISTERED_MODEL


def test_run_logs_params_tags_metrics_datasets_and_artifacts(trained_store):
    client = MlflowClient()
    summary = trained_store[1]
    run = client.get_run(summary["run_id"])
    assert run.data.params["model.family"] == "tfidf"
    assert run.data.params["model.C"] == "4.0"
    assert run.data.tags["model_family"] == "tfidf"
    assert len(run.data.tags["corpus_digest"]) == 16 and run.data.tags["git_commit"]
    for prefix in ("val", "test_seen", "test_unseen"):
        for metric in ("macro_f1", "stance_macro_f1", "accuracy", "f1_none", "f1_calls_for_dialogue"):
            assert 0.0 <= run.data.metrics[f"{prefix}_{metric}"] <= 1.0
    # metrics are what the summary computed, not something else
    assert run.data.metrics["test_unseen_macro_f1"] == pytest.approx(summary["metrics"]["test_unseen"]["macro_f1"])
    contexts = {tag.value for d in run.inputs.dataset_inputs for tag in d.tags if tag.key == "mlflow.data.context"}
    assert contexts == {"train", "validation", "test_seen", "test_unseen"}
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)} | {
        a.path for folder in ("plots", "misclassified") for a in client.list_artifacts(run.info.run_id, folder)
    }
    assert {"report.txt", "metrics.json", "plots/confusion_test_unseen.png", "misclassified/test_unseen.json"} <= artifacts


def test_registry_aliases_and_champion_gate(trained_store):
    client = MlflowClient()
    rules, tfidf = trained_store
    assert str(client.get_model_version_by_alias(REGISTERED_MODEL, "rules").version) == rules["version"]
    assert str(client.get_model_version_by_alias(REGISTERED_MODEL, "tfidf").version) == tfidf["version"]
    assert rules["promoted"] and rules["decision"].startswith("promoted")  # first model: no champion yet
    better = tfidf["metrics"]["test_unseen"]["macro_f1"] >= rules["metrics"]["test_unseen"]["macro_f1"]
    assert tfidf["promoted"] == better
    champion = client.get_model_version_by_alias(REGISTERED_MODEL, "champion")
    assert str(champion.version) == (tfidf["version"] if better else rules["version"])
    assert client.get_run(tfidf["run_id"]).data.tags["champion_decision"] == tfidf["decision"]
    assert GATE_METRIC in tfidf["decision"] or "no champion" in tfidf["decision"]


def test_pyfunc_predicts_labels_and_probabilities_batch_equals_single(trained_store):
    model = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}@tfidf")
    rows = pd.concat([INPUT_EXAMPLE] * 3, ignore_index=True)
    rows.loc[1, ["start", "end", "entity"]] = [0, 6, "RUS"]
    rows.loc[2, ["start", "end", "entity"]] = [11, 15, "CUB"]
    batch = model.predict(rows)
    assert list(batch.columns) == ["label", "confidence", *PROB_COLUMNS]
    assert set(batch["label"]) <= set(LABELS)
    assert (batch[list(PROB_COLUMNS)].sum(axis=1) - 1).abs().max() < 1e-6
    for i in range(3):
        single = model.predict(rows.iloc[[i]].reset_index(drop=True))
        assert single.loc[0, "label"] == batch.loc[i, "label"]
        assert single.loc[0, "confidence"] == pytest.approx(batch.loc[i, "confidence"])


def test_a_logged_model_records_the_library_code_and_warns_when_it_changed(trained_store, tmp_path):
    import warnings

    from diplostance.models.base import META_FILE, LibraryDriftWarning, library_fingerprint, load_model

    local = mlflow.artifacts.download_artifacts(f"models:/{REGISTERED_MODEL}@tfidf", dst_path=str(tmp_path))
    meta_file = next(p for p in tmp_path.rglob(META_FILE))
    meta = json.loads(meta_file.read_text())
    assert meta["library"] == library_fingerprint() and len(meta["library"]["code_digest"]) == 64
    run = MlflowClient().get_run(trained_store[1]["run_id"])
    assert run.data.tags["library_code_digest"] == meta["library"]["code_digest"]  # visible in the UI
    with warnings.catch_warnings():
        warnings.simplefilter("error", LibraryDriftWarning)
        load_model(meta_file.parent)  # same code: no warning
        mlflow.pyfunc.load_model(local)
    meta["library"]["code_digest"] = "0" * 64  # as if saved by other library code
    meta_file.write_text(json.dumps(meta))
    with pytest.warns(LibraryDriftWarning, match="code 000000000000.*predictions may differ"):
        model = load_model(meta_file.parent)
    assert model.predict(INPUT_EXAMPLE).loc[0, "label"] in LABELS  # a warning, not a refusal
    with pytest.warns(LibraryDriftWarning):
        mlflow.pyfunc.load_model(local)


def test_crisis_country_mentions_are_none(trained_store):
    model = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}@tfidf")
    row = INPUT_EXAMPLE.copy()
    row.loc[0, "entity"] = "VEN"  # the mention's entity is the crisis country
    assert model.predict(row).loc[0, "label"] == "none"


def test_evaluate_cli_on_reserved_crisis_file(trained_store, tmp_path):
    data = LABELED_DIR / "honduras-2009.jsonl"
    out = tmp_path / "pred.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--data",
            str(data),
            "--model",
            f"models:/{REGISTERED_MODEL}@tfidf",
            "--json",
            "--predictions-out",
            str(out),
            "--detect",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == sum(len(json.loads(line)["mentions"]) for line in data.read_text().splitlines() if line.strip())
    assert set(report["per_crisis_macro_f1"]) == {"honduras-2009"}
    assert 0 < report["end_to_end"]["detection"]["recall"] <= 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    mention = rows[0]["mentions"][0]
    assert mention["label"] in LABELS and mention["gold_label"] in LABELS
    assert sum(mention["scores"].values()) == pytest.approx(1, abs=1e-4)


def test_evaluate_cli_reports_missing_model_without_traceback(trained_store, tmp_path):
    result = CliRunner().invoke(
        app, ["evaluate", "--data", str(LABELED_DIR / "honduras-2009.jsonl"), "--model", f"models:/{REGISTERED_MODEL}@nope"]
    )
    assert result.exit_code == 2
    assert "cannot load model" in result.output and "Traceback" not in result.output


def test_config_composition_and_overrides():
    cfg = load_config(model="tfidf", overrides=["model.C=0.5", "report.misclassified_limit=10"])
    assert cfg["model"]["family"] == "tfidf" and cfg["model"]["C"] == 0.5 and cfg["report"]["misclassified_limit"] == 10
    with pytest.raises(ConfigError, match="unknown model family"):
        load_config(model="nope")
    with pytest.raises(ConfigError, match="not key=value"):
        load_config(overrides=["model.C"])


def test_rules_model_keeps_its_lexicon(tmp_path):
    from diplostance.models import create_model
    from diplostance.models.base import load_model

    model = create_model("rules")
    keys = ("against", "exception", "accusation", "negation", "coup", "ousted", "dialogue")
    model.lexicon_text_ = "support: ['adore']\n" + "".join(f"{key}: []\n" for key in keys)
    loaded = load_model(model.save(tmp_path / "m"))
    table = pd.DataFrame(
        {
            "sentence": ["Peru adores Maduro."],
            "start": [0],
            "end": [4],
            "incumbent": ["Nicolas Maduro"],
            "challenger": ["Juan Guaido"],
        }
    )
    assert loaded.predict(table).loc[0, "label"] == "supports-incumbent"
    assert create_model("rules").predict(table).loc[0, "label"] == "none"  # the packaged lexicon has no 'adore'
