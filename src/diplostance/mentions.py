"""Country and international-organisation mention detection.

`find_mentions(text)` returns the spans of a text that stand for a state or an
international organisation, each resolved to a code: ISO 3166-1 alpha-3 for states (XKX
for Kosovo) and the organisation codes of the labeling guide (UN, EU, AU, ECOWAS...).

How it works: every surface form (country names generated from country_converter and
pycountry, plus the reviewed forms of resources/aliases.yaml) goes into one case-sensitive
Aho-Corasick automaton. The text is folded first without changing its length (accents,
typographic apostrophes and dashes, line breaks), so offsets stay those of the input.
Hits must start and end on word boundaries (an apostrophe or a hyphen is a boundary:
"Russia's", "Russian-backed"); overlapping hits are resolved longest first; negative
phrases ("South China Sea") win like any other hit and produce nothing; a few context
rules from the YAML file settle the ambiguous forms (Georgia the US state, Jordan the
person, Washington the newspaper...). The data is loaded once, on first use.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import ahocorasick
import yaml

log = logging.getLogger(__name__)

KINDS = ("name", "demonym", "capital", "institution", "organisation")
_ALIASES_RESOURCE = "aliases.yaml"


@dataclass(frozen=True, slots=True)
class Mention:
    """One detected span: `text == source[start:end]`, resolved to `entity` (a code)."""

    start: int
    end: int
    text: str
    entity: str
    kind: str


# --------------------------------------------------------------------------- folding
def _build_fold_table() -> dict[int, str]:
    """One-character-to-one-character folding, so offsets survive."""
    table: dict[int, str] = {}
    for cp in range(0x80, 0x2C0):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if len(base) == 1 and base != ch and base.isascii():
            table[cp] = base
    for ch in "\u2019\u2018\u201b\u02bc\u2032\u00b4`":
        table[ord(ch)] = "'"
    for ch in "\u201c\u201d\u201e\u00ab\u00bb":
        table[ord(ch)] = '"'
    for ch in "\u2010\u2011\u2012\u2013\u2014\u2212":
        table[ord(ch)] = "-"
    for ch in "\n\r\t\f\v\u00a0\u2007\u2009\u202f\u200a":
        table[ord(ch)] = " "
    table.update({ord("Ø"): "O", ord("ø"): "o", ord("Ł"): "L", ord("ł"): "l", ord("Đ"): "D",
                  ord("đ"): "d", ord("ı"): "i", ord("Ə"): "A", ord("ə"): "a"})
    return table


_FOLD = _build_fold_table()
_ASCII_SPACE = re.compile(r"[\n\r\t\f\v]")
# runs of characters that fold (accented letters, typographic punctuation, odd spaces)
_FOLDABLE_RUN = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_FOLD) if cp > 0x7F) + "]+")


def _fold_run(m: re.Match) -> str:
    return m.group().translate(_FOLD)


def fold(text: str) -> str:
    """The text the automaton sees: same length, accents/apostrophes/dashes/whitespace folded."""
    # str.translate is slow on non-ASCII strings (one lookup per character), so only the
    # runs that need it go through it; ASCII controls are replaced by plain regex/replace.
    if not text.isascii():
        text = _FOLDABLE_RUN.sub(_fold_run, text)
    if _ASCII_SPACE.search(text):
        text = _ASCII_SPACE.sub(" ", text)
    if "`" in text:
        text = text.replace("`", "'")
    return text


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class _Rule:
    person: bool = False
    reject_before: re.Pattern | None = None
    reject_after: re.Pattern | None = None
    reject_near: re.Pattern | None = None
    exact_reject: frozenset[str] = frozenset()
    relabel_pattern: re.Pattern | None = None
    relabel_entity: str | None = None
    after_other_entity: bool = False


@dataclass(frozen=True)
class _Entry:
    entity: str | None  # None for a negative phrase
    kind: str
    rule: _Rule | None


def _load_yaml() -> dict[str, Any]:
    text = resources.files("diplostance.resources").joinpath(_ALIASES_RESOURCE).read_text("utf-8")
    return yaml.safe_load(text)


def _clean_generated(name: str) -> list[str]:
    """Turn a registry name into usable running-text forms ('Korea, Republic of' -> ...)."""
    out = []
    for part in re.split(r"\s*\(([^)]*)\)\s*", name):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(.+?), (.+ of(?: the)?)", part)
        if m:
            part = f"{m.group(2)} {m.group(1)}"
        elif "," in part or "." in part:
            continue  # "Micronesia, Fed. Sts.", "Nation of Brunei, Abode of Peace"
        part = re.sub(r"^(?:the|The) ", "", part)
        out.append(part)
    return out


def _generated_names(codes_extra: Iterable[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Names per code from country_converter + pycountry, and cc's short names."""
    import country_converter as coco  # heavy (pandas): imported only when data is built
    import pycountry

    data = coco.CountryConverter().data
    wanted = set(codes_extra) | {"PSE", "VAT"}  # UN observer states
    rows = data[data["UNmember"].notna() | data["ISO3"].isin(sorted(wanted))]
    names: dict[str, list[str]] = {}
    short: dict[str, str] = {}
    for _, row in rows.iterrows():
        code = row["ISO3"]
        short[code] = row["name_short"]
        raw = [row["name_short"], row["name_official"]]
        country = pycountry.countries.get(alpha_3=code)
        if country is not None:
            raw += [getattr(country, a, None) for a in ("name", "official_name", "common_name")]
        forms: list[str] = []
        for r in raw:
            if isinstance(r, str):
                for f in _clean_generated(r):
                    if f not in forms:
                        forms.append(f)
        names[code] = forms
    return names, short


