"""One interface for every model family.

A model takes the mention table of :mod:`diplostance.features` and returns, for each
row, a probability per label in the order of :data:`diplostance.labels.LABELS`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from diplostance.features import home_mask, normalize_mentions
from diplostance.labels import LABEL2ID, LABELS
from diplostance.orientation import exchange_labels, exchange_probs, exchange_sides

META_FILE = "diplostance-model.json"
PROB_COLUMNS = tuple(f"prob_{label.replace('-', '_')}" for label in LABELS)


class LibraryDriftWarning(UserWarning):
    """A saved model is loaded by library code other than the code that saved it."""


# The library code a saved model's predictions go through (a logged pyfunc imports the
# installed package rather than carrying this code): labels, encoding, features, models.
PREDICTION_CODE = ("labels.py", "encoding.py", "orientation.py", "features.py", "models/*.py")


@lru_cache(maxsize=1)
def library_fingerprint() -> dict:
    """The package version and a digest of its prediction code (PREDICTION_CODE): a model
    records what it was saved with, and loading it elsewhere says when that code differs."""
    from diplostance import __version__

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for f in sorted(f for pattern in PREDICTION_CODE for f in root.glob(pattern)):
        digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return {"version": __version__, "code_digest": digest.hexdigest()}


class StanceModel(ABC):
    """``fit`` and ``predict`` take any mention table; with ``orient_by_power`` (the
    default, :mod:`diplostance.orientation`) they turn each crisis round so that the family
    always sees the side in power as [INCUMBENT], and turn its probabilities back."""

    family: ClassVar[str]

    def __init__(self, config: dict | None = None):
        self.config = {"orient_by_power": True, **(config or {})}

    def oriented(self, table: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """The normalised table as this model reads it, and the mask of the rows it turned
        round (all False when the model does not orient)."""
        df = normalize_mentions(table)
        if self.config["orient_by_power"]:
            return exchange_sides(df)
        return df, np.zeros(len(df), dtype=bool)

    def fit(
        self, train: pd.DataFrame, labels: list[str], validation: tuple[pd.DataFrame, list[str]] | None = None
    ) -> StanceModel:
        """Learn from a mention table and its labels; return self."""
        train, flip = self.oriented(train)
        if validation is not None:
            val, val_flip = self.oriented(validation[0])
            validation = (val, exchange_labels(list(validation[1]), val_flip))
        return self.learn(train, exchange_labels(list(labels), flip), validation)

    @abstractmethod
    def learn(
        self, train: pd.DataFrame, labels: list[str], validation: tuple[pd.DataFrame, list[str]] | None = None
    ) -> StanceModel:
        """The family's training on a normalised, oriented table; return self."""

    @abstractmethod
    def predict_proba(self, table: pd.DataFrame) -> np.ndarray:
        """(n, len(LABELS)) probabilities for a normalised, oriented mention table."""

    def save_state(self, path: Path) -> None:  # noqa: B027 - optional hook: stateless families keep it
        """Write learned state into the model folder (families with state override this)."""

    def load_state(self, path: Path) -> None:  # noqa: B027 - optional hook
        """Read learned state back from the model folder."""

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / META_FILE).write_text(
            json.dumps(
                {"family": self.family, "config": self.config, "labels": list(LABELS), "library": library_fingerprint()},
                indent=2,
            )
        )
        self.save_state(path)
        return path

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """Labels, confidences and per-label probabilities for any mention table."""
        return self.predict_with(self.predict_proba, table)

    def predict_with(self, proba, table: pd.DataFrame) -> pd.DataFrame:
        """``predict`` through another probability function of this model (e.g. MiniLM's
        fp32 torch reference): the same orientation, turning back and home rule."""
        df, flip = self.oriented(table)
        if len(df) == 0:
            return pd.DataFrame({"label": [], "confidence": [], **{c: [] for c in PROB_COLUMNS}})
        probs = exchange_probs(proba(df), flip)
        # LABELING.md: the crisis country and its own institutions never take a side.
        home = home_mask(df)
        probs[home] = np.eye(len(LABELS))[LABEL2ID["none"]]
        best = probs.argmax(axis=1)
        out = pd.DataFrame({"label": [LABELS[i] for i in best], "confidence": probs.max(axis=1)})
        for i, col in enumerate(PROB_COLUMNS):
            out[col] = probs[:, i]
        return out


def load_model(path: Path | str, *, check_library: bool = True) -> StanceModel:
    """Load a saved model folder of any family. ``check_library=False`` is for the parts
    of a model whose own folder was already checked (they were saved with it)."""
    from diplostance.models import family_class

    path = Path(path)
    meta = json.loads((path / META_FILE).read_text())
    if tuple(meta["labels"]) != LABELS:
        raise ValueError(f"{path}: model was saved with labels {meta['labels']}, this version uses {list(LABELS)}")
    saved, here = meta.get("library") or {}, library_fingerprint()
    if check_library and saved.get("code_digest") != here["code_digest"]:
        origin = (
            f"saved by diplostance {saved.get('version')} (code {saved['code_digest'][:12]})"
            if saved.get("code_digest")
            else "saved before models recorded their library code"
        )
        warnings.warn(
            LibraryDriftWarning(
                f"{path}: model {origin}, loaded by diplostance {here['version']} (code {here['code_digest'][:12]}):"
                " the encoding or inference code may differ, so predictions may differ from the scores logged with it"
            ),
            stacklevel=2,
        )
    # a model saved before orientation existed read every crisis as given
    model = family_class(meta["family"])({"orient_by_power": False, **meta["config"]})
    model.load_state(path)
    return model
