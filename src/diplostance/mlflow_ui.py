"""The MLflow UI over the project's store: the command, a managed server, a browser capture.

MLflow 3 runs ``mlflow ui`` as a CLI process that starts uvicorn (a supervisor and its
workers) and, unless disabled, a huey job runner. Killing only the CLI's PID leaves those
behind for a while, so:

- ``make ui`` execs the CLI in the foreground with job execution off: Ctrl-C reaches
  the whole foreground process group and everything stops;
- :func:`running_server` (tests, screenshots) starts it in its own session (setsid) and
  stops the process group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def artifact_root(store_uri: str) -> str | None:
    """Where the project keeps artifacts for a SQLite store: mlartifacts/ beside the database
    (the same rule as tracking.setup); None for other stores."""
    if store_uri.startswith("sqlite:///"):
        return (Path(store_uri[len("sqlite:///") :]).parent / "mlartifacts").resolve().as_uri()
    return None


def ui_command(store_uri: str, *, host: str = "127.0.0.1", port: int = 5000, workers: int = 1) -> list[str]:
    """`mlflow ui` over the store. Runs keep absolute file:// artifact URIs, which the
    server reads directly; --default-artifact-root only matters for experiments created
    from the UI, and keeps them beside the database too."""
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store_uri, "--host", host, "--port", str(port)]
    cmd += ["--workers", str(workers)]
    root = artifact_root(store_uri)
    if root:
        cmd += ["--default-artifact-root", root, "--no-serve-artifacts"]
    return cmd


def server_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no huey job runner to outlive the server
    env.pop("MLFLOW_TRACKING_URI", None)  # the server takes its store from --backend-store-uri
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> None:
    """Poll the server's /health until it answers 200 (MLflow 3 takes 12-20 s to start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the MLflow server exited with code {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the MLflow server at {url} did not answer within {timeout:.0f} s")


def stop_group(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the server's whole process group, SIGKILL whatever is left after timeout."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and group_alive(pgid):
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.2)
    if group_alive(pgid):
        log.warning("MLflow server group %d ignored SIGTERM: killing it", pgid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies excluded)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state ppid pgrp ...
            return True
    return False


@dataclass(frozen=True)
class Server:
    url: str
    pgid: int  # the server's own process group (session): stop_group ends all of it


@contextlib.contextmanager
def running_server(
    store_uri: str, *, port: int | None = None, timeout: float = 90.0, log_path: Path | None = None
) -> Iterator[Server]:
    """Start `mlflow ui` over the store in its own session; yield it; stop the whole group."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        ui_command(store_uri, port=port), env=server_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_ready(url, timeout, proc)
        yield Server(url=url, pgid=proc.pid)  # start_new_session: the group id is the leader's pid
    finally:
        stop_group(proc)
        if log_path:
            out.close()


# --------------------------------------------------------------------------- browser


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else None


def compare_url(base_url: str, experiment_id: str, run_ids: list[str]) -> str:
    runs = ",".join(f'"{r}"' for r in run_ids)
    return f'{base_url}/#/compare-runs?runs=[{runs}]&experiments=["{experiment_id}"]'


def experiment_url(base_url: str, experiment_id: str) -> str:
    return f"{base_url}/#/experiments/{experiment_id}/runs"


@contextlib.contextmanager
def browser_page(*, width: int = 1440, height: int = 1000) -> Iterator:
    """A Playwright page in Debian's headless Chromium (no browser download)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise FileNotFoundError(f"{CHROMIUM} not found: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def close_assistant(page) -> None:
    """Close the MLflow Assistant side panel if it is open (it takes a third of the width)."""
    close = page.get_by_role("button", name="Close", exact=True)
    if close.count():
        close.first.click()


def open_experiment(page, base_url: str, experiment_id: str, parent_name: str, metrics: list[str]) -> None:
    """Open the experiment's runs table, add the metric columns and expand the parent run
    so its children are listed (MLflow nests child runs under their parent, collapsed)."""
    page.goto(experiment_url(base_url, experiment_id))
    page.get_by_text(parent_name, exact=True).first.wait_for()
    close_assistant(page)
    page.get_by_test_id("column-selection-dropdown").first.click()
    for metric in metrics:
        page.get_by_text(metric, exact=True).first.click()
    page.keyboard.press("Escape")
    row = page.locator("[role=row]", has=page.get_by_text(parent_name, exact=True)).first
    row.locator("[data-component-id*=runnamecellrenderer]").first.click()  # the +/- expander


def table_rows(page) -> list[str]:
    """The text of every row of the runs table, cells separated by ' | '."""
    return page.evaluate("() => [...document.querySelectorAll('[role=row]')].map(r => r.innerText.replace(/\\n/g, ' | '))")


def compare_from_table(page, run_names: list[str]) -> None:
    """Tick the runs in the table and press Compare (the way a user does)."""
    for name in run_names:
        row = page.locator("[role=row]", has=page.get_by_text(name, exact=True)).first
        row.get_by_role("checkbox").click()
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_url("**/compare-runs?**")
    for name in run_names:
        page.get_by_text(name, exact=True).first.wait_for()


def _pick(page, index: int, values: list[str]) -> None:
    """Choose values in the compare view's index-th select (a virtualised list: scroll to find)."""
    page.locator(".du-bois-light-select-selector").nth(index).click()
    holder = page.locator(".du-bois-light-select-dropdown:visible .rc-virtual-list-holder").first
    for value in values:
        holder.evaluate("h => h.scrollTop = 0")
        option = page.locator(f".du-bois-light-select-dropdown:visible .du-bois-light-select-item-option[title='{value}']")
        for _ in range(200):
            if option.count():
                break
            holder.evaluate("h => h.scrollTop += 120")
            page.wait_for_timeout(30)
        option.first.click()
    page.keyboard.press("Escape")


def show_in_plot(page, params: list[str], metrics: list[str]) -> None:
    """Put the given params and metrics on the compare view's parallel-coordinates plot."""
    page.get_by_role("button", name="Clear All").click()
    if params:
        _pick(page, 0, params)
    if metrics:
        _pick(page, 1, metrics)
    for metric in metrics:
        page.get_by_text(metric, exact=True).first.wait_for()
    page.wait_for_timeout(1000)  # let the plot finish drawing


def open_compare(page, base_url: str, experiment_id: str, run_ids: list[str], run_names: list[str]) -> None:
    """Open the compare view of the runs by its URL and wait for their names."""
    page.goto(compare_url(base_url, experiment_id, run_ids))
    for name in run_names:
        page.get_by_text(name, exact=True).first.wait_for()
    close_assistant(page)
