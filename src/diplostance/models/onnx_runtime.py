"""Torch-free inference for the `minilm` family: a WordPiece tokenizer and an ONNX graph.

The graph takes a padded batch of texts and, for every mention to classify, the flat
index (row * padded_length + token position) of the marker token that stands for it;
it returns one row of logits per mention. Only ``tokenizers`` and ``onnxruntime`` are
needed here, so a logged model loads and predicts without torch or transformers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.json"
GRAPH_FILE = "model.onnx"
META_FILE = "minilm.json"
INPUT_NAMES = ("input_ids", "attention_mask", "gather_index")


def load_tokenizer(folder: Path | str, max_length: int):
    """The fast tokenizer saved with the model, truncating and never padding (we pad per batch)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(folder) / TOKENIZER_FILE))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def token_ids(tokenizer, texts: Sequence[str]) -> list[np.ndarray]:
    return [np.asarray(e.ids, dtype=np.int64) for e in tokenizer.encode_batch(list(texts))]


def gather_positions(ids: Sequence[np.ndarray], wanted: Sequence[tuple[int, int]], pool_id: int) -> np.ndarray:
    """Token position of each (unit, ordinal): the ordinal-th pool token of that unit.

    A marker cut off by truncation falls back to position 0 ([CLS]), which still
    classifies the mention from the whole text rather than failing.
    """
    where = {}
    out = np.zeros(len(wanted), dtype=np.int64)
    missing = 0
    for i, (unit, ordinal) in enumerate(wanted):
        if unit not in where:
            where[unit] = np.flatnonzero(ids[unit] == pool_id)
        hits = where[unit]
        if ordinal < len(hits):
            out[i] = hits[ordinal]
        else:
            missing += 1
    if missing:
        log.warning("%d mention marker(s) fell beyond max_length; classified from [CLS]", missing)
    return out


def pad_batch(ids: Sequence[np.ndarray], units: Sequence[int], rows_of: dict[int, list[int]], positions: np.ndarray,
              pad_id: int = 0):
    """(input_ids, attention_mask, gather_index, mention_rows) for these units, padded to
    the longest of them."""
    width = max(len(ids[u]) for u in units)
    input_ids = np.full((len(units), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(units), width), dtype=np.int64)
    rows, flat = [], []
    for r, u in enumerate(units):
        input_ids[r, :len(ids[u])] = ids[u]
        mask[r, :len(ids[u])] = 1
        for i in rows_of[u]:
            rows.append(i)
            flat.append(r * width + positions[i])
    return input_ids, mask, np.asarray(flat, dtype=np.int64), np.asarray(rows, dtype=np.int64)


def batches(ids: Sequence[np.ndarray], wanted: Sequence[tuple[int, int]], positions: np.ndarray, batch_size: int,
            pad_id: int = 0):
    """Padded batches over the units that hold wanted mentions, sorted by length so that
    each batch pads only to its own longest text."""
    rows_of: dict[int, list[int]] = {}
    for i, (unit, _) in enumerate(wanted):
        rows_of.setdefault(unit, []).append(i)
    units = sorted(rows_of, key=lambda u: len(ids[u]))
    for b in range(0, len(units), batch_size):
        yield pad_batch(ids, units[b:b + batch_size], rows_of, positions, pad_id)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class OnnxMarkerClassifier:
    """Tokenizer + ONNX Runtime session of a saved minilm model folder."""

    def __init__(self, folder: Path | str, *, threads: int = 2, batch_size: int = 32):
        import onnxruntime as ort

        folder = Path(folder)
        self.meta = json.loads((folder / META_FILE).read_text())
        self.tokenizer = load_tokenizer(folder, self.meta["max_length"])
        self.batch_size = batch_size
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / GRAPH_FILE), options, providers=["CPUExecutionProvider"])

    def logits(self, units: Sequence[str], wanted: Sequence[tuple[int, int]], pool_token: str) -> np.ndarray:
        """(len(wanted), n_labels) logits; wanted[i] = (unit index, ordinal of its pool token)."""
        n_labels = self.meta["num_labels"]
        out = np.zeros((len(wanted), n_labels), dtype=np.float32)
        if not wanted:
            return out
        ids = token_ids(self.tokenizer, units)
        pool_id = self.tokenizer.token_to_id(pool_token)
        positions = gather_positions(ids, wanted, pool_id)
        for input_ids, mask, flat, rows in batches(ids, wanted, positions, self.batch_size, self.meta["pad_id"]):
            (logits,) = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask, "gather_index": flat})
            out[rows] = logits
        return out
