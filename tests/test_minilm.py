"""The minilm family: input units, a tiny real fine-tune through train(), MLflow round trip
without torch, and int8 vs fp32 agreement on the corpus's test mentions."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import row, write_jsonl
from diplostance.encoding import EncodingOptions
from diplostance.features import normalize_mentions
from diplostance.models.minilm import MiniLMModel, build_units, mark_sentence, sentence_units

SENTENCE = "Russia and Cuba backed Maduro, while Canada recognized Juan Guaido."
MENTIONS = [("Russia", "RUS", "supports-incumbent"), ("Cuba", "CUB", "supports-incumbent"),
            ("Canada", "CAN", "recognizes-challenger")]


def _table(rows) -> pd.DataFrame:
    out = []
    for r in rows:
        for m in r["mentions"]:
            out.append({"sentence": r["sentence"], "start": m["start"], "end": m["end"], "incumbent": r["incumbent"],
                        "challenger": r["challenger"], "incumbent_aliases": ["Maduro"], "challenger_aliases": ["Guaido"],
                        "entity": m["entity"], "crisis_country": "VEN", "label": m["label"]})
    return normalize_mentions(pd.DataFrame(out))


def test_per_sentence_marks_every_mention_once_and_points_rows_at_their_marker():
    df = _table([row("a", SENTENCE, MENTIONS)])
    units = sentence_units(df, EncodingOptions())
    assert units.texts == ["[ENT] Russia [/ENT] and [ENT] Cuba [/ENT] backed [INCUMBENT], "
                           "while [ENT] Canada [/ENT] recognized [CHALLENGER]."]
    assert units.wanted == [(0, 0), (0, 1), (0, 2)] and units.pool_token == "[ENT]"
    # row order does not matter: each row still points at its own marker
    shuffled = sentence_units(df.iloc[[2, 0, 1]].reset_index(drop=True), EncodingOptions())
    assert shuffled.wanted == [(0, 2), (0, 0), (0, 1)]


def test_per_sentence_groups_by_sentence_and_roles():
    other = row("b", "Cuba called for dialogue.", [("Cuba", "CUB", "calls-for-dialogue")])
    df = _table([row("a", SENTENCE, MENTIONS), other])
    units = build_units(df, {"mode": "per_sentence"})
    assert len(units.texts) == 2 and units.wanted[-1] == (1, 0)


def test_overlapping_mentions_share_the_outer_marker():
    text, kept = mark_sentence("The UN Security Council met.", {(4, 6), (4, 23)}, (), (), EncodingOptions())
    assert kept == [(4, 23)] and text == "The [ENT] UN Security Council [/ENT] met."


def test_per_mention_reads_the_target_marker():
    df = _table([row("a", SENTENCE, MENTIONS)])
    units = build_units(df, {"mode": "per_mention", "mark_target": True})
    assert len(units.texts) == 3 and units.pool_token == "[TGT]"
    assert units.texts[2].count("[TGT]") == 1 and "[TGT] Canada [/TGT]" in units.texts[2]


def test_role_swap_exchanges_placeholders_and_sided_labels():
    from diplostance.labels import LABEL2ID
    from diplostance.models.minilm import Units, role_swapped

    units = Units(["[ENT] Peru [/ENT] backed [INCUMBENT].", "[ENT] Chile [/ENT] met."], [(0, 0), (1, 0)], "[ENT]")
    out, y = role_swapped(units, np.array([LABEL2ID["supports-incumbent"], LABEL2ID["none"]]))
    assert out.texts[2] == "[ENT] Peru [/ENT] backed [CHALLENGER]." and len(out.texts) == 3  # no side named: no copy
    assert out.wanted[2] == (2, 0) and y.tolist()[2] == LABEL2ID["recognizes-challenger"]


def test_role_context_describes_each_side_from_its_descriptive_aliases():
    from diplostance.models.minilm import role_context

    incumbent = ("Manuel Zelaya", "Zelaya", "the ousted president", "the constitutional president", "the HAT")
    challenger = ("Roberto Micheletti", "the de facto government", "Micheletti's government")
    assert role_context(incumbent, challenger) == (
        "[INCUMBENT] ousted president, constitutional president ; [CHALLENGER] de facto government [SEP] ")
    assert role_context(("Nicolas Maduro", "Maduro"), ("Juan Guaido",)) == ""  # names only: no context


def test_role_context_prefixes_every_text_and_keeps_rows_on_their_markers():
    rows = [row("a", SENTENCE, MENTIONS)]
    df = _table(rows)
    df["challenger_aliases"] = [["Guaido", "the opposition leader"]] * len(df)
    plain = sentence_units(df, EncodingOptions())
    framed = build_units(df, {"mode": "per_sentence", "role_context": True})
    assert framed.texts == ["[INCUMBENT] ; [CHALLENGER] opposition leader [SEP] " + plain.texts[0]]
    assert framed.wanted == plain.wanted
    per_mention = build_units(df, {"mode": "per_mention", "role_context": True})
    assert all(t.startswith("[INCUMBENT] ; [CHALLENGER] opposition leader [SEP] ") for t in per_mention.texts)


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown mode"):
        MiniLMModel({"mode": "per_word"})


def test_importing_the_family_does_not_import_torch():
    code = "import sys; import diplostance.models.minilm; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ real fine-tunes

COUNTRIES = [("Russia", "RUS"), ("Cuba", "CUB"), ("Canada", "CAN"), ("Brazil", "BRA"), ("Spain", "ESP"),
             ("China", "CHN"), ("Mexico", "MEX"), ("Peru", "PER"), ("Turkey", "TUR"), ("Chile", "CHL")]
TEMPLATES = [
    ("{a} backed Maduro, while {b} recognized Juan Guaido as interim president.",
     ("supports-incumbent", "recognizes-challenger")),
    ("{a} recognized Guaido, and {b} called for dialogue between the two sides.",
     ("recognizes-challenger", "calls-for-dialogue")),
    ("{a} urged a peaceful, negotiated solution as {b} condemned the coup attempt against Maduro.",
     ("calls-for-dialogue", "supports-incumbent")),
    ("Diplomats from {a} met in Caracas; {b} expressed support for the Maduro government.", ("none", "supports-incumbent")),
]


def tiny_rows(n: int = 40) -> list[dict]:
    rows = []
    for i in range(n):
        template, labels = TEMPLATES[i % len(TEMPLATES)]
        (a, ea), (b, eb) = COUNTRIES[i % len(COUNTRIES)], COUNTRIES[(3 * i + 1) % len(COUNTRIES)]
        if a == b:
            b, eb = COUNTRIES[(i + 5) % len(COUNTRIES)]
        sentence = template.format(a=a, b=b)
        crisis = "myanmar-2021" if i % 5 == 4 else "venezuela-2019"
        if crisis == "myanmar-2021":
            for old, new in (("Juan Guaido", "the NUG"), ("Guaido", "the NUG"), ("Maduro", "the junta"), ("Caracas", "Yangon")):
                sentence = sentence.replace(old, new)
        rows.append(row(f"t{i:03d}", sentence, [(a, ea, labels[0]), (b, eb, labels[1])], crisis=crisis))
    return rows


def _config(tmp_path, registry_path, mode: str, **model) -> dict:
    from diplostance.config import load_config

    data = write_jsonl(tmp_path / "tiny.jsonl", tiny_rows())
    overrides = [f"data.paths=[{data}]", f"data.registry={registry_path}", f"model.mode={mode}", "model.epochs=4",
                 "model.batch_size=4", "model.max_length=64", "model.lr=2e-4", "experiment=minilm-test"]
    overrides += [f"model.{k}={v}" for k, v in model.items()]
    return load_config(model="minilm", overrides=overrides)


PREDICT_WITHOUT_TORCH = """
import json, sys
import mlflow, pandas as pd
rows = json.loads(sys.stdin.read())
out = mlflow.pyfunc.load_model(sys.argv[1]).predict(pd.DataFrame(rows))
print(json.dumps({"torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules,
                  "out": out.to_dict(orient="list")}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["per_mention", "per_sentence"])
def test_tiny_fine_tune_through_the_pipeline_then_mlflow_predicts_without_torch(tmp_path, registry_path, monkeypatch, mode):
    import mlflow
    from mlflow.tracking import MlflowClient

    from diplostance.training import train

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    cfg = _config(tmp_path, registry_path, mode)
    summary = train(cfg)

    client = MlflowClient()
    # per-epoch validation curve under the usual name, then the int8 score at the last step
    curve = client.get_metric_history(summary["run_id"], "val_macro_f1")
    assert {1, 2, 3} <= {m.step for m in curve}
    run = client.get_run(summary["run_id"])
    assert run.data.metrics["val_int8_agreement"] >= 0.0
    assert "test_unseen_macro_f1" in run.data.metrics
    assert str(client.get_model_version_by_alias("diplostance", "minilm").version) == str(summary["version"])
    assert summary["metrics"]["train"]["accuracy"] >= 0.6  # it learned something in a few dozen steps

    table = pd.DataFrame(
        [{k: v for k, v in r.items() if k not in ("label", "mention_id", "sentence_id", "crisis", "text")}
         for r in _table(tiny_rows()[:6]).to_dict(orient="records")]
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    done = subprocess.run([sys.executable, "-c", PREDICT_WITHOUT_TORCH, summary["model_uri"]],
                          input=table.to_json(orient="records"), capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False and result["transformers"] is False
    out = pd.DataFrame(result["out"])
    assert len(out) == len(table)
    probs = out[[c for c in out.columns if c.startswith("prob_")]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

    # the same model loaded in-process gives the same output, and row order does not matter
    model = mlflow.pyfunc.load_model(summary["model_uri"])
    again = model.predict(table)
    np.testing.assert_allclose(again[probs_cols(again)].to_numpy(), probs, atol=1e-6)
    order = [5, 3, 1, 0, 2, 4]
    shuffled = model.predict(table.iloc[order].reset_index(drop=True))
    np.testing.assert_allclose(shuffled[probs_cols(again)].to_numpy(), probs[order], atol=1e-5)


def probs_cols(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("prob_")]


@pytest.mark.slow
def test_int8_graph_agrees_with_fp32_torch_on_the_corpus_test_mentions():
    """Fine-tune the default config on the corpus's training split (the model `make train
    MODEL=minilm` registers, ~2 minutes here), then compare the labels of the int8 ONNX
    graph with those of the fp32 torch model on every test mention (seen and unseen
    crises). Int8 that is too coarse fails this: one activation scale per tensor
    (quantization=per_tensor) agreed on only ~96% (docs/benchmarks.md)."""
    from diplostance.config import load_config
    from diplostance.corpus import jsonl_files, load_examples
    from diplostance.crises import load_registry
    from diplostance.evaluation import mention_table
    from diplostance.splits import split_examples
    from diplostance.training import resolve

    cfg = load_config(model="minilm")
    try:
        registry = load_registry(resolve(cfg["data"]["registry"]))
        examples = load_examples(jsonl_files([resolve(p) for p in cfg["data"]["paths"]]), registry=registry)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no usable corpus: {exc}")
    parts = split_examples(examples, registry)
    test = mention_table(parts["test_seen"] + parts["test_unseen"], registry)
    if len(test) < 200:
        pytest.skip("corpus too small for a 99% agreement check")
    train_table = mention_table(parts["train"], registry)
    model = MiniLMModel({k: v for k, v in cfg["model"].items() if k != "family"})
    model.fit(train_table, list(train_table["label"]))
    int8 = model.predict(test)["label"].to_numpy()
    fp32 = model.predict_fp32(test)["label"].to_numpy()  # same orientation and home rule, fp32 torch
    agreement = float(np.mean(int8 == fp32))
    assert agreement >= 0.99, f"int8 vs fp32 label agreement {agreement:.4f} on {len(test)} test mentions"
