"""Articles -> sentences -> mentions -> labels -> per-article stances.

The pure steps live here; :mod:`diplostance.outputs` writes what they produce.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import pandas as pd

from diplostance.articles import Article
from diplostance.crises import Registry
from diplostance.features import MODEL_INPUT
from diplostance.labels import LABELS, NONE
from diplostance.models.base import PROB_COLUMNS
from diplostance.orientation import parse_in_power
from diplostance.sentences import split_sentences

Predictor = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Roles:
    """Who is incumbent and who is challenger for an article."""

    crisis: str
    incumbent: str
    challenger: str
    incumbent_aliases: tuple[str, ...] = ()
    challenger_aliases: tuple[str, ...] = ()
    country: str = ""
    in_power: str = ""  # incumbent | challenger; "" = read from the aliases


class RolesError(ValueError):
    pass


def _in_power(value: object) -> str:
    try:
        return parse_in_power(value)
    except ValueError as exc:
        raise RolesError(str(exc)) from None


def roles_from(
    crisis: str | None,
    registry: Registry | None,
    *,
    incumbent: str | None = None,
    challenger: str | None = None,
    incumbent_aliases: Iterable[str] = (),
    challenger_aliases: Iterable[str] = (),
    country: str = "",
    in_power: str | None = None,
) -> Roles:
    """Roles from a registry id, from names, or both (names and aliases then add to the registry's)."""
    known = registry.get(crisis) if (crisis and registry) else None
    if crisis and known is None and not (incumbent and challenger):
        raise RolesError(f"crisis {crisis!r} is not in the registry; give the incumbent and challenger names")
    if known is None and not (incumbent and challenger):
        raise RolesError("no crisis roles: give --crisis ID, or --incumbent and --challenger (or crisis fields in the input)")
    in_power = _in_power(in_power)
    inc_aliases = tuple(incumbent_aliases) + (known.incumbent.names if known else ())
    chal_aliases = tuple(challenger_aliases) + (known.challenger.names if known else ())
    return Roles(
        crisis=crisis or "",
        incumbent=incumbent or known.incumbent.name,
        challenger=challenger or known.challenger.name,
        incumbent_aliases=tuple(dict.fromkeys(a for a in inc_aliases if a != (incumbent or known.incumbent.name))),
        challenger_aliases=tuple(dict.fromkeys(a for a in chal_aliases if a != (challenger or known.challenger.name))),
        country=country or (known.country if known else ""),
        in_power=in_power or (known.in_power if known else ""),
    )


def article_roles(article: Article, default: Roles | None, registry: Registry | None) -> Roles:
    """An article that names its crisis or sides uses its own roles; one that only adds
    aliases extends the command line's roles."""
    c = article.crisis

    def aliases(key: str) -> tuple[str, ...]:
        value = c.get(key) or ()
        return (value,) if isinstance(value, str) else tuple(value)

    if c.get("crisis") or c.get("incumbent") or c.get("challenger"):
        return roles_from(
            c.get("crisis"),
            registry,
            incumbent=c.get("incumbent"),
            challenger=c.get("challenger"),
            incumbent_aliases=aliases("incumbent_aliases"),
            challenger_aliases=aliases("challenger_aliases"),
            country=c.get("crisis_country", ""),
            in_power=c.get("in_power"),
        )
    if default is None:
        raise RolesError("no crisis roles: give --crisis ID, or --incumbent and --challenger (or crisis fields in the input)")
    return replace(
        default,
        incumbent_aliases=default.incumbent_aliases + aliases("incumbent_aliases"),
        challenger_aliases=default.challenger_aliases + aliases("challenger_aliases"),
        in_power=_in_power(c.get("in_power")) or default.in_power,
    )


def mention_rows_of(article: Article, roles: Roles) -> tuple[list[dict], int]:
    """One model-input row per detected mention (offsets into the article), and the
    number of sentences."""
    from diplostance.mentions import entity_name, find_mentions

    rows = []
    inc_aliases = list(roles.incumbent_aliases)
    chal_aliases = list(roles.challenger_aliases)
    sentences = split_sentences(article.text)
    for index, (s, e) in enumerate(sentences):
        sentence = article.text[s:e]
        found = find_mentions(sentence)
        spans = [(m.start, m.end) for m in found]
        for m in found:
            rows.append(
                {
                    "article_id": article.id,
                    "crisis": roles.crisis,
                    "sentence_index": index,
                    "sentence": sentence,
                    "start": m.start,
                    "end": m.end,
                    "article_start": s + m.start,
                    "article_end": s + m.end,
                    "mention": m.text,
                    "entity": m.entity,
                    "entity_name": entity_name(m.entity),
                    "kind": m.kind,
                    "incumbent": roles.incumbent,
                    "challenger": roles.challenger,
                    "incumbent_aliases": inc_aliases,
                    "challenger_aliases": chal_aliases,
                    "crisis_country": roles.country,
                    "in_power": roles.in_power,
                    "other_spans": spans,
                }
            )
    return rows, len(sentences)


MENTION_COLUMNS = (
    "article_id",
    "crisis",
    "sentence_index",
    "sentence",
    "start",
    "end",
    "mention",
    "entity",
    "entity_name",
    "kind",
    "label",
    "confidence",
    *PROB_COLUMNS,
    "model_uri",
    "model_version",
)


def classify(rows: list[dict], predict: Predictor, model_uri: str, model_version: str) -> pd.DataFrame:
    """The mention table with labels: `start`/`end` are offsets into the article text."""
    if not rows:
        return pd.DataFrame(columns=list(MENTION_COLUMNS))
    table = pd.DataFrame(rows)
    out = predict(table[list(MODEL_INPUT)])
    table = table.assign(**{c: out[c].to_numpy() for c in ("label", "confidence", *PROB_COLUMNS)})
    table["start"], table["end"] = table["article_start"], table["article_end"]
    table["model_uri"], table["model_version"] = model_uri, model_version
    return table[list(MENTION_COLUMNS)]


ARTICLE_COLUMNS = (
    "article_id",
    "title",
    "crisis",
    "entity",
    "entity_name",
    "stance",
    "supporting_mentions",
    "mentions",
    *(f"n_{label.replace('-', '_')}" for label in LABELS),
    "confidence",
    "evidence_sentence",
)


def article_stances(mentions: pd.DataFrame, titles: dict[str, str]) -> pd.DataFrame:
    """One row per (article, entity): the stance its mentions express most (by count,
    then summed confidence), `none` only when no mention takes a side; the evidence is
    the sentence of its most confident mention with that stance."""
    rows = []
    for (article_id, entity), group in mentions.groupby(["article_id", "entity"], sort=False):
        counts = Counter(group["label"])
        stances = [label for label in LABELS if label != NONE and counts[label]]
        if stances:
            conf = group.groupby("label")["confidence"].sum()
            stance = max(stances, key=lambda label: (counts[label], conf[label]))
        else:
            stance = NONE
        support = group[group["label"] == stance]
        best = support.loc[support["confidence"].idxmax()]
        rows.append(
            {
                "article_id": article_id,
                "title": titles.get(article_id, ""),
                "crisis": best["crisis"],
                "entity": entity,
                "entity_name": best["entity_name"],
                "stance": stance,
                "supporting_mentions": len(support),
                "mentions": len(group),
                **{f"n_{label.replace('-', '_')}": counts[label] for label in LABELS},
                "confidence": float(support["confidence"].mean()),
                "evidence_sentence": best["sentence"],
            }
        )
    return pd.DataFrame(rows, columns=list(ARTICLE_COLUMNS))
