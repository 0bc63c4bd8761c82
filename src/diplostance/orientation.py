"""Which side holds power, and reading every crisis from the side that holds it.

Much diplomatic wording is aimed at whoever holds the capital, not at a title:
"suspended the country", "withdrew its ambassador", "froze budget support", "condemned
the coup", "demanded the return of the elected president". In most crises the side in
power is the incumbent. In some the data's roles put the ousted side as incumbent
(LABELING.md: in Honduras 2009 the ousted president is the incumbent) while the
challenger holds the capital; there the same words back the incumbent.

A model that *orients by power* reads every crisis with [INCUMBENT] standing for the side
in power: rows whose challenger holds power have their two sides exchanged before the
model reads them, their two sided labels exchanged for training, and the two sided
probabilities exchanged back after prediction. Labels still follow the roles given with
the data; only what the model sees is turned round.

Which side holds power is a fact of the crisis (registry or row field ``in_power``).
Without it, a side that its own aliases call ousted, deposed, toppled, overthrown or
exiled is taken to be out of power.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from diplostance.labels import LABEL2ID

SIDES = ("incumbent", "challenger")
_OUT_OF_POWER = re.compile(r"\b(?:ousted|deposed|toppled|overthrown|exiled|in exile)\b", re.IGNORECASE)
EXCHANGED = {"supports-incumbent": "recognizes-challenger", "recognizes-challenger": "supports-incumbent"}
_SIDED = [LABEL2ID["supports-incumbent"], LABEL2ID["recognizes-challenger"]]


def parse_in_power(value: object) -> str:
    """An ``in_power`` value as given anywhere (registry, row, article, command line,
    table): 'incumbent', 'challenger', or '' when not given. ValueError otherwise."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = value.strip().lower() if isinstance(value, str) else None
    if text == "" or text in SIDES:
        return text
    raise ValueError(f"in_power must be incumbent or challenger, not {value!r}")


def side_in_power(given: str, incumbent_names: Iterable[str], challenger_names: Iterable[str]) -> str:
    """'incumbent' or 'challenger': ``given`` (parsed) when set, else the side that no
    alias calls ousted (the incumbent when neither or both are)."""
    if given:
        return given
    incumbent_out = any(_OUT_OF_POWER.search(n) for n in incumbent_names)
    challenger_out = any(_OUT_OF_POWER.search(n) for n in challenger_names)
    return "challenger" if incumbent_out and not challenger_out else "incumbent"


TURNED = "turned"  # column of an oriented table: True where the sides were exchanged


def exchange_sides(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The normalised table seen from the side in power (with a TURNED column), and the
    mask of the rows whose sides were exchanged (their ``in_power`` was 'challenger')."""
    flip = (df["in_power"] == "challenger").to_numpy()
    out = df.assign(**{TURNED: flip})
    if not flip.any():
        return out, flip
    for a, b in (("incumbent", "challenger"), ("incumbent_aliases", "challenger_aliases")):
        first, second = out.loc[flip, a].tolist(), out.loc[flip, b].tolist()
        out.loc[flip, a] = pd.Series(second, index=out.index[flip], dtype=object)
        out.loc[flip, b] = pd.Series(first, index=out.index[flip], dtype=object)
    out.loc[flip, "in_power"] = "incumbent"
    return out, flip


def exchange_labels(labels: Sequence[str], flip: np.ndarray) -> list[str]:
    """Labels with supports-incumbent and recognizes-challenger exchanged where ``flip``."""
    return [EXCHANGED.get(label, label) if f else label for label, f in zip(labels, flip, strict=True)]


def exchange_probs(probs: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Probabilities with the two sided columns exchanged where ``flip``."""
    out = np.array(probs, dtype=float, copy=True)
    out[np.ix_(flip, _SIDED)] = out[np.ix_(flip, _SIDED[::-1])]
    return out
