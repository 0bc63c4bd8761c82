"""How a classifier sees one mention: roles normalised, the target marked.

A model must learn stance towards *roles*, not towards names, so the crisis's
incumbent and challenger names (and aliases) are replaced by placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diplostance.crises import Registry

INCUMBENT = "[INCUMBENT]"
CHALLENGER = "[CHALLENGER]"
TGT_OPEN, TGT_CLOSE = "[TGT]", "[/TGT]"
OTHER_OPEN, OTHER_CLOSE = "[ENT]", "[/ENT]"
MASK = "[COUNTRY]"
SPECIAL_TOKENS = (INCUMBENT, CHALLENGER, TGT_OPEN, TGT_CLOSE, OTHER_OPEN, OTHER_CLOSE, MASK)

# Words that end organisation names: their last word is not a surname.
_NOT_SURNAME = {
    "council",
    "government",
    "coalition",
    "front",
    "forces",
    "force",
    "authority",
    "committee",
    "union",
    "movement",
    "party",
    "army",
    "junta",
    "administration",
    "alliance",
    "congress",
    "assembly",
    "opposition",
    "rebels",
    "military",
    "taliban",
    "houthis",
    "president",
}


def surname_alias(name: str) -> str | None:
    """'Nicolas Maduro' -> 'Maduro'; None for names of bodies ('National Unity Government')."""
    words = name.split()
    if not 2 <= len(words) <= 4 or not all(w[:1].isupper() for w in words):
        return None
    last = words[-1]
    return None if last.lower() in _NOT_SURNAME or len(last) < 3 else last


def _with_surname(name: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
    extra = surname_alias(name)
    return tuple(dict.fromkeys((name, *aliases, *([extra] if extra else []))))


def role_names(example, registry: Registry | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """All strings that name each side: the row's own alias lists if it has them, else
    the registry's, else the names alone (plus a surname derived from a person's name)."""
    known = registry.get(example.crisis) if registry else None
    sides = []
    for role in ("incumbent", "challenger"):
        name = getattr(example, role) or (getattr(known, role).name if known else "")
        own = getattr(example, f"{role}_aliases")
        if own is not None:
            aliases = tuple(own)
        elif known is not None:
            aliases = getattr(known, role).names
        else:
            aliases = ()
        sides.append(_with_surname(name, aliases) if name else aliases)
    return sides[0], sides[1]


@dataclass(frozen=True)
class EncodingOptions:
    replace_roles: bool = True  # names/aliases -> [INCUMBENT]/[CHALLENGER]
    mark_target: bool = True  # [TGT] Russia [/TGT]
    mask_target: bool = False  # [TGT] [COUNTRY] [/TGT]: hide which country it is
    mark_others: bool = False  # [ENT] Cuba [/ENT] for the sentence's other mentions


def _role_pattern(names: tuple[str, ...]) -> re.Pattern | None:
    names = tuple(n for n in names if n.strip())
    if not names:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w])")


def role_spans(sentence: str, incumbent: tuple[str, ...], challenger: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, placeholder) spans of role names, longest first."""
    found: list[tuple[int, int, str]] = []
    for names, placeholder in ((incumbent, INCUMBENT), (challenger, CHALLENGER)):
        pattern = _role_pattern(names)
        if pattern:
            found += [(m.start(), m.end(), placeholder) for m in pattern.finditer(sentence)]
    found.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int, str]] = []
    for span in found:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def encode(
    sentence: str,
    start: int,
    end: int,
    incumbent: tuple[str, ...] = (),
    challenger: tuple[str, ...] = (),
    *,
    others: tuple[tuple[int, int], ...] = (),
    options: EncodingOptions = EncodingOptions(),
) -> str:
    """The text a classifier sees for the mention sentence[start:end]."""
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement)
    target = sentence[start:end]
    if options.mask_target:
        target = MASK
    if options.mark_target:
        target = f"{TGT_OPEN} {target} {TGT_CLOSE}"
    edits.append((start, end, target))
    if options.mark_others:
        edits += [(s, e, f"{OTHER_OPEN} {sentence[s:e]} {OTHER_CLOSE}") for s, e in others if (s, e) != (start, end)]
    if options.replace_roles:
        taken = [(s, e) for s, e, _ in edits] + list(others)
        for s, e, placeholder in role_spans(sentence, incumbent, challenger):
            if all(e <= a or s >= b for a, b in taken):
                edits.append((s, e, placeholder))
    return apply_edits(sentence, edits)


def apply_edits(sentence: str, edits: list[tuple[int, int, str]]) -> str:
    """The sentence with each (start, end) span replaced by its text. Overlapping edits
    cannot come from valid mentions; of two that overlap the first is kept."""
    out, pos = [], 0
    for s, e, text in sorted(edits):
        if s < pos:
            continue
        out += [sentence[pos:s], text]
        pos = e
    out.append(sentence[pos:])
    return "".join(out)
