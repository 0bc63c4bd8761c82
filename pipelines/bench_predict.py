"""Batch inference benchmark: end-to-end mentions/s and peak memory per model family,
and how the time grows with the input size.

    python pipelines/bench_predict.py [--models rules,tfidf,minilm,blend] [--sizes 250,1000,4000] [--write docs/benchmarks.md]

Articles are built from the corpus sentences (8 a article, crisis given per article) and
written as JSONL; each measurement runs `diplostance predict`'s library entry point in a
fresh process so that its peak RSS is its own. Models come from the MLflow store
(MLFLOW_TRACKING_URI or the project's mlflow.db) by alias: train them first.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTION = "## Batch inference"
SENTENCES_PER_ARTICLE = 8


def build_articles(n: int, path: Path) -> None:
    from diplostance.corpus import load_examples
    from diplostance.paths import LABELED_DIR

    examples = sorted(load_examples([LABELED_DIR]), key=lambda e: (e.crisis, e.id))
    by_crisis: dict[tuple, list] = {}
    for ex in examples:
        by_crisis.setdefault((ex.crisis, ex.incumbent, ex.challenger), []).append(ex.sentence)
    pool = [
        (roles, sents[i : i + SENTENCES_PER_ARTICLE])
        for roles, sents in by_crisis.items()
        for i in range(0, len(sents), SENTENCES_PER_ARTICLE)
    ]
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            (crisis, incumbent, challenger), sentences = pool[i % len(pool)]
            row = {
                "id": f"a{i:06d}",
                "crisis": crisis,
                "incumbent": incumbent,
                "challenger": challenger,
                "text": " ".join(sentences),
            }
            f.write(json.dumps(row) + "\n")


def child(model_uri: str, articles: Path, out: Path) -> None:
    """Run one prediction and print its figures (in a fresh process)."""
    from diplostance.batch import PredictOptions, run_predictions
    from diplostance.crises import load_registry
    from diplostance.paths import REGISTRY_PATH
    from diplostance.tracking import load_pyfunc, model_version_of

    started = time.perf_counter()
    model = load_pyfunc(model_uri)
    load_seconds = time.perf_counter() - started
    opts = PredictOptions(
        inputs=[str(articles)], out_dir=out, model_uri=model_uri, registry=load_registry(REGISTRY_PATH), progress=False
    )
    result = run_predictions(opts, model.predict, model_version_of(model_uri))
    run = json.loads(result.run_file.read_text())
    print(
        json.dumps(
            {
                "articles": result.counts.get("articles_done", 0),
                "failed": result.failed,
                "mentions": result.counts.get("mentions", 0),
                "seconds": run["timings"]["total_seconds"],
                "load_seconds": load_seconds,
                "timings": run["timings"],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def measure(model_uri: str, articles: Path, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", model_uri, str(articles), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def available(alias: str) -> bool:
    from mlflow.tracking import MlflowClient

    from diplostance.tracking import REGISTERED_MODEL, setup

    setup()
    try:
        MlflowClient().get_model_version_by_alias(REGISTERED_MODEL, alias)
        return True
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="rules,tfidf,minilm,blend")
    ap.add_argument("--sizes", default="250,1000,4000", help="article counts; the family comparison uses 1000")
    ap.add_argument("--scaling-model", default="tfidf")
    ap.add_argument("--write", type=Path)
    ap.add_argument("--child", nargs=3, metavar=("MODEL_URI", "ARTICLES", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {1000})
    families = [m for m in args.models.split(",") if m]
    missing = [m for m in families if not available(m)]
    families = [m for m in families if m not in missing]
    rows, scaling = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in sizes:
            build_articles(n, tmp / f"articles-{n}.jsonl")
        for family in families:
            r = measure(f"models:/diplostance@{family}", tmp / "articles-1000.jsonl", tmp / f"out-{family}")
            rows.append((family, r))
            print(family, r, file=sys.stderr)
        if args.scaling_model in families:
            for n in sizes:
                r = measure(f"models:/diplostance@{args.scaling_model}", tmp / f"articles-{n}.jsonl", tmp / f"scale-{n}")
                scaling.append((n, r))
                print(n, r, file=sys.stderr)
    cmd = "python pipelines/bench_predict.py --write docs/benchmarks.md"
    lines = [
        SECTION,
        "",
        f"Command: `{cmd}` (after `make train MODEL=...` for each family).",
        "",
        f"End to end (`diplostance predict` on JSONL articles of {SENTENCES_PER_ARTICLE} corpus sentences each: reading, sentence"
        " splitting, mention detection, classification through the MLflow pyfunc, aggregation, writing), one fresh process"
        " per row; peak memory is the process's peak RSS.",
        "",
        "| model | articles | mentions | seconds | mentions/s | detect s | classify s | write s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for family, r in rows:
        t = r["timings"]
        lines.append(
            f"| {family} | {r['articles']} | {r['mentions']} | {r['seconds']:.1f} | {r['mentions'] / r['seconds']:.0f} | "
            f"{t.get('detect_seconds', 0):.1f} | {t.get('classify_seconds', 0):.1f} | {t.get('write_seconds', 0):.1f} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    if missing:
        lines += ["", f"Not measured (no model registered under that alias): {', '.join(missing)}."]
    if scaling:
        base_n, base = scaling[0]
        lines += [
            "",
            f"Growth with input size ({args.scaling_model}):",
            "",
            "| articles | mentions | seconds | seconds per 1,000 articles | peak RSS MB |",
            "|---:|---:|---:|---:|---:|",
        ]
        for n, r in scaling:
            lines.append(
                f"| {n} | {r['mentions']} | {r['seconds']:.1f} | {1000 * r['seconds'] / n:.2f} | {r['peak_rss_mb']:.0f} |"
            )
    block = "\n".join(lines) + "\n"
    print(block)
    if args.write:
        sys.path.insert(0, str(Path(__file__).parent))
        from benchdoc import write_section

        write_section(args.write, SECTION, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
