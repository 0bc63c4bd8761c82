"""Sweeps and leave-one-crisis-out CV through the real train(cfg), against a real MLflow
store; then the MLflow UI over that store in headless Chromium."""

from __future__ import annotations

import json
import math
import os
import time

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from diplostance.experiments import ExperimentError, load_sweep, plan_cv, run_cv, run_sweep
from diplostance.paths import LABELED_DIR
from diplostance.tracking import CHAMPION, REGISTERED_MODEL

# Three non-reserved crises and one reserved (honduras-2009): test_unseen stays populated.
SLICE = ["venezuela-2019", "belarus-2020", "peru-2022", "honduras-2009"]
PATHS = "data.paths=[" + ",".join(str(LABELED_DIR / f"{c}.jsonl") for c in SLICE) + "]"
FAST = ["model.max_features=5000", "report.misclassified_limit=20"]  # ignored by rules
SWEEP_YAML = """
name: tiny
experiment: test-sweeps
description: a small real sweep for the tests
overrides: [report.misclassified_limit=20]
variants:
  - name: rules
    model: rules
  - name: tfidf
    model: tfidf
    overrides: [model.max_features=5000]
  - name: tfidf-no-marking
    exp: tfidf-no-marking
    overrides: [model.max_features=5000]
  - name: tfidf-C1
    model: tfidf
    overrides: [model.max_features=5000, model.C=1.0]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A fresh store holding one real sweep and one real CV on a slice of the corpus."""
    root = tmp_path_factory.mktemp("experiments")
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    uri = f"sqlite:///{root}/mlflow.db"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        sweep_file = root / "tiny.yaml"
        sweep_file.write_text(SWEEP_YAML, encoding="utf-8")
        sweep = run_sweep(load_sweep(sweep_file), [PATHS])
        cv = run_cv(plan_cv("tfidf", None, [PATHS, *FAST]), experiment="test-cv")
        yield {"uri": uri, "root": root, "sweep": sweep, "cv": cv}
    finally:
        # mlflow.set_tracking_uri also sets the variable; leave both as the session had them
        if previous:
            mlflow.set_tracking_uri(previous)
        else:
            os.environ.pop("MLFLOW_TRACKING_URI", None)


def children_of(client: MlflowClient, run) -> list:
    return client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")


def test_sweep_parent_children_tags_and_best_child(store):
    client = MlflowClient(tracking_uri=store["uri"])
    result = store["sweep"]
    parent = client.get_run(result["parent_run_id"])
    assert client.get_experiment(parent.info.experiment_id).name == "test-sweeps"
    assert parent.data.tags["run_kind"] == "sweep" and parent.data.tags["sweep"] == "tiny"
    assert parent.info.run_name.startswith("sweep-tiny-")
    children = children_of(client, parent)
    assert sorted(c.info.run_name for c in children) == ["rules", "tfidf", "tfidf-C1", "tfidf-no-marking"]
    for child in children:
        tags = child.data.tags
        assert tags["run_kind"] == "sweep-variant" and tags["variant"] == child.info.run_name and tags["sweep"] == "tiny"
        assert child.info.status == "FINISHED" and child.info.experiment_id == parent.info.experiment_id
        assert child.data.params["register"] == "False"
        assert "registered_version" not in tags  # children never reach the registry
    by_name = {c.info.run_name: c for c in children}
    # overrides reached the runs: sweep-wide, variant, command line, experiment file
    assert by_name["tfidf-C1"].data.params["model.C"] == "1.0"
    assert by_name["tfidf-no-marking"].data.params["model.mark_target"] == "False"
    assert by_name["tfidf"].data.params["report.misclassified_limit"] == "20"
    assert "honduras-2009" in by_name["tfidf"].data.params["data.paths"]
    assert by_name["tfidf"].data.tags["variant_spec"] == "model=tfidf model.max_features=5000"

    # the best child is the one with the highest val_macro_f1 (first on ties), not test_unseen
    vals = {name: run.data.metrics["val_macro_f1"] for name, run in by_name.items()}
    order = ["rules", "tfidf", "tfidf-no-marking", "tfidf-C1"]
    expected = max(order, key=lambda n: (vals[n], -order.index(n)))
    assert parent.data.tags["best_child"] == expected
    assert parent.data.tags["best_child_run_id"] == by_name[expected].info.run_id
    assert parent.data.metrics["best_val_macro_f1"] == pytest.approx(vals[expected])
    assert parent.data.metrics["best_test_unseen_macro_f1"] == pytest.approx(
        by_name[expected].data.metrics["test_unseen_macro_f1"]
    )
    assert parent.data.metrics["n_variants"] == 4 and parent.data.metrics["n_failed"] == 0
    assert expected in parent.data.tags["mlflow.note.content"]

    # the summary table: logged as CSV, Markdown and an MLflow table, one row per variant
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)} | {
        a.path for a in client.list_artifacts(parent.info.run_id, "plots")
    }
    assert {"sweep_summary.csv", "sweep_summary.md", "sweep_summary.json", "plots/sweep_macro_f1.png"} <= artifacts
    table = pd.read_csv(mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="sweep_summary.csv"))
    assert list(table["variant"]) == order
    assert table.loc[table["best"], "variant"].tolist() == [expected]
    for row in table.itertuples():
        assert row.val_macro_f1 == pytest.approx(vals[row.variant])
        assert row.run_id == by_name[row.variant].info.run_id
    assert result["best"]["variant"] == expected


