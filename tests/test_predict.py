"""Batch inference through the real CLI, the real detector and a real trained model."""

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from diplostance.articles import html_to_text, read_articles
from diplostance.cli import app
from diplostance.inference import article_stances
from diplostance.outputs import read_table
from diplostance.paths import EXAMPLES_DIR, LABELED_DIR

MODEL = "models:/diplostance@tfidf"
VENEZUELA = ["--incumbent", "Nicolas Maduro", "--challenger", "Juan Guaido", "--incumbent-alias", "Maduro", "--country", "VEN"]


def run(*args, input=None):
    return CliRunner().invoke(app, ["predict", *map(str, args)], input=input)


def example_ids():
    return {a.id for a in read_articles([str(EXAMPLES_DIR)])}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_examples_end_to_end(trained_store, tmp_path, fmt):
    result = run(EXAMPLES_DIR, "--crisis", "venezuela-2019", "--model", MODEL, "-o", tmp_path, "--format", fmt)
    assert result.exit_code == 0, result.output
    mentions = read_table(tmp_path / f"mentions.{fmt}")
    articles = read_table(tmp_path / f"articles.{fmt}")
    run_info = json.loads((tmp_path / "run.json").read_text())
    # every article is in the output; counts agree with the tables
    assert set(articles["article_id"]) == example_ids()
    assert run_info["counts"]["mentions"] == len(mentions) > 20
    assert run_info["counts"]["articles_failed"] == 0
    assert (tmp_path / "stances.png").stat().st_size > 1000
    # offsets point into the article text
    texts = {a.id: a.text for a in read_articles([str(EXAMPLES_DIR)])}
    for r in mentions.itertuples():
        assert texts[r.article_id][r.start : r.end] == r.mention
    # the article table aggregates the mention table
    for r in articles.itertuples():
        if r.entity:
            group = mentions[(mentions.article_id == r.article_id) & (mentions.entity == r.entity)]
            assert r.mentions == len(group) and r.supporting_mentions == (group.label == r.stance).sum()
    assert "Entities by stance" in result.output


def test_output_is_deterministic(trained_store, tmp_path):
    for name in ("a", "b"):
        assert run(EXAMPLES_DIR, *VENEZUELA, "--model", MODEL, "-o", tmp_path / name).exit_code == 0
    for table in ("mentions.jsonl", "articles.jsonl", "summary.csv"):
        assert (tmp_path / "a" / table).read_bytes() == (tmp_path / "b" / table).read_bytes()


