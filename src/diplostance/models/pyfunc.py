"""The MLflow pyfunc every model family is logged as.

Input: a table of mentions (sentence, start, end, incumbent, challenger, optional alias
lists, entity, crisis_country and in_power). Output: label, confidence and one probability column
per label. Batch inference, the REST server and Spark all call this one interface.
"""

from __future__ import annotations

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types.schema import Array, ColSpec, Schema

from diplostance.features import InputError
from diplostance.models.base import PROB_COLUMNS, load_model

MODEL_ARTIFACT = "model"

SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec("string", "sentence"),
            ColSpec("long", "start"),
            ColSpec("long", "end"),
            ColSpec("string", "incumbent"),
            ColSpec("string", "challenger"),
            ColSpec(Array("string"), "incumbent_aliases", required=False),
            ColSpec(Array("string"), "challenger_aliases", required=False),
            ColSpec("string", "entity", required=False),
            ColSpec("string", "crisis_country", required=False),
            ColSpec("string", "in_power", required=False),
        ]
    ),
    outputs=Schema([ColSpec("string", "label"), ColSpec("double", "confidence")] + [ColSpec("double", c) for c in PROB_COLUMNS]),
)

INPUT_EXAMPLE = pd.DataFrame(
    {
        "sentence": ["Russia and Cuba condemned what they called a coup, while Canada recognized the opposition leader."],
        "start": [57],
        "end": [63],
        "incumbent": ["Nicolas Maduro"],
        "challenger": ["Juan Guaido"],
        "incumbent_aliases": [["Maduro"]],
        "challenger_aliases": [["Guaido", "the opposition leader"]],
        "entity": ["CAN"],
        "crisis_country": ["VEN"],
    }
)


class StancePyfunc(PythonModel):
    """Loads the saved model folder logged as the artifact ``model``."""

    def load_context(self, context) -> None:
        self.model = load_model(context.artifacts[MODEL_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        try:
            return self.model.predict(model_input)
        except InputError as exc:
            # MLflow's own error for bad input: the model server answers 400 with this message
            raise MlflowException.invalid_parameter_value(f"bad mention rows: {exc}") from exc
