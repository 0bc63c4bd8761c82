"""The Spark engine on a real local[2] session, against the local engine on the same inputs."""

import json
import shutil
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from diplostance.batch import PredictOptions, run_predictions
from diplostance.cli import app
from diplostance.crises import load_registry
from diplostance.inference import ARTICLE_COLUMNS, MENTION_COLUMNS, roles_from
from diplostance.models.base import PROB_COLUMNS
from diplostance.outputs import read_table
from diplostance.paths import EXAMPLES_DIR, REGISTRY_PATH

MODEL = "models:/diplostance@tfidf"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from diplostance.spark_engine import spark_session

    session, created = spark_session("local[2]")
    yield session
    if created:
        session.stop()


def options(out, inputs=(EXAMPLES_DIR,), fmt="parquet"):
    registry = load_registry(REGISTRY_PATH)
    return PredictOptions(
        inputs=[str(p) for p in inputs],
        out_dir=out,
        model_uri=MODEL,
        fmt=fmt,
        roles=roles_from("venezuela-2019", registry),
        registry=registry,
        progress=False,
    )


def in_local_order(local: pd.DataFrame, spark_rows: pd.DataFrame) -> pd.DataFrame:
    """Spark rows come crisis by crisis, each crisis in input order: put the articles back
    in input order (a stable sort keeps the order inside each article)."""
    position = {a: i for i, a in enumerate(dict.fromkeys(local["article_id"]))}
    return spark_rows.sort_values("article_id", key=lambda s: s.map(position), kind="stable", ignore_index=True)


def assert_same_table(local: pd.DataFrame, spark_rows: pd.DataFrame, float_columns) -> None:
    """Every column exactly equal, except probabilities and confidences: equal to 1e-9
    (a model could compute them in another batch composition)."""
    spark_rows = in_local_order(local, spark_rows)
    exact = [c for c in local.columns if c not in float_columns]
    pd.testing.assert_frame_equal(local[exact], spark_rows[exact], check_dtype=False, check_exact=True)
    pd.testing.assert_frame_equal(
        local[list(float_columns)], spark_rows[list(float_columns)], check_dtype=False, rtol=0, atol=1e-9
    )


def test_spark_engine_gives_the_local_engine_rows(trained_store, spark, tmp_path):
    from mlflow.pyfunc import load_model

    from diplostance.spark_engine import read_partitioned, run_spark_predictions

    local = run_predictions(options(tmp_path / "local"), load_model(MODEL).predict, "2")
    result = run_spark_predictions(options(tmp_path / "spark"), spark=spark, model_version="2")

    mentions = read_partitioned(tmp_path / "spark" / "mentions", MENTION_COLUMNS)
    local_mentions = read_table(tmp_path / "local" / "mentions.parquet")
    assert len(mentions) == len(local_mentions) > 50
    assert_same_table(local_mentions, mentions, ("confidence", *PROB_COLUMNS))
    articles = read_partitioned(tmp_path / "spark" / "articles", ARTICLE_COLUMNS)
    assert_same_table(read_table(tmp_path / "local" / "articles.parquet"), articles, ("confidence",))
    for name in ("summary.csv", "errors.jsonl"):
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert (tmp_path / "spark" / "stances.png").stat().st_size > 1000

    # same counts; the layout is one folder per crisis, and pandas reads a table whole
    for key in ("articles_done", "articles_failed", "sentences", "mentions", "articles_in_output"):
        assert result.counts[key] == local.counts[key], key
    run = json.loads(result.run_file.read_text())
    assert run["engine"] == "spark" and run["spark"]["master"] == "local[2]" and run["format"] == "parquet"
    folders = {p.name for p in (tmp_path / "spark" / "mentions").glob("crisis_partition=*")}
    assert {"crisis_partition=venezuela-2019", "crisis_partition=belarus-2020"} <= folders
    whole = pd.read_parquet(tmp_path / "spark" / "mentions")
    assert len(whole) == len(local_mentions) and set(MENTION_COLUMNS) < set(whole.columns)
    # inside a crisis folder, rows are in input order (article, sentence, offset)
    venezuela = pd.read_parquet(tmp_path / "spark" / "mentions" / "crisis_partition=venezuela-2019")
    position = {a: i for i, a in enumerate(dict.fromkeys(local_mentions["article_id"]))}
    keys = list(zip(venezuela["article_id"].map(position), venezuela["sentence_index"], venezuela["start"], strict=True))
    assert keys == sorted(keys)


def test_spark_cli_reports_bad_inputs_like_the_local_engine(trained_store, spark, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(EXAMPLES_DIR / "venezuela-recognitions.txt", inputs / "good.txt")
    (inputs / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (inputs / "empty.md").write_text("  \n")
    (inputs / "rows.jsonl").write_text(
        '{"id": "ok-1", "text": "Cuba backed Maduro."}\n{"id": "bad"\n{"id": "quiet", "text": "It rained all day."}\n'
    )
    runs = {}
    for engine in ("local", "spark"):
        out = tmp_path / engine
        args = ["predict", str(inputs), "--crisis", "venezuela-2019", "--model", MODEL, "-o", str(out), "--engine", engine]
        result = CliRunner().invoke(app, args + (["--format", "parquet"] if engine == "local" else []))
        assert result.exit_code == 1, result.output  # some inputs failed
        assert "3 input(s) failed" in result.output
        runs[engine] = out
    errors = {e: (runs[e] / "errors.jsonl").read_text().splitlines() for e in runs}
    assert sorted(errors["spark"]) == sorted(errors["local"]) and len(errors["spark"]) == 3
    from diplostance.spark_engine import read_partitioned

    local_articles = read_table(runs["local"] / "articles.parquet")
    spark_articles = read_partitioned(runs["spark"] / "articles", ARTICLE_COLUMNS)
    assert set(spark_articles["article_id"]) == {"good", "ok-1", "quiet"}
    assert_same_table(local_articles, spark_articles, ("confidence",))
    quiet = spark_articles[spark_articles["article_id"] == "quiet"].iloc[0]
    assert quiet["entity"] == "" and quiet["stance"] == "none"  # an article without mentions keeps its row


def test_spark_options_that_cannot_work_fail_fast(tmp_path):
    args = ["predict", str(EXAMPLES_DIR), "--crisis", "venezuela-2019", "-o", str(tmp_path), "--engine", "spark"]
    result = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 2 and "Parquet only" in result.output
    result = CliRunner().invoke(app, [*args[:-1], "flink"])
    assert result.exit_code == 2 and "unknown engine" in result.output


def test_missing_pyspark_names_the_extra(trained_store, tmp_path, monkeypatch):
    from diplostance.spark_engine import SparkUnavailable, require_pyspark

    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark -> ImportError
    with pytest.raises(SparkUnavailable, match=r"pip install 'diplostance\[spark\]'"):
        require_pyspark()
    args = [
        "predict",
        str(EXAMPLES_DIR),
        "--crisis",
        "venezuela-2019",
        "--model",
        MODEL,
        "-o",
        str(tmp_path),
        "--engine",
        "spark",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "diplostance[spark]" in result.output
