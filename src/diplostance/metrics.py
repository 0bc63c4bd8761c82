"""Scores of predicted labels against gold labels, named the way MLflow runs log them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from diplostance.labels import LABELS, STANCES


def label_metrics(gold: Sequence[str], pred: Sequence[str], crises: Sequence[str] | None = None) -> dict:
    """macro_f1 (4 labels), stance_macro_f1 (the 3 stances), per-label F1, accuracy,
    confusion matrix (rows gold, columns predicted, in LABELS order), per-crisis macro-F1."""
    gold, pred = list(gold), list(pred)
    if not gold:
        return {"n": 0}
    per_label = f1_score(gold, pred, labels=list(LABELS), average=None, zero_division=0)
    out = {
        "n": len(gold),
        "macro_f1": float(f1_score(gold, pred, labels=list(LABELS), average="macro", zero_division=0)),
        "stance_macro_f1": float(f1_score(gold, pred, labels=list(STANCES), average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(gold, pred)),
        "f1": {label: float(v) for label, v in zip(LABELS, per_label, strict=False)},
        "confusion": confusion_matrix(gold, pred, labels=list(LABELS)).tolist(),
    }
    if crises is not None:
        crises = np.asarray(list(crises))
        out["per_crisis_macro_f1"] = {
            c: float(
                f1_score(
                    np.asarray(gold)[crises == c],
                    np.asarray(pred)[crises == c],
                    labels=list(LABELS),
                    average="macro",
                    zero_division=0,
                )
            )
            for c in sorted(set(crises))
        }
    return out


def flat_metrics(prefix: str, m: dict) -> dict[str, float]:
    """MLflow metric names: val_macro_f1, test_unseen_f1_none, ..."""
    if not m.get("n"):
        return {}
    out = {f"{prefix}_{k}": m[k] for k in ("macro_f1", "stance_macro_f1", "accuracy")}
    out.update({f"{prefix}_f1_{label.replace('-', '_')}": v for label, v in m["f1"].items()})
    out[f"{prefix}_n"] = float(m["n"])
    return out


def detection_scores(
    gold: list[list[tuple[int, int, str]]],
    found: list[list[tuple[int, int, str]]],
    optional: list[set[tuple[int, int]]] | None = None,
) -> dict:
    """Precision/recall of detected spans per sentence: a hit overlaps a gold span of the
    same entity; gold spans flagged optional may be missed without penalty."""
    tp_found = n_found = tp_gold = n_gold = 0
    for i, (g, f) in enumerate(zip(gold, found, strict=False)):
        opt = optional[i] if optional else set()
        for s, e, ent in f:
            n_found += 1
            tp_found += any(s < ge and gs < e and ent == gent for gs, ge, gent in g)
        for gs, ge, gent in g:
            hit = any(s < ge and gs < e and ent == gent for s, e, ent in f)
            if (gs, ge) in opt and not hit:
                continue
            n_gold += 1
            tp_gold += hit
    precision = tp_found / n_found if n_found else 1.0
    recall = tp_gold / n_gold if n_gold else 1.0
    return {"precision": precision, "recall": recall, "found": n_found, "gold": n_gold}
