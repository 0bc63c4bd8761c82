"""The MLflow UI over the project's store, in the foreground (make ui); Ctrl-C stops it.

python pipelines/ui.py [--port 5000]

The store is MLFLOW_TRACKING_URI or mlflow.db at the repo root; artifacts stay in
mlartifacts/ beside it. This process execs `mlflow ui` (no wrapper left in between) with
the job runner off, so Ctrl-C reaches the CLI and its uvicorn server, the whole
foreground process group, and nothing is left behind.
"""

from __future__ import annotations

import os

import typer

from diplostance.mlflow_ui import server_env, ui_command
from diplostance.tracking import tracking_uri


def main(
    port: int = typer.Option(5000, "--port", "-p", help="Port on 127.0.0.1"),
    workers: int = typer.Option(1, "--workers", help="uvicorn workers (one is plenty for one user)"),
) -> None:
    store = tracking_uri()
    if store.startswith(("http://", "https://", "databricks")):
        raise SystemExit(f"MLFLOW_TRACKING_URI={store} is a server already: open it in a browser")
    cmd = ui_command(store, port=port, workers=workers)
    print(f"MLflow UI over {store} at http://127.0.0.1:{port} (ready in a few seconds; Ctrl-C stops it)", flush=True)
    os.execve(cmd[0], cmd, server_env())


if __name__ == "__main__":
    typer.run(main)
