"""`blend`: a weighted average of other families' probabilities, each trained on the same rows.

The default blends `tfidf` (word n-grams of the encoded sentence and clause) with `minilm`
(the fine-tuned encoder): their errors differ, so the average is steadier than either
(docs/experiments.md). Each part keeps its own config under its family's name and is
saved in its own sub-folder; the blend adds no state of its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from diplostance.models.base import StanceModel, load_model

DEFAULTS = {"weights": {"tfidf": 0.5, "minilm": 0.5}}


class BlendModel(StanceModel):
    family = "blend"

    def __init__(self, config: dict | None = None):
        from diplostance.models import FAMILIES, create_model

        config = {**DEFAULTS, **(config or {})}
        weights = config["weights"]
        if not isinstance(weights, dict) or not weights:
            raise ValueError("blend: `weights` must map model families to weights, e.g. {tfidf: 0.5, minilm: 0.5}")
        for name, weight in weights.items():
            if name not in FAMILIES or name == self.family:
                known = ", ".join(f for f in FAMILIES if f != self.family)
                raise ValueError(f"blend: cannot blend {name!r} (known families: {known})")
            if not isinstance(weight, int | float) or weight < 0:
                raise ValueError(f"blend: the weight of {name} must be a number >= 0, not {weight!r}")
        if sum(weights.values()) <= 0:
            raise ValueError("blend: the weights sum to 0")
        super().__init__(config)
        # the blend orients the table once; each part records the same setting, so that
        # a part folder loaded on its own reads crises as it was trained to
        orient = {"orient_by_power": self.config["orient_by_power"]}
        self.parts_ = {name: create_model(name, {**(config.get(name) or {}), **orient}) for name in weights}

    def learn(self, train: pd.DataFrame, labels: list[str], validation=None) -> BlendModel:
        # Parts train without validation: per-epoch curves of one part would be logged
        # under the blend's own val_* metric names; the training run scores the blend.
        for part in self.parts_.values():
            part.learn(train, labels)
        return self

    def predict_proba(self, table: pd.DataFrame) -> np.ndarray:
        weights = self.config["weights"]
        total = sum(weights.values())
        return sum(weights[name] / total * np.asarray(part.predict_proba(table)) for name, part in self.parts_.items())

    def save_state(self, path: Path) -> None:
        for name, part in self.parts_.items():
            part.save(path / name)

    def load_state(self, path: Path) -> None:
        # saved together with the blend, whose folder load_model has checked already
        self.parts_ = {name: load_model(path / name, check_library=False) for name in self.config["weights"]}
