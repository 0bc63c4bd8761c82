"""The model input table and the text views built from it.

Every model family takes the same table of mentions (one row per mention) and sees it
through :func:`encoded_texts`, so encoding choices live in one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import fields

import numpy as np
import pandas as pd

from diplostance.encoding import TGT_CLOSE, TGT_OPEN, EncodingOptions, _with_surname, encode
from diplostance.orientation import parse_in_power, side_in_power

REQUIRED_COLUMNS = ("sentence", "start", "end", "incumbent", "challenger")
OPTIONAL_COLUMNS = ("incumbent_aliases", "challenger_aliases", "entity", "crisis_country", "in_power", "other_spans")
# What callers pass to a logged model (the MLflow signature: other_spans is in-process only).
MODEL_INPUT = REQUIRED_COLUMNS + OPTIONAL_COLUMNS[:5]


class InputError(ValueError):
    """The mention table is not usable; the message says which row and why."""


def _as_list(value) -> list[str]:
    """Alias lists arrive as lists, numpy arrays (Arrow/Spark), JSON strings or nothing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return []
        if value.startswith("["):
            return [str(v) for v in json.loads(value)]
        return [v.strip() for v in value.split("|") if v.strip()]
    return [str(v) for v in value]


def normalize_mentions(table: pd.DataFrame) -> pd.DataFrame:
    """Check the input table and return a clean copy with every column present."""
    if not isinstance(table, pd.DataFrame):
        table = pd.DataFrame(table)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"input is missing column(s): {', '.join(missing)}")
    df = table.reset_index(drop=True).copy()
    for col in OPTIONAL_COLUMNS:
        if col not in df.columns:
            df[col] = None
    for i, r in enumerate(df.itertuples(index=False)):
        sentence = r.sentence
        if not isinstance(sentence, str):
            raise InputError(f"row {i}: 'sentence' must be a string")
        try:
            start, end = int(r.start), int(r.end)
        except (TypeError, ValueError):
            raise InputError(f"row {i}: 'start' and 'end' must be integers") from None
        if not 0 <= start < end <= len(sentence):
            raise InputError(f"row {i}: span {start}-{end} is outside the sentence (length {len(sentence)})")
    df["start"] = df["start"].astype(int)
    df["end"] = df["end"].astype(int)
    for col in ("incumbent", "challenger", "entity", "crisis_country"):
        df[col] = df[col].fillna("").astype(str)
    for col in ("incumbent_aliases", "challenger_aliases"):
        df[col] = [_as_list(v) for v in df[col]]
    # in_power: given (incumbent | challenger), else read from the sides' aliases
    sides: dict[tuple, str] = {}  # rows of one crisis share their answer
    in_power = []
    for i, r in enumerate(df.itertuples(index=False)):
        try:
            g = parse_in_power(r.in_power)
        except ValueError as exc:
            raise InputError(f"row {i}: {exc}") from None
        key = (g, r.incumbent, tuple(r.incumbent_aliases), r.challenger, tuple(r.challenger_aliases))
        if key not in sides:
            sides[key] = side_in_power(g, (r.incumbent, *r.incumbent_aliases), (r.challenger, *r.challenger_aliases))
        in_power.append(sides[key])
    df["in_power"] = in_power
    return df


def sentence_spans(df: pd.DataFrame) -> list[tuple[tuple[int, int], ...]]:
    """For each row, the spans of every mention of the same sentence in the table."""
    if "other_spans" in df.columns and df["other_spans"].notna().all():
        return [tuple((int(a), int(b)) for a, b in spans) for spans in df["other_spans"]]
    spans: dict[str, list[tuple[int, int]]] = {}
    for s, a, b in zip(df["sentence"], df["start"], df["end"], strict=False):
        spans.setdefault(s, []).append((a, b))
    return [tuple(sorted(set(spans[s]))) for s in df["sentence"]]


def encoded_texts(df: pd.DataFrame, options: EncodingOptions) -> list[str]:
    """The encoded text of each mention row (normalised table expected)."""
    others = sentence_spans(df)
    texts = []
    for r, other in zip(df.itertuples(index=False), others, strict=False):
        inc = _with_surname(r.incumbent, tuple(r.incumbent_aliases)) if r.incumbent else tuple(r.incumbent_aliases)
        chal = _with_surname(r.challenger, tuple(r.challenger_aliases)) if r.challenger else tuple(r.challenger_aliases)
        texts.append(encode(r.sentence, r.start, r.end, inc, chal, others=other, options=options))
    return texts


def home_mask(df: pd.DataFrame) -> np.ndarray:
    """True where the mention is the crisis country itself (always `none`, LABELING.md)."""
    return ((df["entity"] != "") & (df["entity"] == df["crisis_country"])).to_numpy()


# Clause boundaries: a contrast or a new main clause usually starts a new stance holder.
_CLAUSE_BREAK = re.compile(
    r";|\s[-\u2013\u2014]\s|,?\s+(?:while|whereas|but|although|though|even as|unlike|meanwhile)\s+",
    re.IGNORECASE,
)


def target_clause(text: str) -> str:
    """The clause of an encoded text that holds the [TGT] marker."""
    pos = text.find(TGT_OPEN)
    if pos < 0:
        return text
    end_target = text.find(TGT_CLOSE, pos) + len(TGT_CLOSE)
    starts = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(text) if m.end() <= pos]
    stops = [m.start() for m in _CLAUSE_BREAK.finditer(text) if m.start() >= end_target] + [len(text)]
    return text[max(starts) : min(stops)]


def clause_views(texts: Sequence[str]) -> list[str]:
    return [target_clause(t) for t in texts]


def options_from(config: dict) -> EncodingOptions:
    names = {f.name for f in fields(EncodingOptions)}
    return EncodingOptions(**{k: v for k, v in (config or {}).items() if k in names})

