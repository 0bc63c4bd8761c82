"""The blend family: parts trained on the same rows, probabilities averaged by weight,
saved and logged like any other model."""

from __future__ import annotations

import json
import warnings

import mlflow
import numpy as np
import pytest

from diplostance.config import load_config
from diplostance.corpus import jsonl_files, load_examples
from diplostance.crises import load_registry
from diplostance.evaluation import mention_table
from diplostance.features import normalize_mentions
from diplostance.models import create_model
from diplostance.models.base import META_FILE, LibraryDriftWarning, load_model
from diplostance.models.pyfunc import INPUT_EXAMPLE
from diplostance.paths import LABELED_DIR


@pytest.fixture(scope="module")
def tables():
    registry = load_registry()
    files = jsonl_files([LABELED_DIR / "venezuela-2019.jsonl", LABELED_DIR / "niger-2023.jsonl"])
    train = load_examples(files, registry=registry)
    test = load_examples(jsonl_files([LABELED_DIR / "honduras-2009.jsonl"]), registry=registry)
    return normalize_mentions(mention_table(train, registry)), normalize_mentions(mention_table(test, registry))


def test_blend_averages_its_parts_by_weight_and_survives_save_and_load(tables, tmp_path):
    train, test = tables
    blend = create_model("blend", {"weights": {"rules": 1.0, "tfidf": 3.0}, "tfidf": {"C": 1.0}})
    blend.fit(train, list(train["label"]))
    assert blend.parts_["tfidf"].config["C"] == 1.0  # a part's own settings reach it
    rules, tfidf = blend.parts_["rules"].predict_proba(test), blend.parts_["tfidf"].predict_proba(test)
    assert not np.allclose(rules, tfidf)  # the parts differ, so the weights matter
    np.testing.assert_allclose(blend.predict_proba(test), 0.25 * rules + 0.75 * tfidf, atol=1e-12)
    loaded = load_model(blend.save(tmp_path / "blend"))
    assert sorted(p.name for p in (tmp_path / "blend").iterdir() if p.is_dir()) == ["rules", "tfidf"]
    np.testing.assert_allclose(loaded.predict_proba(test), blend.predict_proba(test), atol=1e-12)
    assert (loaded.predict(test)["label"] == blend.predict(test)["label"]).all()

    # loaded under other library code: one warning for the blend, not one per part
    for meta_file in (tmp_path / "blend").rglob(META_FILE):
        meta = json.loads(meta_file.read_text())
        meta["library"]["code_digest"] = "0" * 64
        meta_file.write_text(json.dumps(meta))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(tmp_path / "blend")
    assert [w.category for w in caught] == [LibraryDriftWarning]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({}, "must map model families"),
        ({"tfidf": 1, "nope": 1}, "cannot blend 'nope'"),
        ({"blend": 1}, "cannot blend 'blend'"),
        ({"tfidf": -1}, "must be a number >= 0"),
        ({"tfidf": 0, "rules": 0}, "sum to 0"),
    ],
)
def test_bad_blend_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        create_model("blend", {"weights": weights})


def test_blend_trains_logs_and_predicts_through_mlflow(trained_store):
    from diplostance.training import train

    paths = "data.paths=[" + ",".join(str(LABELED_DIR / f"{c}.jsonl") for c in ("venezuela-2019", "honduras-2009")) + "]"
    overrides = ["experiment=test-training", paths, "model.weights={rules: 1, tfidf: 1}", "register=false"]
    cfg = load_config(model="blend", overrides=overrides)
    summary = train(cfg)
    assert summary["family"] == "blend" and 0 <= summary["metrics"]["test_unseen"]["macro_f1"] <= 1
    run = mlflow.tracking.MlflowClient().get_run(summary["run_id"])
    assert run.data.params["model.weights.tfidf"] == "1" and run.data.metrics["val_macro_f1"] >= 0
    model = mlflow.pyfunc.load_model(summary["model_uri"])  # not registered: the session's champion stays put
    out = model.predict(INPUT_EXAMPLE)
    assert out.loc[0, "label"] in {"supports-incumbent", "recognizes-challenger", "calls-for-dialogue", "none"}