def test_sweep_does_not_touch_the_registry(store):
    client = MlflowClient(tracking_uri=store["uri"])
    # no child registered anything, so there is no champion in this fresh store
    assert not client.search_registered_models(f"name = '{REGISTERED_MODEL}'")
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)


def test_cv_one_child_per_nonreserved_crisis_with_mean_and_spread(store):
    client = MlflowClient(tracking_uri=store["uri"])
    result = store["cv"]
    parent = client.get_run(result["parent_run_id"])
    assert client.get_experiment(parent.info.experiment_id).name == "test-cv"
    assert parent.data.tags["run_kind"] == "cv" and parent.data.tags["model_family"] == "tfidf"
    children = children_of(client, parent)
    held = {c.data.tags["holdout_crisis"]: c for c in children}
    assert set(held) == {"venezuela-2019", "belarus-2020", "peru-2022"}  # never the reserved crisis
    scores = []
    for crisis, child in held.items():
        assert child.info.run_name == f"holdout-{crisis}" and child.data.tags["run_kind"] == "cv-fold"
        assert child.data.params["split.holdout_crisis"] == crisis
        metrics = child.data.metrics
        assert 0 <= metrics["heldout_macro_f1"] <= 1 and metrics["test_unseen_n"] > 0
        assert "test_seen_macro_f1" not in metrics  # the held-out crisis replaces test_seen
        contexts = {t.value for d in child.inputs.dataset_inputs for t in d.tags if t.key == "mlflow.data.context"}
        assert contexts == {"train", "validation", "heldout", "test_unseen"}
        scores.append(metrics["heldout_macro_f1"])
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))
    assert parent.data.metrics["cv_heldout_macro_f1_mean"] == pytest.approx(mean)
    assert parent.data.metrics["cv_heldout_macro_f1_std"] == pytest.approx(std)
    assert parent.data.metrics["cv_folds"] == 3
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)} | {
        a.path for a in client.list_artifacts(parent.info.run_id, "plots")
    }
    assert {"cv_folds.csv", "cv_folds.json", "plots/cv_per_crisis.png"} <= artifacts


