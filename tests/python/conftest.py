"""Shared setup for the Python test suite.

The kernel under test is the `playbook` binary, found at `target/release/playbook` in this
repository, or wherever the `PLAYBOOK_BIN` environment variable points. Before any test runs,
the binary installs its own kernelspec into a temporary prefix (`playbook install --prefix`), and
`JUPYTER_PATH` points there, so every Jupyter client in this process finds the kernel `playbook`
exactly the way a user's JupyterLab would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kernel_client import KERNEL_NAME, REPO, playbook_bin, started_kernel


@pytest.fixture(scope="session", autouse=True)
def installed_kernelspec():
    """Install the kernelspec with the binary itself and make Jupyter find it."""
    binary = playbook_bin()
    assert binary.is_file() and os.access(binary, os.X_OK), (
        f"kernel binary not found at {binary}: run `cargo build --release` "
        "or set PLAYBOOK_BIN"
    )

    tmp = Path(tempfile.mkdtemp(prefix="playbook-tests-"))
    prefix = tmp / "prefix"
    workdir = tmp / "work"
    runtime = tmp / "runtime"
    for d in (prefix, workdir, runtime):
        d.mkdir()

    proc = subprocess.run(
        [str(binary), "install", "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, (
        f"`playbook install --prefix` exited {proc.returncode}\n"
        f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
    )

    spec_dir = prefix / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec_file = spec_dir / "kernel.json"
    assert spec_file.is_file(), f"`playbook install` did not write {spec_file}"
    spec = json.loads(spec_file.read_text())
    assert spec["argv"] == [str(binary), "kernel", "--connection-file", "{connection_file}"], spec
    assert spec["language"] == "playbook", spec
    assert spec["interrupt_mode"] == "message", spec
    assert spec.get("display_name"), spec

    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    # Kernels inherit this process's working directory: keep their journals
    # (.playbook/journal/) out of the repository.
    os.chdir(workdir)

    # The kernel must be visible to the standard tooling, not only to this process's imports.
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter_client.kernelspecapp", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    specs = json.loads(listing.stdout)["kernelspecs"]
    assert KERNEL_NAME in specs, f"`jupyter kernelspec list` does not show playbook: {sorted(specs)}"
    assert Path(specs[KERNEL_NAME]["resource_dir"]).resolve() == spec_dir.resolve()

    yield spec_dir

    os.chdir(saved_cwd)
    os.environ.clear()
    os.environ.update(saved_env)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture
def kernel():
    """A fresh playbook kernel through jupyter_client: (KernelManager, client with channels)."""
    with started_kernel() as (km, kc):
        yield km, kc


# --- a real Prometheus, loaded with tests/fixtures/incident.om (see prometheus.py) -------------


@pytest.fixture(scope="session")
def prometheus_blocks(tmp_path_factory) -> Path:
    """The fixture as TSDB blocks, made once per session by promtool."""
    from prometheus import build_blocks

    return build_blocks(tmp_path_factory.mktemp("prometheus-blocks") / "blocks")


@pytest.fixture(scope="session")
def prometheus(prometheus_blocks, tmp_path_factory):
    """One Prometheus serving the incident data, shared by the tests (they only read it)."""
    from prometheus import PrometheusServer

    server = PrometheusServer(prometheus_blocks, tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()
