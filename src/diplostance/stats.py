"""Corpus statistics: what `diplostance data stats` reports."""

from __future__ import annotations

from collections import Counter, defaultdict

from diplostance.corpus import Example
from diplostance.crises import Registry
from diplostance.labels import LABELS
from diplostance.splits import split_examples

FREQUENT = 20  # an entity with at least this many mentions counts as frequent


def mention_kind(example: Example, start: int, end: int, detected: dict) -> str:
    """The detector's kind for a gold span ('other' when the detector sees none there)."""
    for (s, e), kind in detected.get(example.id, {}).items():
        if s < end and start < e:
            return kind
    return "other"


def corpus_stats(examples: list[Example], registry: Registry) -> dict:
    from diplostance.mentions import find_mentions

    detected = {ex.id: {(m.start, m.end): m.kind for m in find_mentions(ex.sentence)} for ex in examples}
    labels: Counter = Counter()
    kinds: Counter = Counter()
    sizes: Counter = Counter()
    crises: dict[str, Counter] = defaultdict(Counter)
    entity_labels: dict[str, Counter] = defaultdict(Counter)
    for ex in examples:
        sizes[min(len(ex.mentions), 6)] += 1
        crises[ex.crisis]["sentences"] += 1
        for m in ex.mentions:
            labels[m.label] += 1
            kinds[mention_kind(ex, m.start, m.end, detected)] += 1
            crises[ex.crisis][m.label] += 1
            crises[ex.crisis]["mentions"] += 1
            entity_labels[m.entity][m.label] += 1
    n_mentions = sum(labels.values())
    frequent = {e: c for e, c in entity_labels.items() if sum(c.values()) >= FREQUENT}
    splits = split_examples(examples, registry)
    return {
        "sentences": len(examples),
        "mentions": n_mentions,
        "crises": len(crises),
        "reserved_crises": sorted(c for c in crises if c in registry.reserved),
        "labels": {label: labels[label] for label in LABELS},
        "label_shares": {label: round(labels[label] / max(n_mentions, 1), 3) for label in LABELS},
        "kinds": dict(kinds.most_common()),
        "non_name_share": round(1 - kinds["name"] / max(n_mentions, 1), 3),
        "mentions_per_sentence": {("6+" if k == 6 else str(k)): v for k, v in sorted(sizes.items())},
        "multi_mention_share": round(sum(v for k, v in sizes.items() if k >= 2) / max(len(examples), 1), 3),
        "splits": {name: {"sentences": len(exs), "mentions": sum(len(e.mentions) for e in exs)} for name, exs in splits.items()},
        "frequent_entities": len(frequent),
        "frequent_entities_with_several_labels": sum(1 for c in frequent.values() if len(c) > 1),
        "by_crisis": {c: dict(v) for c, v in sorted(crises.items())},
    }
