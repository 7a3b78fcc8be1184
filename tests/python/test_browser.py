"""notebooks/incident-5xx.ipynb in a real JupyterLab, driven by headless Chromium.

JupyterLab (PyPI `jupyterlab`) serves a temporary directory on loopback with a token; the
playbook kernelspec is found through JUPYTER_PATH (conftest.py); the notebook's parameters
cell points at the test Prometheus. Chromium is Debian's (/usr/bin/chromium, or
PLAYBOOK_CHROMIUM), driven by Python Playwright; Playwright's own browser download is not used.
The test runs every cell from the Run menu and checks what a person would look for: charts
drawn by JupyterLab's Vega-Lite renderer, the failed check, finding cards, a log query's volume chart and lines
(a cell added to the notebook reads tests/fixtures/incident-logs.jsonl), and no error.

A screenshot goes to target/browser/incident-5xx.png (kept by CI as an artifact). With
PLAYBOOK_UPDATE_SCREENSHOT=1 it also replaces docs/jupyterlab.png.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from http_stub import free_port
from kernel_client import REPO
from prometheus import incident_notebook

CHROMIUM = os.environ.get("PLAYBOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = REPO / "target" / "browser" / "incident-5xx.png"
DOCS_SCREENSHOT = REPO / "docs" / "jupyterlab.png"

# JupyterLab settings for a quiet, deterministic page: no news or update pop-ups, and every cell
# in the page (JupyterLab 4 otherwise leaves cells far from the viewport out of the DOM).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


class JupyterLab:
    """`jupyter lab` on 127.0.0.1 with a token, serving `root`, until stop()."""

    def __init__(self, root: Path, state: Path, timeout: float = 60) -> None:
        self.token = secrets.token_hex(16)
        settings = state / "user-settings"
        for name, value in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        self.log_path = state / "jupyterlab.log"
        env = dict(os.environ)  # JUPYTER_PATH from conftest.py: the playbook kernelspec
        env["JUPYTER_CONFIG_DIR"] = str(state / "config")
        env["JUPYTER_DATA_DIR"] = str(state / "data")
        env["JUPYTER_RUNTIME_DIR"] = str(state / "runtime")
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        for attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    [
                        sys.executable, "-m", "jupyterlab",
                        "--no-browser",
                        "--allow-root",
                        "--ServerApp.ip=127.0.0.1",
                        f"--ServerApp.port={self.port}",
                        "--ServerApp.port_retries=0",
                        f"--IdentityProvider.token={self.token}",
                        f"--ServerApp.root_dir={root}",
                        f"--LabApp.user_settings_dir={settings}",
                        f"--LabApp.workspaces_dir={state / 'workspaces'}",
                        "--LabApp.check_for_updates_class="
                        "jupyterlab.handlers.announcements.NeverCheckForUpdate",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=root,
                    env=env,
                )
            if self.wait_ready(timeout):
                return
            busy = "already in use" in self.log()
            self.stop()
            if not busy:
                break
        raise RuntimeError(f"JupyterLab did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(
                    f"{self.url}/api/kernelspecs?token={self.token}", timeout=2
                ) as r:
                    specs = json.load(r)["kernelspecs"]
                assert "playbook" in specs, f"JupyterLab does not find the kernel: {sorted(specs)}"
                return True
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def jupyterlab(tmp_path, prometheus):
    root = tmp_path / "notebooks"
    state = tmp_path / "lab"
    root.mkdir()
    state.mkdir()
    nb = incident_notebook(prometheus.url)
    # The same incident's logs, from the file beside its metrics, read by the kernel itself.
    nb.cells.append(nbformat.v4.new_code_cell(
        f"source app logs {REPO / 'tests' / 'fixtures' / 'incident-logs.jsonl'} format json label service\n"
        "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z\n"
        'logs {service="checkout"} | json | level="error" limit 5'
    ))
    nbformat.write(nb, root / "incident-5xx.ipynb")
    lab = JupyterLab(root, state)
    yield lab
    lab.stop()


@pytest.mark.timeout(180)
def test_incident_notebook_in_jupyterlab(jupyterlab):
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), (
        f"no Chromium at {CHROMIUM}: apt-get install chromium (bash .ci/run does)"
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            console = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            try:
                drive(page, jupyterlab)
            except Exception:
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT.with_name("incident-5xx-failed.png")))
                print("browser console errors:\n" + "\n".join(console[-20:]))
                print("JupyterLab log (tail):\n" + jupyterlab.log()[-4000:])
                raise
        finally:
            browser.close()


def drive(page, lab: JupyterLab) -> None:
    page.goto(f"{lab.url}/lab/tree/incident-5xx.ipynb?token={lab.token}")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    notebook.locator(".jp-Cell").first.wait_for()
    # The Playbook kernel is up when the toolbar names it and reports idle.
    page.locator(".jp-NotebookPanel-toolbar", has_text="Playbook").wait_for()
    page.wait_for_function(
        "() => /Playbook.*Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent || '')",
        timeout=30_000,
    )
    code_cells = notebook.locator(".jp-CodeCell")
    n_code = code_cells.count()
    assert n_code >= 8, f"only {n_code} code cells on the page"

    started = time.monotonic()
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

    # Done when every code cell shows an execution count and the kernel is idle again.
    page.wait_for_function(
        """(n) => {
            const prompts = [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
            const status = document.querySelector('#jp-main-statusbar')?.textContent || '';
            return prompts.length === n && prompts.every(p => /\\[\\d+\\]/.test(p.textContent))
                && /Idle/.test(status);
        }""",
        arg=n_code,
        timeout=60_000,
    )
    ran_in = time.monotonic() - started

    failed = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert failed.count() == 0, "error outputs:\n" + "\n---\n".join(failed.all_inner_texts())

    # Charts: drawn by JupyterLab's Vega 5 renderer (vega-embed: a canvas, or an svg).
    charts = notebook.locator(".jp-RenderedVegaCommon5")
    drawn = notebook.locator(".jp-RenderedVegaCommon5 canvas, .jp-RenderedVegaCommon5 svg")
    try:
        drawn.first.wait_for(timeout=20_000)
    except Exception:
        shown = page.evaluate(
            """() => [...document.querySelectorAll('.jp-OutputArea-output')]
                 .map(o => (o.getAttribute('data-mime-type') || o.className).slice(0, 80))"""
        )
        raise AssertionError(
            f"no Vega-Lite chart was drawn; {charts.count()} Vega outputs; the outputs are: {shown}"
        )
    assert charts.count() >= 6, f"{charts.count()} Vega-Lite charts for the six queries"
    box = drawn.first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100, f"the chart is {box}"

    # The summary tables beside the charts: min, avg, max, last per series.
    tables = notebook.locator(".jp-OutputArea-output.jp-RenderedHTMLCommon table", has_text="avg")
    assert tables.count() >= 6, f"{tables.count()} summary tables for the six queries"

    outputs = notebook.locator(".jp-OutputArea-output")
    outputs.filter(has_text="✗ FAIL").first.wait_for()
    assert outputs.filter(has_text="checkout 5xx rate below 1/s").count() >= 1

    # Finding cards: the findings' markdown, rendered.
    card = notebook.locator(".jp-OutputArea-output.jp-RenderedMarkdown", has_text="v2.15.0")
    card.first.wait_for()
    assert card.first.locator("blockquote").count() + card.first.locator("strong").count() > 0, (
        "the finding card is not rendered markdown: " + card.first.inner_html()[:300]
    )

    # A log query's volume: its own Vega-Lite chart, in the log cell, above the lines.
    log_cell = notebook.locator(".jp-CodeCell", has_text='level="error" limit 5').last
    volume = log_cell.locator(".jp-RenderedVegaCommon5 canvas, .jp-RenderedVegaCommon5 svg")
    volume.first.wait_for(timeout=20_000)
    box = volume.first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 60, f"the volume chart is {box}"

    # A log query's lines: a table of five error lines, each coloured by its level.
    lines = notebook.locator(".jp-OutputArea-output.jp-RenderedHTMLCommon table", has_text="payments-api")
    lines.first.wait_for()
    assert lines.first.locator("tbody tr").count() == 5, lines.first.inner_html()[:500]
    colour = lines.first.locator("tbody td").last.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(192, 57, 43)", f"an error line is drawn in {colour}"

    # The screenshot: the file browser folded away, the scoped 5xx chart with its heading.
    current_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current_tab.count():
        current_tab.first.click()
    heading = notebook.locator(".jp-MarkdownCell", has_text="2. Which codes, which instances?").first
    heading.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    if os.environ.get("PLAYBOOK_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(SCREENSHOT, DOCS_SCREENSHOT)
    print(f"all cells ran in {ran_in:.1f} s; screenshot {SCREENSHOT}")
