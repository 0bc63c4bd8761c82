"""The registered model behind MLflow's model server (what `make serve` runs), over real HTTP."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diplostance.articles import read_articles
from diplostance.features import MODEL_INPUT
from diplostance.inference import mention_rows_of, roles_from
from diplostance.labels import LABELS
from diplostance.models.base import PROB_COLUMNS
from diplostance.paths import EXAMPLES_DIR

MODEL = "models:/diplostance@tfidf"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, body: bytes | str, content_type: str = "application/json") -> tuple[int, dict | str]:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def alive(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/ping", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(trained_store, tmp_path_factory):
    """`mlflow models serve` in its own process group on a free port of 127.0.0.1."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    bin_dir = str(Path(sys.executable).parent)  # mlflow starts uvicorn by name: the venv's bin first
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [f"{bin_dir}/mlflow", "models", "serve", "-m", MODEL, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:  # a file, not a pipe nobody reads
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not alive(base):
            if proc.poll() is not None:
                pytest.fail(f"mlflow models serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("mlflow models serve did not answer /ping within 90 s")
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def mention_table() -> pd.DataFrame:
    """Detected mentions of an example article, as the model's input columns."""
    article = next(a for a in read_articles([str(EXAMPLES_DIR / "venezuela-recognitions.txt")]))
    roles = roles_from(
        None, None, incumbent="Nicolas Maduro", challenger="Juan Guaido", incumbent_aliases=["Maduro"], country="VEN"
    )
    rows, _ = mention_rows_of(article, roles)
    return pd.DataFrame(rows)[list(MODEL_INPUT)]


def test_server_labels_mention_rows_like_the_pyfunc(server, mention_table):
    from mlflow.pyfunc import load_model

    split = json.loads(mention_table.to_json(orient="split", index=False))
    status, body = call(f"{server}/invocations", json.dumps({"dataframe_split": split}))
    assert status == 200, body
    served = pd.DataFrame(body["predictions"])
    assert len(served) == len(mention_table) > 5
    assert set(served["label"]) <= set(LABELS)
    probs = served[list(PROB_COLUMNS)].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0) and ((probs >= 0) & (probs <= 1)).all()
    assert np.allclose(served["confidence"], probs.max(axis=1))
    assert [LABELS[i] for i in probs.argmax(axis=1)] == list(served["label"])
    # the server gives what the model gives in process
    local = load_model(MODEL).predict(mention_table)
    assert list(served["label"]) == list(local["label"])
    assert np.allclose(probs, local[list(PROB_COLUMNS)].to_numpy(), atol=1e-9)

    records = mention_table.head(2).to_dict("records")
    status, body = call(f"{server}/invocations", json.dumps({"dataframe_records": records}))
    assert status == 200 and [p["label"] for p in body["predictions"]] == list(served["label"][:2])


BASE_ROW = {"sentence": "Russia backed Maduro.", "start": 0, "end": 6, "incumbent": "Nicolas Maduro", "challenger": "Juan Guaido"}


@pytest.mark.parametrize(
    ("payload", "content_type", "says"),
    [
        (
            json.dumps({"dataframe_records": [{"sentence": "Russia backed Maduro.", "start": 0, "end": 6}]}),
            None,
            "missing inputs",
        ),
        (json.dumps({"dataframe_records": [BASE_ROW | {"start": "x"}]}), None, "start"),
        (json.dumps({"dataframe_records": [BASE_ROW | {"sentence": 17}]}), None, "'sentence' must be a string"),
        (json.dumps({"dataframe_records": [BASE_ROW | {"end": 60}]}), None, "outside the sentence"),
        (json.dumps({"dataframe_records": [BASE_ROW | {"incumbent_aliases": "Maduro"}]}), None, "incumbent_aliases"),
        (json.dumps({"dataframe_records": [BASE_ROW | {"in_power": "rebels"}]}), None, "in_power must be"),
        ("this is not JSON", None, "valid JSON"),
        (json.dumps({"rows": [BASE_ROW]}), None, "dataframe_records"),
        ("sentence,start\n", "text/plain", "content types"),
    ],
    ids=[
        "missing-columns",
        "start-not-int",
        "sentence-not-str",
        "span-outside",
        "aliases-not-list",
        "in-power-unknown",
        "not-json",
        "unknown-key",
        "text-plain",
    ],
)
def test_bad_payloads_get_a_clear_4xx_and_the_server_lives_on(server, payload, content_type, says):
    status, body = call(f"{server}/invocations", payload, content_type or "application/json")
    assert 400 <= status < 500, (status, body)
    message = body["message"] if isinstance(body, dict) else body
    assert says in message
    assert alive(server)
    status, body = call(f"{server}/invocations", json.dumps({"dataframe_records": [BASE_ROW]}))
    assert status == 200 and body["predictions"][0]["label"] in LABELS
