"""Default locations. Every path can be overridden by an argument or the environment."""

import os
from pathlib import Path

# An editable install (the supported way, see README) keeps the package inside the repo.
PROJECT_ROOT = Path(os.environ.get("DIPLOSTANCE_ROOT", Path(__file__).resolve().parents[2]))
DATA_DIR = PROJECT_ROOT / "data"
LABELED_DIR = DATA_DIR / "labeled"
REGISTRY_PATH = DATA_DIR / "crises.yaml"
EXAMPLES_DIR = DATA_DIR / "examples"
CONFIGS_DIR = PROJECT_ROOT / "configs"
