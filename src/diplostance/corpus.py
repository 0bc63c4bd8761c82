"""Read and validate labeled examples in the LABELING.md format (one JSON object a line)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from diplostance.crises import Registry
from diplostance.labels import LABELS
from diplostance.orientation import parse_in_power

ENTITY_CODE = re.compile(r"[A-Z][A-Z0-9_]{1,29}")


@dataclass(frozen=True)
class GoldMention:
    text: str
    start: int
    end: int
    entity: str
    label: str | None  # None in unlabeled input (rows to be classified)
    optional: bool = False


@dataclass(frozen=True)
class Example:
    id: str
    crisis: str
    sentence: str
    mentions: tuple[GoldMention, ...]
    incumbent: str = ""
    challenger: str = ""
    incumbent_aliases: tuple[str, ...] | None = None
    challenger_aliases: tuple[str, ...] | None = None
    in_power: str = ""  # incumbent | challenger, when the row says (else the registry's)
    source: str = ""  # file:line it was read from
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    level: str = "error"  # or "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.level}: {self.message}"


class CorpusError(ValueError):
    """Raised when input has errors; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.level == "error"]
        shown = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in input:\n{shown}{more}")


def jsonl_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand folders to the .jsonl files below them (sorted); keep files as given."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.rglob("*.jsonl")) if p.is_dir() else [p])
    return files


def _is_known_entity(code: str) -> bool:
    from diplostance.mentions import is_known_entity  # the detector owns the entity table

    return is_known_entity(code)


def _parse_mention(
    m: object, sentence: str, where: str, *, require_label: bool
) -> tuple[GoldMention | None, list[str], list[str]]:
    errors: list[str] = []
    warnings: list[str] = []
    if not isinstance(m, dict):
        return None, [f"{where}: not an object"], []
    for key in ("text", "start", "end", "entity"):
        if key not in m:
            errors.append(f"{where}: missing '{key}'")
    if errors:
        return None, errors, []
    start, end, text, entity = m["start"], m["end"], m["text"], m["entity"]
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
        return None, [f"{where}: start/end must be integers"], []
    if not 0 <= start < end <= len(sentence):
        errors.append(f"{where}: offsets {start}-{end} outside the sentence (length {len(sentence)})")
    elif sentence[start:end] != text:
        errors.append(f"{where}: sentence[{start}:{end}] is {sentence[start:end]!r}, not {text!r}")
    if not isinstance(entity, str) or not ENTITY_CODE.fullmatch(entity):
        errors.append(f"{where}: malformed entity code {entity!r}")
    elif not _is_known_entity(entity):
        warnings.append(f"{where}: unknown entity code {entity!r}")
    label = m.get("label")
    if label is None and require_label:
        errors.append(f"{where}: missing 'label'")
    elif label is not None and label not in LABELS:
        errors.append(f"{where}: unknown label {label!r} (expected one of {', '.join(LABELS)})")
    optional = m.get("optional", False)
    if not isinstance(optional, bool):
        errors.append(f"{where}: 'optional' must be true or false")
    if errors:
        return None, errors, warnings
    return GoldMention(text, start, end, entity, label, optional), errors, warnings


def _aliases(row: dict, key: str) -> tuple[str, ...] | None | str:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
        return f"'{key}' must be a list of non-empty strings"
    return tuple(value)


