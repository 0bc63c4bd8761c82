"""`rules`: a transparent lexicon-and-pattern classifier, the reference to beat.

It reads the clause that holds the target mention and applies, in order: exception,
accusation, negation, a support/against verb aimed at a role placeholder, a condemned
coup, a call for dialogue; otherwise `none`. The lexicon lives in resources/rules.yaml.
"""

from __future__ import annotations

import re
from functools import cached_property
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from diplostance.encoding import CHALLENGER, INCUMBENT, TGT_CLOSE, TGT_OPEN, EncodingOptions
from diplostance.features import encoded_texts, target_clause
from diplostance.labels import LABEL2ID, LABELS
from diplostance.models.base import StanceModel

CONFIDENCE = 0.85  # probability given to the rule's label; the rest is spread evenly
ROLE = re.compile(re.escape(INCUMBENT) + "|" + re.escape(CHALLENGER))
WINDOW = 80  # characters between a verb and the role it applies to


def _alternation(fragments: list[str]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(fragments) + r")", re.IGNORECASE)


class RulesModel(StanceModel):
    family = "rules"

    @cached_property
    def lexicon(self) -> dict[str, re.Pattern]:
        data = yaml.safe_load(resources.files("diplostance").joinpath("resources/rules.yaml").read_text())
        return {key: _alternation(values) for key, values in data.items()}

    def fit(self, train, labels, validation=None):
        return self  # nothing to learn: that is the point of the baseline

    def label_text(self, text: str) -> str:
        """The label for one encoded text (with [TGT] markers and role placeholders)."""
        lex = self.lexicon
        clause = target_clause(text)
        t0 = clause.find(TGT_OPEN)
        t1 = clause.find(TGT_CLOSE) + len(TGT_CLOSE) if t0 >= 0 else 0
        before, after = clause[: max(t0, 0)], clause[t1:]
        if lex["exception"].search(before[-40:]):
            return "none"
        if lex["accusation"].search(before):
            return "none"
        rest = after if after.strip(" ,.") else before
        if lex["negation"].search(rest[:60]):
            return "none"
        verdict = self._aimed(rest)
        if verdict:
            return verdict
        if lex["coup"].search(rest) and lex["against"].search(rest):
            ousted = lex["ousted"].search(rest)
            if ousted:
                role = ROLE.search(rest, ousted.end())
                if role:
                    return "supports-incumbent" if role.group() == INCUMBENT else "recognizes-challenger"
            return "recognizes-challenger"
        if lex["dialogue"].search(rest):
            return "calls-for-dialogue"
        return "none"

    def _aimed(self, text: str) -> str | None:
        """The first support/against verb followed closely by a role placeholder."""
        lex = self.lexicon
        hits = [(m.start(), m.end(), "support") for m in lex["support"].finditer(text)]
        hits += [(m.start(), m.end(), "against") for m in lex["against"].finditer(text)]
        for _, end, kind in sorted(hits):
            role = ROLE.search(text, end, end + WINDOW)
            if not role:
                continue
            backs_incumbent = (role.group() == INCUMBENT) == (kind == "support")
            return "supports-incumbent" if backs_incumbent else "recognizes-challenger"
        return None

    def predict_proba(self, table: pd.DataFrame) -> np.ndarray:
        texts = encoded_texts(table, EncodingOptions(mark_target=True))
        probs = np.full((len(texts), len(LABELS)), (1 - CONFIDENCE) / (len(LABELS) - 1))
        for i, text in enumerate(texts):
            probs[i, LABEL2ID[self.label_text(text)]] = CONFIDENCE
        return probs
