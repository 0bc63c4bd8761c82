"""MLflow "models from code" entry point: logged as the model's code, never imported by us."""

from mlflow.models import set_model

from diplostance.models.pyfunc import StancePyfunc

set_model(StancePyfunc())
