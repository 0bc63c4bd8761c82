"""Read articles to classify: text, Markdown, HTML, JSONL, CSV files, folders, or stdin.

Every input unit ends up either as an :class:`Article` or as an :class:`InputError`
with its source and reason; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".jsonl", ".csv"}
MAX_ARTICLE_CHARS = 1_000_000  # larger articles are reported, not processed
CRISIS_FIELDS = ("crisis", "incumbent", "challenger", "incumbent_aliases", "challenger_aliases", "crisis_country", "in_power")
_HTML_DROP = "script, style, noscript, nav, header, footer, aside, form, svg, iframe, template"
_HTML_BLOCKS = "h1, h2, h3, h4, p, li, blockquote, pre, td, dd"


@dataclass
class Article:
    id: str
    text: str
    source: str
    title: str = ""
    date: str = ""
    url: str = ""
    crisis: dict = field(default_factory=dict)  # any of CRISIS_FIELDS given with the article


@dataclass(frozen=True)
class InputError:
    source: str
    reason: str
    id: str = ""

    def as_dict(self) -> dict:
        return {"id": self.id, "source": self.source, "reason": self.reason}


def _decode(data: bytes, source: str) -> str | InputError:
    if not data.strip():
        return InputError(source, "empty input")
    if b"\x00" in data[:8192]:
        return InputError(source, "binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return InputError(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_size(article: Article) -> Article | InputError:
    if not article.text.strip():
        return InputError(article.source, "no text", article.id)
    if len(article.text) > MAX_ARTICLE_CHARS:
        return InputError(
            article.source, f"article too large ({len(article.text):,} characters; limit {MAX_ARTICLE_CHARS:,})", article.id
        )
    return article


def _title_of_text(text: str) -> str:
    """The first line is a title when it is short, followed by more text and not a sentence."""
    first, _, rest = text.strip().partition("\n")
    first = first.strip().lstrip("#").strip()
    if rest.strip() and len(first) <= 200 and not first.endswith((".", "!", "?", ":")):
        return first
    return ""


def html_to_text(html: str) -> tuple[str, str]:
    """(title, main text) of an HTML page, with a real HTML parser (selectolax/lexbor)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title") or tree.css_first("h1")
    title = title_node.text(strip=True) if title_node else ""
    for node in tree.css(_HTML_DROP):
        node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body or tree.root
    blocks = []
    for node in root.css(_HTML_BLOCKS):
        # a block nested in another listed block is read with its parent
        if node.parent is not None and any(node.parent.tag == t.strip() for t in _HTML_BLOCKS.split(",")):
            continue
        text = " ".join(node.text(separator=" ").split())
        if text:
            blocks.append(text)
    if not blocks and root is not None:
        blocks = [" ".join(root.text(separator=" ").split())]
    return title, "\n\n".join(b for b in blocks if b)


def _crisis_fields(row: dict) -> dict:
    return {k: row[k] for k in CRISIS_FIELDS if row.get(k) not in (None, "", [])}