def test_a_sweep_can_choose_by_a_held_out_group_of_crises(store, tmp_path):
    """select_by: heldout -- every variant holds out the same crises and the parent picks
    the variant that does best on them (a cross-crisis choice), not on validation."""
    sweep_file = tmp_path / "heldout.yaml"
    sweep_file.write_text(
        "name: heldout\nexperiment: test-sweeps\nselect_by: heldout\n"
        "overrides: ['split.holdout_crisis=belarus-2020,peru-2022']\n"
        "variants:\n  - {name: rules, model: rules}\n"
        "  - {name: tfidf, model: tfidf, overrides: [model.max_features=5000]}\n",
        encoding="utf-8",
    )
    result = run_sweep(load_sweep(sweep_file), [PATHS])
    client = MlflowClient(tracking_uri=store["uri"])
    parent = client.get_run(result["parent_run_id"])
    by_name = {c.info.run_name: c for c in children_of(client, parent)}
    held = {n: r.data.metrics["heldout_macro_f1"] for n, r in by_name.items()}
    assert all(r.data.tags["holdout_crisis"] == "belarus-2020,peru-2022" for r in by_name.values())
    expected = max(["rules", "tfidf"], key=lambda n: (held[n], n == "rules"))
    assert parent.data.tags["selection_metric"] == "heldout_macro_f1" and parent.data.tags["best_child"] == expected
    assert parent.data.metrics["best_heldout_macro_f1"] == pytest.approx(held[expected])
    assert result["table"]["heldout_macro_f1"].notna().all()
    sweep_file.write_text("name: bad\nselect_by: test_unseen\nvariants:\n  - {name: a, model: rules}\n")
    with pytest.raises(ExperimentError, match="select_by must be one of validation, heldout"):
        load_sweep(sweep_file)


def test_cv_holdout_split_keeps_reserved_crises_out(registry):
    from diplostance.corpus import Example
    from diplostance.splits import SplitError, split_examples

    def ex(i, crisis):
        return Example(id=f"{crisis}-{i}", crisis=crisis, sentence="x", mentions=(), raw={})

    examples = [ex(i, "venezuela-2019") for i in range(50)] + [ex(i, "myanmar-2021") for i in range(5)]
    parts = split_examples(examples, registry, holdout="venezuela-2019")
    assert len(parts["heldout"]) == 50 and len(parts["test_unseen"]) == 5
    assert not parts["train"] and not parts["validation"] and "test_seen" not in parts
    with pytest.raises(SplitError, match="reserved"):
        split_examples(examples, registry, holdout="myanmar-2021")
    with pytest.raises(SplitError, match="not in the crisis registry"):
        split_examples(examples, registry, holdout="atlantis-2030")


def test_a_group_of_crises_can_be_held_out_together():
    from diplostance.corpus import Example
    from diplostance.crises import load_registry
    from diplostance.splits import SplitError, split_examples

    registry = load_registry()  # the project's registry: several non-reserved crises

    def ex(i, crisis):
        return Example(id=f"{crisis}-{i}", crisis=crisis, sentence="x", mentions=(), raw={})

    examples = [ex(i, c) for c in ("venezuela-2019", "niger-2023", "belarus-2020") for i in range(40)]
    for group in ("venezuela-2019,niger-2023", ["niger-2023", "venezuela-2019"], " venezuela-2019 , niger-2023,"):
        parts = split_examples(examples, registry, holdout=group)
        assert {e.crisis for e in parts["heldout"]} == {"venezuela-2019", "niger-2023"} and len(parts["heldout"]) == 80
        assert {e.crisis for e in parts["train"] + parts["validation"]} == {"belarus-2020"}
    with pytest.raises(SplitError, match="'myanmar-2021': it is reserved"):
        split_examples(examples, registry, holdout="venezuela-2019,myanmar-2021")


def test_bad_definitions_fail_before_any_run(tmp_path):
    with pytest.raises(ExperimentError, match="no sweep"):
        load_sweep("no-such-sweep")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nvariants:\n  - {name: a, model: tfidf}\n  - {name: a, model: rules}\n")
    with pytest.raises(ExperimentError, match="unique"):
        load_sweep(bad)
    bad.write_text("name: bad\nvariants:\n  - {name: a, model: nope}\n")
    with pytest.raises(ExperimentError, match="unknown model family"):
        run_sweep(load_sweep(bad))
    with pytest.raises(ExperimentError, match="reserved"):
        plan_cv("tfidf", None, [PATHS], ["honduras-2009"])


def test_default_sweep_file_is_valid():
    from diplostance.experiments import variant_config

    sweep = load_sweep("default")
    families = set()
    for variant in sweep.variants:
        cfg = variant_config(sweep, variant)
        assert cfg["register"] is False and cfg["run_name"] == variant.name
        families.add(cfg["model"]["family"])
    assert {"rules", "tfidf"} <= families
    assert json.dumps([v.name for v in sweep.variants])  # names are plain strings


