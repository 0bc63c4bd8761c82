"""Benchmark the minilm family against its targets, side by side in one run, and write
the "## MiniLM" section of docs/benchmarks.md.

    python pipelines/bench_minilm.py [--modes per_sentence,per_mention] [--write docs/benchmarks.md]

What one invocation does, on the current corpus snapshot:
1. trains `tfidf` and each minilm mode through `diplostance.training.train` (tracked MLflow
   runs named bench-*, not registered, so the champion is untouched); minilm keeps its fp32
   torch model in the logged folder (model.keep_fp32=true) for the comparisons below;
2. on the test mentions (test_seen + test_unseen), measures end-to-end mentions/s of
   - the logged pyfunc loaded through MLflow (tokenizer + int8 ONNX graph, onnxruntime),
   - transformers `pipeline("text-classification")` on the same fine-tuned fp32 model;
   both start from the same mention table and include building the model's input texts;
3. measures how often the int8 labels agree with the fp32 torch model's labels.

per_mention: the fine-tuned model reads each text at its first [TGT] token when no
gather index is given, so the pipeline runs it unchanged, one encoded mention per call.
per_sentence: a text-classification pipeline returns one label per input text, so it
cannot read several mentions from one pass; it runs the same fine-tuned per_sentence
model once per mention on that mention's sentence text (the cost of one label per
mention through the pipeline). Its labels are only meaningful for each sentence's first
mention, so pipeline/fp32 agreement is reported on those rows; the int8-vs-fp32 agreement
uses our own batched fp32 torch path on every row.
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pandas as pd
import typer

from diplostance.config import load_config
from diplostance.corpus import jsonl_files, load_examples
from diplostance.crises import load_registry
from diplostance.evaluation import mention_table
from diplostance.features import MODEL_INPUT, home_mask
from diplostance.orientation import exchange_labels
from diplostance.paths import PROJECT_ROOT
from diplostance.splits import split_examples
from diplostance.training import resolve, train

log = logging.getLogger("bench_minilm")
SECTION = "## MiniLM"


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median seconds over repeats, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def fp32_folder(model_uri: str) -> Path:
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    found = [p for p in local.rglob("fp32") if p.is_dir()]
    if not found:
        raise SystemExit(f"{model_uri}: no fp32 folder (train with model.keep_fp32=true)")
    return found[0]


def bench_mode(mode: str, exp_name: str, test: pd.DataFrame, repeats: int, overrides: list[str]) -> dict:
    import mlflow
    import torch
    from transformers import AutoTokenizer, pipeline

    from diplostance.models.minilm import MiniLMModel, build_units, export_onnx, torch_classes
    from diplostance.models.onnx_runtime import GRAPH_FILE, META_FILE, TOKENIZER_FILE

    cfg = load_config(model="minilm", experiment=f"minilm-{mode.replace('_', '-')}",
                      overrides=["register=false", "model.keep_fp32=true", f"run_name=bench-minilm-{mode}",
                                 f"experiment={exp_name}", *overrides])
    started = time.perf_counter()
    summary = train(cfg)
    wall = time.perf_counter() - started
    run = mlflow.tracking.MlflowClient().get_run(summary["run_id"])
    out = {"mode": mode, "run_id": summary["run_id"], "wall_minutes": wall / 60,
           "fit_minutes": run.data.metrics["train_seconds"] / 60, "epochs": cfg["model"]["epochs"],
           "test_unseen_macro_f1": summary["metrics"].get("test_unseen", {}).get("macro_f1"),
           "test_seen_macro_f1": summary["metrics"].get("test_seen", {}).get("macro_f1"),
           "val_macro_f1": summary["metrics"].get("validation", {}).get("macro_f1")}

    torch.set_num_threads(int(cfg["model"]["threads"]))
    pyfunc = mlflow.pyfunc.load_model(summary["model_uri"])
    pyfunc.predict(test.head(32))  # warm-up: session and allocator
    seconds, int8_out = timed(lambda: pyfunc.predict(test), repeats)
    out["int8_mentions_per_second"] = len(test) / seconds
    int8_labels = int8_out["label"].to_numpy()

    folder = fp32_folder(summary["model_uri"])
    model_cfg = {k: v for k, v in cfg["model"].items() if k != "family"}
    reference = MiniLMModel(model_cfg)
    reference.load_state(folder.parent)
    reference.load_fp32(folder)
    seconds, fp32_out = timed(lambda: reference.predict_fp32(test), 1)
    out["fp32_torch_mentions_per_second"] = len(test) / seconds
    fp32_labels = fp32_out["label"].to_numpy()
    out["agreement_int8_fp32"] = float(np.mean(int8_labels == fp32_labels))
    out["n_test"] = len(test)

    # the other int8 recipe, from the same fp32 weights: speed and agreement only
    alt = "per_tensor" if model_cfg.get("quantization", "blockwise") == "blockwise" else "blockwise"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in (TOKENIZER_FILE, META_FILE):
            (tmp / name).write_bytes((folder.parent / name).read_bytes())
        export_onnx(reference.torch_model_, tmp, quantization=alt, block_size=int(model_cfg.get("block_size", 32)))
        other = MiniLMModel({**model_cfg, "quantization": alt})
        other.load_state(tmp)
        other.predict(test.head(32))
        seconds, alt_out = timed(lambda: other.predict(test), repeats)
        out["alt_quantization"] = alt
        out["alt_mentions_per_second"] = len(test) / seconds
        out["alt_agreement"] = float(np.mean(alt_out["label"].to_numpy() == fp32_labels))
        out["alt_size_mb"] = (tmp / GRAPH_FILE).stat().st_size / 1e6
    out["size_mb"] = (folder.parent / GRAPH_FILE).stat().st_size / 1e6

    # transformers pipeline on the same fine-tuned fp32 weights
    hf_model = torch_classes()["MarkerClassifier"].from_pretrained(str(folder)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    pool_token = "[TGT]" if mode == "per_mention" else "[ENT]"
    hf_model.config.pool_token_id = tokenizer.convert_tokens_to_ids(pool_token)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # our marker model is not in the pipeline's list of known classes; it runs fine
    pipe = pipeline("text-classification", model=hf_model, tokenizer=tokenizer, device=-1)

    def run_pipeline():
        df, turned = reference.oriented(test)  # the table as the model reads it
        units = build_units(df, model_cfg)
        texts = [units.texts[u] for u, _ in units.wanted]
        predicted = np.array(exchange_labels([r["label"] for r in pipe(texts)], turned), dtype=object)
        predicted[home_mask(df)] = "none"
        return predicted, units

    pipe(["warm-up [TGT] Peru [/TGT] text [ENT] x [/ENT]"])
    seconds, (pipe_labels, units) = timed(run_pipeline, max(1, repeats // 2))
    out["pipeline_mentions_per_second"] = len(test) / seconds
    faithful = np.array([k == 0 for _, k in units.wanted]) if mode == "per_sentence" else np.ones(len(test), bool)
    out["pipeline_agreement_fp32"] = float(np.mean(pipe_labels[faithful] == fp32_labels[faithful]))
    out["pipeline_agreement_rows"] = int(faithful.sum())
    out["speedup"] = out["int8_mentions_per_second"] / out["pipeline_mentions_per_second"]
    return out


def section(results: list[dict], tfidf: dict, command: str, n_test: int, corpus: str, default_mode: str) -> str:
    tf = tfidf["test_unseen_macro_f1"]
    lines = [SECTION, "",
             f"Measured by `{command}` on {time.strftime('%Y-%m-%d')}, corpus {corpus}, {n_test} test mentions "
             "(test_seen + test_unseen), 2 CPU cores shared with other jobs (speeds vary run to run), "
             "onnxruntime and torch on 2 threads. Runs are in MLflow as `bench-*`.", "",
             "| | " + " | ".join(r["mode"] + (" (default)" if r["mode"] == default_mode else "") for r in results) + " | tfidf |",
             "|---|" + "---|" * (len(results) + 1)]

    def row(name, key, fmt, tfidf_value=""):
        vals = [format(r[key], fmt) if r.get(key) is not None else "-" for r in results]
        lines.append(f"| {name} | " + " | ".join(vals) + f" | {tfidf_value} |")

    row("test_unseen macro-F1", "test_unseen_macro_f1", ".3f", f"{tf:.3f}" if tf is not None else "-")
    for name, key in (("test_seen macro-F1", "test_seen_macro_f1"), ("validation macro-F1", "val_macro_f1")):
        row(name, key, ".3f", f"{tfidf[key]:.3f}" if tfidf.get(key) is not None else "-")
    row("epochs", "epochs", "d")
    row("training, fit + export (min)", "fit_minutes", ".1f", f"{tfidf['fit_minutes']:.2f}")
    row("whole training run (min)", "wall_minutes", ".1f", f"{tfidf['wall_minutes']:.2f}")
    row("int8 pyfunc via MLflow, mentions/s", "int8_mentions_per_second", ".0f")
    row("pipeline(\"text-classification\") fp32, mentions/s", "pipeline_mentions_per_second", ".0f")
    row("speed-up int8 pyfunc / pipeline", "speedup", ".1f")
    row("fp32 torch, our batching, mentions/s", "fp32_torch_mentions_per_second", ".0f")
    row("labels int8 = fp32 torch (share of test mentions)", "agreement_int8_fp32", ".4f")
    row("graph size (MB)", "size_mb", ".0f")
    row("per-tensor int8 (quantize_dynamic), mentions/s", "alt_mentions_per_second", ".0f")
    row("per-tensor int8 labels = fp32 torch", "alt_agreement", ".4f")
    row("pipeline labels = fp32 torch", "pipeline_agreement_fp32", ".4f")
    lines.append("")
    main = next(r for r in results if r["mode"] == default_mode)
    checks = [
        ("test_unseen macro-F1 >= 0.80", main["test_unseen_macro_f1"] is not None and main["test_unseen_macro_f1"] >= 0.80),
        ("test_unseen macro-F1 >= tfidf + 0.10",
         tf is not None and main["test_unseen_macro_f1"] is not None and main["test_unseen_macro_f1"] >= tf + 0.10),
        (">= 3x the pipeline's mentions/s", main["speedup"] >= 3),
        (">= 300 mentions/s", main["int8_mentions_per_second"] >= 300),
        ("default config trains in <= 10 min", main["wall_minutes"] <= 10),
        ("int8 labels agree with fp32 on >= 99% of test mentions", main["agreement_int8_fp32"] >= 0.99),
    ]
    verdicts = "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in checks)
    lines.append(f"Targets for the default mode ({default_mode}): {verdicts}.")
    lines += ["",
              "How the pipeline was run: per_mention, the fine-tuned model reads each encoded mention at its [TGT] token, "
              "so `pipeline(\"text-classification\", model=<fine-tuned fp32 model>)` runs it unchanged with its default "
              "batch size (one text a call). per_sentence: a text-classification pipeline gives one label per text, so it "
              "runs the same fp32 per_sentence model once per mention on the mention's sentence (what one label per mention "
              "costs through it); its labels are only meaningful for each sentence's first mention (the agreement row uses "
              "those). Both timings start from the same mention table and include building the input texts.",
              "",
              "int8 recipe: MatMulNBits 8-bit weights in blocks of 32 input channels with accuracy_level 4 (activations "
              "quantized to int8 at run time, block by block). `quantize_dynamic` (one activation scale per tensor) is "
              "faster but BERT's outlier channels make it coarse: its agreement with fp32 is in the table.", ""]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = old.splitlines()
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = lines[:start] + text.rstrip("\n").splitlines() + ([""] if end < len(lines) else []) + lines[end:]
    else:
        new = lines + ([""] if lines and lines[-1] else []) + text.rstrip("\n").splitlines()
    path.write_text("\n".join(new) + "\n", encoding="utf-8")


def main(
    modes: str = typer.Option("per_mention,per_sentence", help="Comma-separated minilm modes to train and measure"),
    write: Path = typer.Option(None, help="Markdown file whose '## MiniLM' section is rewritten"),
    repeats: int = typer.Option(3, help="Timing repeats (median)"),
    experiment: str = typer.Option("diplostance-bench", help="MLflow experiment of the bench runs"),
    overrides: list[str] = typer.Argument(None, help="Dotted overrides for the minilm runs, e.g. model.epochs=1"),
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("diplostance").setLevel(logging.INFO)
    base = load_config(model="minilm")
    default_mode = base["model"]["mode"]
    registry = load_registry(resolve(base["data"]["registry"]))
    files = jsonl_files([resolve(p) for p in base["data"]["paths"]])
    parts = split_examples(load_examples(files, registry=registry), registry)
    test = mention_table(parts["test_seen"] + parts["test_unseen"], registry)[list(MODEL_INPUT)]
    from diplostance import tracking

    corpus = f"{sum(len(p) for p in parts.values())} sentences, digest {tracking.files_digest(files)}"

    started = time.perf_counter()
    tf_cfg = load_config(model="tfidf", overrides=["register=false", "run_name=bench-tfidf", f"experiment={experiment}"])
    tf_summary = train(tf_cfg)
    tf_wall = time.perf_counter() - started
    import mlflow

    tf_run = mlflow.tracking.MlflowClient().get_run(tf_summary["run_id"])
    tfidf = {"test_unseen_macro_f1": tf_summary["metrics"].get("test_unseen", {}).get("macro_f1"),
             "test_seen_macro_f1": tf_summary["metrics"].get("test_seen", {}).get("macro_f1"),
             "val_macro_f1": tf_summary["metrics"].get("validation", {}).get("macro_f1"),
             "fit_minutes": tf_run.data.metrics["train_seconds"] / 60, "wall_minutes": tf_wall / 60}
    print(f"tfidf: test_unseen macro-F1 {tfidf['test_unseen_macro_f1']}")

    results = []
    for mode in [m.strip() for m in modes.split(",") if m.strip()]:
        r = bench_mode(mode, experiment, test, repeats, overrides or [])
        results.append(r)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
    if default_mode not in [r["mode"] for r in results]:
        default_mode = results[0]["mode"]
    command = "python pipelines/bench_minilm.py"
    command += (f" --modes {modes}" if modes != "per_mention,per_sentence" else "") + (f" --write {write}" if write else "")
    text = section(results, tfidf, command, len(test), corpus, default_mode)
    print(text)
    if write:
        write_section(write if write.is_absolute() else PROJECT_ROOT / write, text)


if __name__ == "__main__":
    typer.run(main)
