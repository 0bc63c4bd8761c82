"""Sentence boundaries with offsets: paragraphs first, then pysbd inside each."""

from __future__ import annotations

import re
from functools import lru_cache

_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")  # runs of non-blank lines


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence of ``text``, whitespace trimmed."""
    spans = []
    for para in _PARAGRAPH.finditer(text):
        base = para.start()
        for piece in _segmenter().segment(para.group()):
            start, end = base + piece.start, base + piece.end
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start < end:
                spans.append((start, end))
    return spans
