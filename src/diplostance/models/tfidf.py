"""`tfidf`: TF-IDF n-grams of the encoded mention + logistic regression.

Two views of each mention: the whole encoded sentence, and the clause that holds the
target (so a contrast like "X backed A, while Y recognized B" separates X from Y).
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from diplostance.features import clause_views, encoded_texts, options_from
from diplostance.labels import LABEL2ID, LABELS
from diplostance.models.base import StanceModel

TOKEN = r"\[/?[A-Za-z]+\]|[\w'’-]+"
DEFAULTS = {
    "C": 4.0,
    "sentence_ngrams": 2,
    "clause_ngrams": 3,
    "min_df": 1,
    "max_features": 100_000,
    "class_weight": "balanced",
    "mark_target": True,
    "mask_target": False,
    "replace_roles": True,
    "mark_others": False,
}


class TfidfModel(StanceModel):
    family = "tfidf"

    def __init__(self, config: dict | None = None):
        super().__init__({**DEFAULTS, **(config or {})})
        self.vectorizers_: tuple[TfidfVectorizer, TfidfVectorizer] | None = None
        self.classifier_: LogisticRegression | None = None

    def _views(self, table: pd.DataFrame) -> tuple[list[str], list[str]]:
        texts = encoded_texts(table, options_from(self.config))
        return texts, clause_views(texts)

    def _matrix(self, table: pd.DataFrame):
        texts, clauses = self._views(table)
        sentence_vec, clause_vec = self.vectorizers_
        return hstack([sentence_vec.transform(texts), clause_vec.transform(clauses)]).tocsr()

    def learn(self, train, labels, validation=None):
        c = self.config

        def vectorizer(n: int) -> TfidfVectorizer:
            return TfidfVectorizer(
                token_pattern=TOKEN, ngram_range=(1, n), min_df=c["min_df"], max_features=c["max_features"], sublinear_tf=True
            )

        texts, clauses = self._views(train)
        self.vectorizers_ = (vectorizer(c["sentence_ngrams"]), vectorizer(c["clause_ngrams"]))
        X = hstack([self.vectorizers_[0].fit_transform(texts), self.vectorizers_[1].fit_transform(clauses)]).tocsr()
        y = np.array([LABEL2ID[label] for label in labels])
        self.classifier_ = LogisticRegression(C=c["C"], max_iter=2000, class_weight=c["class_weight"] or None)
        self.classifier_.fit(X, y)
        return self

    def predict_proba(self, table):
        if self.classifier_ is None:
            raise RuntimeError("TfidfModel.predict_proba called before fit")
        raw = self.classifier_.predict_proba(self._matrix(table))
        probs = np.zeros((raw.shape[0], len(LABELS)))
        probs[:, self.classifier_.classes_] = raw  # a label absent from training gets 0
        return probs

    def save_state(self, path: Path) -> None:
        joblib.dump({"vectorizers": self.vectorizers_, "classifier": self.classifier_}, path / "tfidf.joblib")

    def load_state(self, path: Path) -> None:
        state = joblib.load(path / "tfidf.joblib")
        self.vectorizers_, self.classifier_ = state["vectorizers"], state["classifier"]