def _from_jsonl(text: str, source: str, default_prefix: str) -> Iterator[Article | InputError]:
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{source}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputError(where, f"bad JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(row, dict):
            yield InputError(where, "expected a JSON object")
            continue
        body = row.get("text")
        if not isinstance(body, str):
            yield InputError(where, "missing 'text' (a string)", str(row.get("id", "")))
            continue
        article_id = str(row.get("id") or f"{default_prefix}:{lineno}")
        yield _check_size(
            Article(
                article_id,
                body,
                where,
                str(row.get("title") or ""),
                str(row.get("date") or ""),
                str(row.get("url") or ""),
                _crisis_fields(row),
            )
        )


def _from_csv(text: str, source: str, default_prefix: str, text_column: str) -> Iterator[Article | InputError]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or text_column not in reader.fieldnames:
        yield InputError(source, f"no '{text_column}' column (columns: {', '.join(reader.fieldnames or [])})")
        return
    try:
        for row in reader:
            where = f"{source}:{reader.line_num}"
            body = row.get(text_column) or ""
            article_id = str(row.get("id") or f"{default_prefix}:{reader.line_num}")
            aliases = {
                k: [a.strip() for a in row[k].split("|") if a.strip()]
                for k in ("incumbent_aliases", "challenger_aliases")
                if row.get(k)
            }
            crisis = {**_crisis_fields(row), **aliases}
            yield _check_size(
                Article(article_id, body, where, row.get("title") or "", row.get("date") or "", row.get("url") or "", crisis)
            )
    except csv.Error as exc:
        yield InputError(f"{source}:{reader.line_num}", f"bad CSV ({exc})")


def read_unit(
    data: bytes, source: str, article_id: str, suffix: str, text_column: str = "text"
) -> Iterator[Article | InputError]:
    """The articles of one input unit (a file's bytes, or stdin's)."""
    text = _decode(data, source)
    if isinstance(text, InputError):
        yield InputError(text.source, text.reason, article_id if suffix not in {".jsonl", ".csv"} else "")
        return
    if suffix == ".jsonl":
        yield from _from_jsonl(text, source, article_id)
    elif suffix == ".csv":
        yield from _from_csv(text, source, article_id, text_column)
    elif suffix in HTML_SUFFIXES:
        title, body = html_to_text(text)
        yield _check_size(Article(article_id, body, source, title))
    else:
        yield _check_size(Article(article_id, text, source, _title_of_text(text)))


def expand_inputs(inputs: list[str]) -> tuple[list[tuple[str, Path | None, str]], list[InputError]]:
    """Files and folders (recursively, sorted) -> (source, path, article-id prefix) units."""
    units: list[tuple[str, Path | None, str]] = []
    errors: list[InputError] = []
    for item in inputs:
        if item == "-":
            units.append(("<stdin>", None, "stdin"))
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                errors.append(InputError(item, f"folder has no {'/'.join(sorted(SUFFIXES))} files"))
            for p in found:
                rel = p.relative_to(path)
                units.append((str(p), p, str(rel.with_suffix("")) if p.suffix.lower() not in {".jsonl", ".csv"} else str(rel)))
        elif path.is_file():
            units.append((str(path), path, path.stem if path.suffix.lower() not in {".jsonl", ".csv"} else path.name))
        else:
            errors.append(InputError(item, "no such file or folder"))
    return units, errors


def read_articles(
    inputs: list[str], *, text_column: str = "text", max_file_bytes: int = 512 * 2**20
) -> Iterator[Article | InputError]:
    """Every article of every input, in a deterministic order, with errors in line.
    Article ids are unique: a repeated id is reported as an error."""
    units, errors = expand_inputs(inputs)
    yield from errors
    seen: dict[str, str] = {}
    for source, path, prefix in units:
        if path is None:
            data = sys.stdin.buffer.read()
            suffix = ".jsonl" if data.lstrip()[:1] == b"{" else ".txt"
        else:
            suffix = path.suffix.lower()
            if suffix not in SUFFIXES:
                yield InputError(source, f"unsupported file type {suffix or '(none)'} (use {', '.join(sorted(SUFFIXES))})")
                continue
            try:
                size = path.stat().st_size
                if size > max_file_bytes:
                    yield InputError(source, f"file too large ({size:,} bytes; limit {max_file_bytes:,})", prefix)
                    continue
                data = path.read_bytes()
            except OSError as exc:
                yield InputError(source, f"cannot read ({exc.strerror})", prefix)
                continue
        for item in read_unit(data, source, prefix, suffix, text_column):
            if isinstance(item, Article):
                if item.id in seen:
                    yield InputError(item.source, f"duplicate article id {item.id!r} (first at {seen[item.id]})", item.id)
                    continue
                seen[item.id] = item.source
            yield item


def count_units(inputs: list[str]) -> int:
    """A cheap upper bound of the number of articles, for the progress bar."""
    units, errors = expand_inputs(inputs)
    total = len(errors)
    for _source, path, _ in units:
        if path is not None and path.suffix.lower() in {".jsonl", ".csv"}:
            try:
                with path.open("rb") as f:
                    total += sum(1 for line in f if line.strip())
            except OSError:
                total += 1
        else:
            total += 1
    return total


def digest_inputs(inputs: list[str]) -> dict[str, str]:
    """sha256 of each input file (stdin is not digested)."""
    units, _ = expand_inputs(inputs)
    out = {}
    for source, path, _ in units:
        if path is None:
            continue
        h = hashlib.sha256()
        try:
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            continue
        out[source] = h.hexdigest()
    return out