def _merge_specs(base: dict[str, Any] | None, own: dict[str, Any] | None) -> dict[str, Any]:
    """A form's own rule on top of its kind's rule; reject patterns are or-ed together."""
    merged = dict(base or {})
    for k, v in (own or {}).items():
        if k in ("reject_before", "reject_after", "reject_near") and k in merged:
            merged[k] = f"(?:{merged[k]})|(?:{v})"
        else:
            merged[k] = v
    return merged


def _compile(pattern: str | None) -> re.Pattern | None:
    return re.compile(pattern) if pattern else None


class Detector:
    """Holds the automaton and the entity table; build once, call `find` many times."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data if data is not None else _load_yaml()
        self._person_ok = frozenset(data.get("person_ok", []))
        self._window = int(data.get("window", 200))
        own_specs = {fold(k): v for k, v in (data.get("context") or {}).items()}
        kind_specs = data.get("kind_rules") or {}
        rule_cache: dict[tuple[str, str], _Rule | None] = {}

        def rule_for(key: str, kind: str) -> _Rule | None:
            if (key, kind) not in rule_cache:
                spec = _merge_specs(kind_specs.get(kind), own_specs.get(key))
                rule_cache[key, kind] = self._make_rule(spec) if spec else None
            return rule_cache[key, kind]
        no_upper = {fold(f) for f in data.get("no_upper", [])}
        exclude = set(data.get("exclude_generated", []))
        generated, short = _generated_names(data.get("extra_countries", []))

        self.names: dict[str, str] = dict(short)
        self.names.update(data.get("display_names") or {})
        for code, org in (data.get("organisations") or {}).items():
            self.names[code] = org.get("name", code)

        # (form, entity, kind); earlier entries win a clash on the same folded form
        forms: list[tuple[str, str | None, str]] = []
        countries = data.get("countries") or {}
        for code, extra in countries.items():
            for f in (extra or {}).get("names", []):
                forms.append((f, code, "name"))
        for code, gen in generated.items():
            for f in gen:
                if f not in exclude:
                    forms.append((f, code, "name"))
        for code, org in (data.get("organisations") or {}).items():
            for f in org.get("forms", []):
                forms.append((f, code, "organisation"))
            for f in org.get("seats", []):
                forms.append((f, code, "capital"))
        for f, code in (data.get("institutions") or {}).items():
            forms.append((f, code, "institution"))
        for code, extra in countries.items():
            for f in (extra or {}).get("capitals", []):
                forms.append((f, code, "capital"))
            for f in (extra or {}).get("demonyms", []):
                forms.append((f, code, "demonym"))
        negatives = list(data.get("negatives") or [])

        unknown = {c for _, c, _ in forms if c is not None} - set(self.names)
        for code in unknown:  # an entity listed in the YAML only (should not happen)
            self.names[code] = code

        self._entries: list[_Entry] = []
        self._surface: dict[str, int] = {}
        self._automaton = ahocorasick.Automaton()
        for f, code, kind in forms:
            key = fold(f)
            rule = rule_for(key, kind)
            self._add(key, code, kind, rule)
            upper = key.upper()
            if upper != key and key not in no_upper:
                self._add(upper, code, kind, rule, quiet=True)
        for f in negatives:
            key = fold(f)
            self._add(key, None, "negative", None)
            if key.upper() != key:
                self._add(key.upper(), None, "negative", None, quiet=True)
        self._automaton.make_automaton()
        self._negative = [e.entity is None for e in self._entries]
        self._checks = [self._make_check(e.rule) for e in self._entries]
        self.known = frozenset(self.names)

    @staticmethod
    def _make_rule(spec: dict[str, Any]) -> _Rule:
        relabel = spec.get("relabel_near") or {}
        return _Rule(
            person=bool(spec.get("person", False)),
            reject_before=_compile(spec.get("reject_before")),
            reject_after=_compile(spec.get("reject_after")),  # used with match(): anchored
            reject_near=_compile(spec.get("reject_near")),
            exact_reject=frozenset(spec.get("exact_reject", [])),
            relabel_pattern=_compile(relabel.get("pattern")),
            relabel_entity=relabel.get("entity"),
            after_other_entity=bool(spec.get("after_other_entity", False)),
        )

    def _add(self, key: str, code: str | None, kind: str, rule: _Rule | None, quiet: bool = False) -> None:
        if key in self._surface:
            old = self._entries[self._surface[key]]
            if old.entity != code and not quiet:
                log.debug("form %r: keeping %s, ignoring %s", key, old.entity, code)
            return
        if len(key) >= 1 << 16 or len(self._entries) >= 1 << 16:
            raise ValueError(f"alias table too large for the packed encoding at {key!r}")
        self._surface[key] = len(self._entries)
        self._entries.append(_Entry(code, kind, rule))
        self._automaton.add_word(key, (len(key) << 16) | (len(self._entries) - 1))

    # ------------------------------------------------------------------- matching
    def find(self, text: str) -> list[Mention]:
        """All mentions in `text`, in order, non-overlapping, longest match first."""
        if not text:
            return []
        norm = fold(text)
        n = len(norm)
        negative = self._negative
        checks = self._checks
        # candidates packed into one int (start, length, entry): no per-hit tuple to track
        cands: list[int] = []
        append = cands.append
        for end, value in self._automaton.iter(norm):
            length = value >> 16
            start = end - length + 1
            if start and norm[start - 1].isalnum():
                continue
            idx = value & 0xFFFF
            end += 1
            if end < n and norm[end].isalnum() and not negative[idx]:
                continue
            check = checks[idx]
            if check is not None and check(text, norm, start, end):
                continue
            append((start << 32) | value)
        if not cands:
            return []
        entries = self._entries
        out: list[Mention] = []
        prev: Mention | None = None
        for packed in _select(cands):
            idx = packed & 0xFFFF
            entry = entries[idx]
            if entry.entity is None:
                prev = None
                continue
            start = packed >> 32
            end = start + ((packed >> 16) & 0xFFFF)
            entity = entry.entity
            rule = entry.rule
            if rule is not None:
                if rule.after_other_entity and prev is not None and prev.entity != entity \
                        and norm[prev.end:start] == " ":
                    continue
                if rule.relabel_pattern is not None and rule.relabel_pattern.search(
                        norm, max(0, start - self._window), min(n, end + self._window)):
                    entity = rule.relabel_entity
            prev = Mention(start, end, text[start:end], entity, entry.kind)
            out.append(prev)
        return out

    def _make_check(self, rule: _Rule | None) -> Callable[[str, str, int, int], bool] | None:
        """A rejection test for the hits of one entry, built from the parts its rule has."""
        if rule is None:
            return None
        parts: list[Callable[[str, str, int, int], Any]] = []
        if rule.exact_reject:
            exact = rule.exact_reject
            parts.append(lambda text, norm, s, e: text[s:e] in exact)
        if rule.reject_before is not None:
            before = rule.reject_before.search
            parts.append(lambda text, norm, s, e: before(norm[max(0, s - 60):s]))
        if rule.reject_after is not None:
            after = rule.reject_after.match  # compiled without '^': match() anchors at e
            parts.append(lambda text, norm, s, e: after(norm, e, e + 80))
        if rule.reject_near is not None:
            near = rule.reject_near.search
            w = self._window
            parts.append(lambda text, norm, s, e: near(norm, max(0, s - w), e + w))
        if rule.person:
            person = self._looks_like_person
            parts.append(lambda text, norm, s, e: person(norm, s, e))
        if not parts:
            return None
        if len(parts) == 1:
            only = parts[0]
            return lambda text, norm, s, e: bool(only(text, norm, s, e))
        return lambda text, norm, s, e: any(p(text, norm, s, e) for p in parts)

    def _looks_like_person(self, norm: str, start: int, end: int) -> bool:
        """'Jordan Bardella', 'Chad Smith', 'Michael Jordan', 'Mr. Washington'."""
        nxt = _NEXT_NAME.match(norm, end)
        if nxt and nxt.group(1) not in self._person_ok:
            return True
        before = norm[max(0, start - 40):start]
        if _TITLE_BEFORE.search(before):
            return True
        prv = _PREV_NAME.search(before)
        if prv is None or prv.group(1) in self._person_ok:
            return False
        lead = before[:prv.start()]
        if not lead.strip() and start - len(before) == 0:
            return False  # first word of the text: "Neighbouring Jordan ..."
        # a capitalised word right after a sentence end is no first name either
        return not _SENTENCE_END.search(lead)

    def entity_name(self, code: str) -> str:
        return self.names.get(code, code)

    def lookup(self, surface: str) -> tuple[str, str] | None:
        """(entity, kind) of a known surface form, ignoring context; None if unknown or negative."""
        idx = self._surface.get(fold(surface))
        if idx is None or self._entries[idx].entity is None:
            return None
        entry = self._entries[idx]
        return entry.entity, entry.kind


def _select(cands: list[int]) -> list[int]:
    """Non-overlapping hits, longest first within each cluster of overlapping hits."""
    cands.sort()  # by start, then length, then entry
    out: list[int] = []
    cluster: list[int] = []
    cluster_end = -1
    for c in cands:
        start = c >> 32
        end = start + ((c >> 16) & 0xFFFF)
        if start >= cluster_end:
            if len(cluster) == 1:
                out.append(cluster[0])
            elif cluster:
                out.extend(_resolve(cluster))
            cluster = [c]
            cluster_end = end
        else:
            cluster.append(c)
            if end > cluster_end:
                cluster_end = end
    if len(cluster) == 1:
        out.append(cluster[0])
    else:
        out.extend(_resolve(cluster))
    return out


def _resolve(cluster: list[int]) -> list[int]:
    spans = [(c >> 32, (c >> 32) + ((c >> 16) & 0xFFFF), c) for c in cluster]
    picked: list[tuple[int, int, int]] = []
    for s, e, c in sorted(spans, key=lambda t: (t[0] - t[1], t[0])):
        if all(e <= ps or s >= pe for ps, pe, _ in picked):
            picked.append((s, e, c))
    return [c for _, _, c in sorted(picked)]


_NEXT_NAME = re.compile(r" ([A-Z][a-z]+)\b")
_PREV_NAME = re.compile(r"(?<![\w'-])([A-Z][a-z]+) $")
_TITLE_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Sen|Rep|Gov|Gen|Sgt|Lt|Col)\.? $")
_SENTENCE_END = re.compile(r"(?:[.!?:;\"(\[]|-)\s*$")


# --------------------------------------------------------------------------- API
@functools.lru_cache(maxsize=1)
def get_detector() -> Detector:
    """The shared detector, built on first use from the packaged data."""
    return Detector()


def find_mentions(text: str) -> list[Mention]:
    """Country and organisation mentions of `text` (see module docstring)."""
    return get_detector().find(text)


def entity_name(code: str) -> str:
    """Human name for a code ('RUS' -> 'Russia', 'UN' -> 'United Nations'); unknown codes as given."""
    return get_detector().entity_name(code)


def is_known_entity(code: str) -> bool:
    """True for the ISO alpha-3 codes and organisation codes the detector can produce."""
    return code in get_detector().known


def known_entities() -> frozenset[str]:
    return get_detector().known


def __getattr__(name: str) -> Any:  # KNOWN_ENTITIES without building the data at import
    if name == "KNOWN_ENTITIES":
        return get_detector().known
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
