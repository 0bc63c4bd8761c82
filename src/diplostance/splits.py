"""Deterministic splits and the mention-level Hugging Face dataset.

- ``test_unseen``: every sentence of a reserved crisis (registry ``reserved: true``).
- the other sentences go whole (never split across) to ``train`` / ``validation`` /
  ``test_seen`` by a hash of their id: stable when sentences are added or reordered.

Leave-one-crisis-out (``holdout``: a non-reserved crisis id, or several as a list or a
comma-separated string, for a group of crises held out together) changes the
non-reserved part:

- ``heldout``: every sentence of the held-out crisis or crises (the fold's test set);
- ``validation``: the other crises' sentences in the validation hash bucket (as above);
- ``train``: the other crises' sentences in the train *and* test_seen buckets (there is
  no test_seen in a fold: the held-out crisis plays that role, so its share trains);
- ``test_unseen``: the reserved crises, as always: they never train or validate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from diplostance.corpus import Example
from diplostance.crises import Registry

SPLITS = ("train", "validation", "test_seen", "test_unseen")
HOLDOUT_SPLITS = ("train", "validation", "heldout", "test_unseen")
# Shares of the non-reserved sentences, by hash bucket out of 100.
TRAIN_SHARE, VALIDATION_SHARE = 75, 10  # test_seen gets the remaining 15


def split_of(example: Example, reserved: frozenset[str]) -> str:
    if example.crisis in reserved:
        return "test_unseen"
    bucket = int(hashlib.sha256(example.id.encode("utf-8")).hexdigest(), 16) % 100
    if bucket < TRAIN_SHARE:
        return "train"
    if bucket < TRAIN_SHARE + VALIDATION_SHARE:
        return "validation"
    return "test_seen"


class SplitError(ValueError):
    """A held-out crisis that cannot be held out (reserved or unknown)."""


def holdout_crises(holdout: str | Iterable[str] | None) -> tuple[str, ...]:
    """'a' / 'a,b' / ['a', 'b'] / None -> the held-out crisis ids, in order, once each."""
    if not holdout:
        return ()
    items = holdout.split(",") if isinstance(holdout, str) else list(holdout)
    return tuple(dict.fromkeys(str(c).strip() for c in items if str(c).strip()))


def split_examples(
    examples: Iterable[Example], registry: Registry, holdout: str | Iterable[str] | None = None
) -> dict[str, list[Example]]:
    """Examples by split: SPLITS, or HOLDOUT_SPLITS when crises are held out."""
    held = holdout_crises(holdout)
    if not held:
        out: dict[str, list[Example]] = {name: [] for name in SPLITS}
        for ex in examples:
            out[split_of(ex, registry.reserved)].append(ex)
        return out
    for crisis in held:
        if crisis in registry.reserved:
            raise SplitError(f"cannot hold out {crisis!r}: it is reserved (test_unseen only, never trained or validated on)")
        if registry.get(crisis) is None:
            raise SplitError(f"cannot hold out {crisis!r}: not in the crisis registry")
    out = {name: [] for name in HOLDOUT_SPLITS}
    for ex in examples:
        split = split_of(ex, registry.reserved)
        if split != "test_unseen" and ex.crisis in held:
            split = "heldout"
        elif split == "test_seen":
            split = "train"
        out[split].append(ex)
    return out


def mention_rows(examples: Iterable[Example], registry: Registry | None) -> list[dict]:
    """One row per mention, with its sentence and the crisis roles (names and aliases)."""
    from diplostance.encoding import role_names

    rows = []
    for ex in examples:
        inc, chal = role_names(ex, registry)
        known = registry.get(ex.crisis) if registry else None
        for i, m in enumerate(ex.mentions):
            rows.append(
                {
                    "mention_id": f"{ex.id}#{i}",
                    "sentence_id": ex.id,
                    "crisis": ex.crisis,
                    "sentence": ex.sentence,
                    "start": m.start,
                    "end": m.end,
                    "text": m.text,
                    "entity": m.entity,
                    "label": m.label or "",
                    "incumbent": inc[0],
                    "challenger": chal[0],
                    "incumbent_aliases": list(inc[1:]),
                    "challenger_aliases": list(chal[1:]),
                    "crisis_country": known.country if known else "",
                    "in_power": ex.in_power or (known.in_power if known else ""),
                }
            )
    return rows


def to_datasets(examples: Iterable[Example], registry: Registry, holdout: str | Iterable[str] | None = None):
    """A ``datasets.DatasetDict`` of mention rows for each split (empty splits kept)."""
    import datasets

    features = datasets.Features(
        {
            "mention_id": datasets.Value("string"),
            "sentence_id": datasets.Value("string"),
            "crisis": datasets.Value("string"),
            "sentence": datasets.Value("string"),
            "start": datasets.Value("int32"),
            "end": datasets.Value("int32"),
            "text": datasets.Value("string"),
            "entity": datasets.Value("string"),
            "label": datasets.Value("string"),
            "incumbent": datasets.Value("string"),
            "challenger": datasets.Value("string"),
            "incumbent_aliases": datasets.Sequence(datasets.Value("string")),
            "challenger_aliases": datasets.Sequence(datasets.Value("string")),
            "crisis_country": datasets.Value("string"),
            "in_power": datasets.Value("string"),
        }
    )
    parts = split_examples(examples, registry, holdout)
    out = {}
    for name, exs in parts.items():
        rows = mention_rows(exs, registry)
        columns = {key: [r[key] for r in rows] for key in features}  # works for an empty split too
        out[name] = datasets.Dataset.from_dict(columns, features=features)
    return datasets.DatasetDict(out)