# --------------------------------------------------------------------------- the UI


def _need_browser():
    """Chromium and Playwright must be there in CI; elsewhere their absence skips."""
    from diplostance.mlflow_ui import CHROMIUM, chromium_path

    missing = []
    if chromium_path() is None:
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message + " (CI=true: .ci/run installs it)")
        pytest.skip(message)


@pytest.mark.slow
def test_mlflow_ui_lists_runs_with_metrics_and_compares_two(store, tmp_path):
    _need_browser()
    from diplostance import mlflow_ui

    client = MlflowClient(tracking_uri=store["uri"])
    parent = client.get_run(store["sweep"]["parent_run_id"])
    children = {c.info.run_name: c for c in children_of(client, parent)}
    metrics = ["val_macro_f1", "test_unseen_macro_f1"]
    with mlflow_ui.running_server(store["uri"], log_path=tmp_path / "server.log") as server:
        url = server.url
        with mlflow_ui.browser_page() as page:
            mlflow_ui.open_experiment(page, url, parent.info.experiment_id, parent.info.run_name, metrics)
            for name in children:
                page.get_by_text(name, exact=True).first.wait_for()
            rows = mlflow_ui.table_rows(page)
            text = "\n".join(rows)
            for metric in metrics:
                assert metric in text
            for child in children.values():
                for metric in metrics:  # the UI prints the stored double as is
                    assert repr(child.data.metrics[metric]) in text, (child.info.run_name, metric)

            mlflow_ui.compare_from_table(page, ["tfidf", "tfidf-C1"])
            assert children["tfidf"].info.run_id in page.url and children["tfidf-C1"].info.run_id in page.url
            mlflow_ui.show_in_plot(page, ["model.C"], metrics)
            body = page.inner_text("body")
            assert "Comparing 2 Runs" in body
            assert "tfidf" in body and "tfidf-C1" in body and "test_unseen_macro_f1" in body
            shot = tmp_path / "mlflow-compare.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 20_000

            # artifacts are served: the parent's summary table opens in the run page
            page.goto(f"{url}/#/experiments/{parent.info.experiment_id}/runs/{parent.info.run_id}/artifacts")
            page.get_by_text("sweep_summary.md", exact=True).first.click()
            page.get_by_text("tfidf-no-marking", exact=False).first.wait_for()
    assert not mlflow_ui.group_alive(server.pgid), "the MLflow server left processes behind"


@pytest.mark.slow
def test_make_ui_path_stops_cleanly_on_ctrl_c(store, tmp_path):
    """pipelines/ui.py (what make ui runs) in its own group; SIGINT to the group, as Ctrl-C
    in a terminal does, must leave no process behind."""
    import signal
    import subprocess
    import sys

    from diplostance import mlflow_ui
    from diplostance.paths import PROJECT_ROOT

    port = mlflow_ui.free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": store["uri"]}
    with open(tmp_path / "ui.log", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "pipelines" / "ui.py"), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            mlflow_ui.wait_ready(f"http://127.0.0.1:{port}", 90, proc)
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
            deadline = time.monotonic() + 15
            while mlflow_ui.group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not mlflow_ui.group_alive(proc.pid), (tmp_path / "ui.log").read_text()
        finally:
            mlflow_ui.stop_group(proc)
    assert store["uri"] in (tmp_path / "ui.log").read_text()  # it served the store it was given


def test_every_experiment_file_composes_and_the_command_line_wins():
    from diplostance.config import load_config
    from diplostance.paths import CONFIGS_DIR

    for path in sorted((CONFIGS_DIR / "experiment").glob("*.yaml")):
        cfg = load_config(experiment=path.stem, overrides=["model.seed=7", "split.holdout_crisis=peru-2022"])
        assert cfg["experiment_name"] == path.stem and cfg["model"]["seed"] == 7
        assert cfg["split"]["holdout_crisis"] == "peru-2022" and cfg["register"] is True
    masked = load_config(experiment="tfidf-masked", overrides=["model.mask_target=false"])
    assert masked["model"]["family"] == "tfidf" and masked["model"]["mask_target"] is False
    assert load_config(experiment="tfidf-no-roles")["model"]["replace_roles"] is False
