"""Score a model on labeled examples and build the reports a run keeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from diplostance.corpus import Example, GoldMention
from diplostance.crises import Registry
from diplostance.features import MODEL_INPUT
from diplostance.labels import LABELS
from diplostance.metrics import label_metrics
from diplostance.plots import png
from diplostance.splits import mention_rows

Predictor = Callable[[pd.DataFrame], pd.DataFrame]


def mention_table(examples: list[Example], registry: Registry | None) -> pd.DataFrame:
    return pd.DataFrame(mention_rows(examples, registry))


def predict_examples(
    predict: Predictor, examples: list[Example], registry: Registry | None, batch_size: int = 4096
) -> pd.DataFrame:
    """The mention table of the examples with the model's output columns added. Batches
    end on sentence boundaries: a model may read a mention with its sentence's others."""
    table = mention_table(examples, registry)
    if table.empty:
        return table
    model_input = table[list(MODEL_INPUT)]
    first_rows = (table["sentence_id"] != table["sentence_id"].shift()).to_numpy().nonzero()[0]
    cuts, last = [0], 0
    for row in first_rows[1:]:
        if row - last >= batch_size:
            cuts.append(row)
            last = row
    cuts.append(len(table))
    outputs = [predict(model_input.iloc[a:b].reset_index(drop=True)) for a, b in zip(cuts, cuts[1:], strict=False)]
    out = pd.concat(outputs, ignore_index=True)
    return pd.concat([table.reset_index(drop=True), out.rename(columns={"label": "predicted"})], axis=1)


def score(predicted: pd.DataFrame) -> dict:
    if predicted.empty:
        return {"n": 0}
    return label_metrics(predicted["label"], predicted["predicted"], predicted["crisis"])


def misclassified(predicted: pd.DataFrame, limit: int = 1000) -> pd.DataFrame:
    wrong = predicted[predicted["label"] != predicted["predicted"]]
    cols = ["mention_id", "crisis", "text", "entity", "label", "predicted", "confidence", "sentence"]
    return wrong[cols].head(limit).reset_index(drop=True)


def confusion_png(metrics: dict, title: str, path: Path) -> Path:
    matrix = metrics["confusion"]
    short = ["incumbent", "challenger", "dialogue", "none"]
    with png(path, (5.2, 4.4)) as ax:
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(LABELS)), short, rotation=30, ha="right")
        ax.set_yticks(range(len(LABELS)), short)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        peak = max(max(r) for r in matrix) or 1
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                ax.text(j, i, str(v), ha="center", va="center", color="white" if v > peak / 2 else "black")
        ax.set_title(f"{title}  macro-F1 {metrics['macro_f1']:.3f}")
    return path


def report_text(name: str, m: dict) -> str:
    if not m.get("n"):
        return f"{name}: no mentions\n"
    lines = [
        f"{name}: {m['n']} mentions, macro-F1 {m['macro_f1']:.3f}, "
        f"stance macro-F1 {m['stance_macro_f1']:.3f}, accuracy {m['accuracy']:.3f}"
    ]
    lines += [f"  F1 {label:<22} {v:.3f}" for label, v in m["f1"].items()]
    for crisis, v in m.get("per_crisis_macro_f1", {}).items():
        lines.append(f"  crisis {crisis:<30} macro-F1 {v:.3f}")
    return "\n".join(lines) + "\n"


def detect_and_score(predict: Predictor, examples: list[Example], registry: Registry | None) -> dict:
    """End to end: find mentions in each sentence, classify them, compare with gold.

    Detection counts a found span as right when it overlaps a gold span of the same
    entity; a labeled mention is right when, in addition, the predicted label is gold's.
    """
    from diplostance.mentions import find_mentions
    from diplostance.metrics import detection_scores

    detected = [
        replace(ex, mentions=tuple(GoldMention(d.text, d.start, d.end, d.entity, None) for d in find_mentions(ex.sentence)))
        for ex in examples
    ]
    predicted = predict_examples(predict, [ex for ex in detected if ex.mentions], registry)
    labels_found: dict[str, list[tuple[int, int, str]]] = {}
    for r in predicted.itertuples(index=False):
        labels_found.setdefault(r.sentence_id, []).append((r.start, r.end, f"{r.entity}/{r.predicted}"))
    optional = [{(m.start, m.end) for m in ex.mentions if m.optional} for ex in examples]
    detection = detection_scores(
        [[(m.start, m.end, m.entity) for m in ex.mentions] for ex in examples],
        [[(m.start, m.end, m.entity) for m in ex.mentions] for ex in detected],
        optional,
    )
    labeled = detection_scores(
        [[(m.start, m.end, f"{m.entity}/{m.label}") for m in ex.mentions] for ex in examples],
        [labels_found.get(ex.id, []) for ex in examples],
        optional,
    )
    p, r = labeled["precision"], labeled["recall"]
    labeled["f1"] = 2 * p * r / (p + r) if p + r else 0.0
    return {"detection": detection, "labeled_mentions": labeled}


def write_predicted_rows(path: Path, examples: list[Example], predicted: pd.DataFrame) -> None:
    """The input rows again, each mention with the predicted `label` and its `scores`
    (a gold label, if the row had one, is kept as `gold_label`). Written atomically."""
    import json
    import os

    from diplostance.models.base import PROB_COLUMNS

    mentions: dict[tuple[str, int, int], dict] = {}
    for r in predicted.to_dict("records"):
        mentions[(r["sentence_id"], r["start"], r["end"])] = {
            "label": r["predicted"],
            "scores": {label: round(float(r[col]), 6) for label, col in zip(LABELS, PROB_COLUMNS, strict=False)},
        }
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for ex in examples:
            row = dict(ex.raw)
            out = []
            for m in ex.raw["mentions"]:
                m = dict(m)
                if m.get("label") is not None:
                    m["gold_label"] = m["label"]
                m.update(mentions[(ex.id, m["start"], m["end"])])
                out.append(m)
            row["mentions"] = out
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