def parse_row(
    row: object, *, registry: Registry | None, require_labels: bool = True
) -> tuple[Example | None, list[str], list[str]]:
    """Check one decoded row; return the example (or None) with error and warning messages."""
    if not isinstance(row, dict):
        return None, ["expected a JSON object"], []
    errors: list[str] = []
    warnings: list[str] = []
    for key in ("id", "crisis", "sentence"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            errors.append(f"missing or empty '{key}'")
    if not isinstance(row.get("mentions"), list):
        errors.append("missing 'mentions' list")
    if errors:
        return None, errors, warnings
    known = registry.get(row["crisis"]) if registry else None
    for role in ("incumbent", "challenger"):
        value = row.get(role)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            errors.append(f"'{role}' must be a non-empty string")
        elif value is None and known is None:
            errors.append(f"missing role '{role}' (and crisis {row['crisis']!r} is not in the registry)")
    inc_aliases = _aliases(row, "incumbent_aliases")
    chal_aliases = _aliases(row, "challenger_aliases")
    for value in (inc_aliases, chal_aliases):
        if isinstance(value, str):
            errors.append(value)
    try:
        in_power = parse_in_power(row.get("in_power"))
    except ValueError as exc:
        errors.append(str(exc))
    sentence = row["sentence"]
    mentions: list[GoldMention] = []
    for i, m in enumerate(row["mentions"]):
        mention, errs, warns = _parse_mention(m, sentence, f"mention {i}", require_label=require_labels)
        errors += errs
        warnings += warns
        if mention:
            mentions.append(mention)
    spans = sorted(mentions, key=lambda m: (m.start, m.end))
    for a, b in zip(spans, spans[1:], strict=False):
        if b.start < a.end:
            errors.append(f"overlapping mentions {a.text!r} ({a.start}-{a.end}) and {b.text!r} ({b.start}-{b.end})")
    if errors:
        return None, errors, warnings
    example = Example(
        id=row["id"],
        crisis=row["crisis"],
        sentence=sentence,
        mentions=tuple(spans),
        incumbent=row.get("incumbent") or known.incumbent.name,
        challenger=row.get("challenger") or known.challenger.name,
        incumbent_aliases=inc_aliases,
        challenger_aliases=chal_aliases,
        in_power=in_power,
        raw=row,
    )
    return example, errors, warnings


def iter_jsonl(path: Path) -> Iterator[tuple[int, object | None, str | None]]:
    """Yield (line number, decoded object or None, error or None); skip blank lines."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield 0, None, f"cannot read file ({exc.strerror})"
        return
    with handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, None, f"not UTF-8 text ({exc.reason} at byte {exc.start} of the line)"
                continue
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield lineno, None, f"bad JSON ({exc.msg} at column {exc.colno})"


@dataclass
class ReadResult:
    examples: list[Example]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


def read_examples(paths: Iterable[Path | str], *, registry: Registry | None = None, require_labels: bool = True) -> ReadResult:
    """Read and check every row of every file; collect all problems (nothing is dropped silently)."""
    examples: list[Example] = []
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    for path in jsonl_files(paths):
        if not path.exists():
            problems.append(Problem(str(path), 0, "no such file or folder"))
            continue
        rows = 0
        for lineno, row, error in iter_jsonl(path):
            where = f"{path}:{lineno}"
            if error:
                problems.append(Problem(str(path), lineno, error))
                continue
            rows += 1
            example, errors, warnings = parse_row(row, registry=registry, require_labels=require_labels)
            problems += [Problem(str(path), lineno, w, "warning") for w in warnings]
            problems += [Problem(str(path), lineno, e) for e in errors]
            if example is None:
                continue
            if example.id in first_seen:
                problems.append(Problem(str(path), lineno, f"duplicate id {example.id!r} (first at {first_seen[example.id]})"))
                continue
            first_seen[example.id] = where
            examples.append(Example(**{**example.__dict__, "source": where}))
        if rows == 0 and not any(p.path == str(path) and p.level == "error" for p in problems):
            problems.append(Problem(str(path), 0, "no examples in file", "warning"))
    return ReadResult(examples, problems)


def load_examples(paths: Iterable[Path | str], *, registry: Registry | None = None, require_labels: bool = True) -> list[Example]:
    """Like read_examples, but raise CorpusError if anything is wrong."""
    result = read_examples(paths, registry=registry, require_labels=require_labels)
    if result.errors:
        raise CorpusError(result.problems)
    return result.examples
