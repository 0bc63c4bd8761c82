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
    if not fragments:
        return re.compile(r"(?!)")  # an empty list matches nothing (not everything)
    return re.compile(r"\b(?:" + "|".join(fragments) + r")", re.IGNORECASE)


class RulesModel(StanceModel):
    family = "rules"

    LEXICON_FILE = "rules.yaml"

    def __init__(self, config: dict | None = None):
        super().__init__(config)
        # the packaged lexicon, until load_state reads the one saved with a model
        self.lexicon_text_ = resources.files("diplostance").joinpath(f"resources/{self.LEXICON_FILE}").read_text()

    @cached_property
    def lexicon(self) -> dict[str, re.Pattern]:
        return {key: _alternation(values) for key, values in yaml.safe_load(self.lexicon_text_).items()}

    def learn(self, train, labels, validation=None):
        return self  # nothing to learn: that is the point of the baseline

    def save_state(self, path) -> None:
        # a logged model keeps the lexicon it was scored with, whatever the package ships later
        (path / self.LEXICON_FILE).write_text(self.lexicon_text_, encoding="utf-8")

    def load_state(self, path) -> None:
        self.lexicon_text_ = (path / self.LEXICON_FILE).read_text(encoding="utf-8")
        self.__dict__.pop("lexicon", None)

    def label_text(self, text: str) -> str:
        """The label for one encoded text (with [TGT] markers and role placeholders)."""
        lex = self.lexicon
        clause = target_clause(text)
        t0 = clause.find(TGT_OPEN)
        t1 = clause.find(TGT_CLOSE) + len(TGT_CLOSE) if t0 >= 0 else 0
        before, after = clause[: max(t0, 0)], clause[t1:]
        if lex["exception"].search(before[-40:]):
            return "none"
        accused = lex["accusation"].search(before)
        if accused and t0 - accused.end() < 30:  # the target is the object of an accusation
            return "none"
        if lex["negation"].search(after[:50]):
            return "none"
        verdict = self._aimed(clause, t0, t1)
        if verdict:
            return verdict
        if lex["coup"].search(clause) and lex["against"].search(clause):
            ousted = lex["ousted"].search(clause)
            role = ROLE.search(clause, ousted.end()) if ousted else None
            if role:
                return "supports-incumbent" if role.group() == INCUMBENT else "recognizes-challenger"
            return "recognizes-challenger"
        if lex["dialogue"].search(clause):
            return "calls-for-dialogue"
        return "none"

    def _aimed(self, clause: str, t0: int, t1: int) -> str | None:
        """The support/against verb nearest the target, applied to the role it names
        (the next placeholder after the verb, else the only one in the clause)."""
        lex = self.lexicon
        hits = [(m.start(), m.end(), "support") for m in lex["support"].finditer(clause)]
        hits += [(m.start(), m.end(), "against") for m in lex["against"].finditer(clause)]
        hits = [h for h in hits if h[1] <= t0 or h[0] >= t1]  # not inside the target
        roles = {m.group() for m in ROLE.finditer(clause)}
        for _, end, kind in sorted(hits, key=lambda h: min(abs(h[0] - t1), abs(h[1] - t0))):
            role = ROLE.search(clause, end, end + WINDOW)
            if role is None and len(roles) == 1:
                role = ROLE.search(clause)
            if role is None:
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