def test_bad_inputs_are_reported_and_the_run_goes_on(trained_store, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(EXAMPLES_DIR / "venezuela-recognitions.txt", inputs / "good.txt")
    (inputs / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (inputs / "empty.md").write_text("  \n")
    (inputs / "latin1.txt").write_bytes("Caf\u00e9 in Bogot\u00e1: Colombia backed Guaido.".encode("latin-1"))
    (inputs / "huge.txt").write_text("Russia backed Maduro. " * 60_000)
    (inputs / "rows.jsonl").write_text('{"id": "ok-1", "text": "Cuba backed Maduro."}\n{"id": "bad"\n{"id": "no-text"}\n')
    out = tmp_path / "out"
    result = run(inputs, *VENEZUELA, "--model", MODEL, "-o", out)
    assert result.exit_code == 1
    errors = {e["source"].split("/")[-1]: e["reason"] for e in map(json.loads, (out / "errors.jsonl").read_text().splitlines())}
    assert "binary" in errors["binary.txt"]
    assert "empty" in errors["empty.md"]
    assert "not UTF-8" in errors["latin1.txt"]
    assert "too large" in errors["huge.txt"]
    assert "bad JSON" in errors["rows.jsonl:2"] and "missing 'text'" in errors["rows.jsonl:3"]
    articles = read_table(out / "articles.jsonl")
    assert set(articles["article_id"]) == {"good", "ok-1"}
    counts = json.loads((out / "run.json").read_text())["counts"]
    assert counts["articles_done"] == 2 and counts["articles_failed"] == 6


def test_resume_after_a_crash_gives_the_same_output(trained_store, tmp_path):
    import mlflow

    from diplostance.batch import PredictOptions, run_predictions
    from diplostance.inference import roles_from

    model = mlflow.pyfunc.load_model(MODEL)
    roles = roles_from(None, None, incumbent="Nicolas Maduro", challenger="Juan Guaido")
    calls = []

    def crash_on_third_batch(table):
        calls.append(len(table))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return model.predict(table)

    def options(out, resume):
        return PredictOptions(
            inputs=[str(EXAMPLES_DIR)], out_dir=out, model_uri=MODEL, roles=roles, resume=resume, batch_articles=1, progress=False
        )

    fresh = run_predictions(options(tmp_path / "fresh", False), model.predict)
    with pytest.raises(KeyboardInterrupt):
        run_predictions(options(tmp_path / "crash", False), crash_on_third_batch)
    assert not list((tmp_path / "crash").glob("mentions.*"))  # no half-written table
    resumed = run_predictions(options(tmp_path / "crash", True), model.predict)
    assert resumed.counts["articles_resumed"] == 2
    for table in ("mentions.jsonl", "articles.jsonl"):
        assert (tmp_path / "crash" / table).read_bytes() == (tmp_path / "fresh" / table).read_bytes()
    assert fresh.counts["articles_done"] == resumed.counts["articles_done"] + 2


def test_stdin_and_unknown_crisis_from_names(trained_store, tmp_path):
    text = "LIMA, Dec 8 - Mexico said it still regarded Pedro Castillo as president, while Washington recognized Dina Boluarte."
    result = run(
        "-", "--incumbent", "Pedro Castillo", "--challenger", "Dina Boluarte", "--model", MODEL, "-o", tmp_path, input=text
    )
    assert result.exit_code == 0, result.output
    mentions = read_table(tmp_path / "mentions.jsonl")
    assert list(mentions["entity"]) == ["PER", "MEX", "USA"]
    assert set(mentions["article_id"]) == {"stdin"}


def test_missing_roles_is_a_clear_error(trained_store, tmp_path):
    result = run(EXAMPLES_DIR / "venezuela-recognitions.txt", "--model", MODEL, "-o", tmp_path)
    assert result.exit_code == 1
    reason = json.loads((tmp_path / "errors.jsonl").read_text().splitlines()[0])["reason"]
    assert "no crisis roles" in reason


def test_given_mentions_round_trip(trained_store, tmp_path):
    data = LABELED_DIR / "yemen-2015.jsonl"
    result = run(data, "--given-mentions", "--model", MODEL, "-o", tmp_path)
    assert result.exit_code == 0, result.output
    rows_in = [json.loads(line) for line in data.read_text().splitlines()]
    rows_out = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows_out] == [r["id"] for r in rows_in]
    for a, b in zip(rows_in, rows_out, strict=False):
        assert [(m["start"], m["end"]) for m in a["mentions"]] == [(m["start"], m["end"]) for m in b["mentions"]]
        assert all(
            set(m["scores"]) == {"supports-incumbent", "recognizes-challenger", "calls-for-dialogue", "none"}
            for m in b["mentions"]
        )


def test_html_main_text_only():
    title, text = html_to_text((EXAMPLES_DIR / "venezuela-europe.html").read_text())
    assert title.startswith("European capitals recognize Guaido")
    assert "newsletter" not in text and "analytics" not in text and "cookie" not in text
    assert text.count("\n\n") == 4  # h1 + 4 paragraphs


def test_article_stance_is_the_most_expressed_and_none_only_without_stance():
    rows = [
        ("a", "RUS", "supports-incumbent", 0.9, "s1"),
        ("a", "RUS", "none", 0.99, "s2"),
        ("a", "RUS", "supports-incumbent", 0.6, "s3"),
        ("a", "USA", "none", 0.8, "s1"),
        ("a", "USA", "none", 0.7, "s2"),
        ("a", "MEX", "calls-for-dialogue", 0.7, "s4"),
        ("a", "MEX", "recognizes-challenger", 0.9, "s5"),
    ]
    frame = pd.DataFrame(rows, columns=["article_id", "entity", "label", "confidence", "sentence"]).assign(
        crisis="c", entity_name="x"
    )
    out = article_stances(frame, {"a": "T"}).set_index("entity")
    assert out.loc["RUS", "stance"] == "supports-incumbent" and out.loc["RUS", "supporting_mentions"] == 2
    assert out.loc["RUS", "evidence_sentence"] == "s1"
    assert out.loc["USA", "stance"] == "none"
    assert out.loc["MEX", "stance"] == "recognizes-challenger"  # tie on count, more confident


def test_batches_of_labeled_examples_never_split_a_sentence(registry):
    from diplostance.corpus import Example, GoldMention
    from diplostance.evaluation import predict_examples

    examples = [
        Example(
            f"s{i}",
            "venezuela-2019",
            "Russia, Cuba and Iran backed Maduro.",
            tuple(
                GoldMention(t, a, b, e, "supports-incumbent")
                for t, a, b, e in (("Russia", 0, 6, "RUS"), ("Cuba", 8, 12, "CUB"), ("Iran", 17, 21, "IRN"))
            ),
            "Nicolas Maduro",
            "Juan Guaido",
        )
        for i in range(5)
    ]
    batches = []

    def record(table):
        batches.append(len(table))
        return pd.DataFrame({"label": ["none"] * len(table), "confidence": [1.0] * len(table)})

    out = predict_examples(record, examples, registry, batch_size=4)
    assert batches == [6, 6, 3] and len(out) == 15  # cut only where a sentence ends
