"""`playbook run`: notebooks executed headless, in-process, with the outputs the kernel sends."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from kernel_client import KERNEL_NAME, REPO, notebook, playbook_run


def test_first_response_runs_and_writes_a_valid_notebook(tmp_path):
    out = tmp_path / "executed.ipynb"
    proc = playbook_run(str(REPO / "notebooks" / "first-response.ipynb"), "-o", str(out), "-p", "mount=/tmp")
    assert proc.returncode == 0, proc.stderr
    assert "all cells passed" in proc.stderr
    assert "[cell 1 of" in proc.stderr, "progress goes to stderr"
    executed = nbformat.read(out, as_version=4)
    nbformat.validate(executed)
    markdown = [
        o["data"]["text/markdown"]
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/markdown" in o.get("data", {})
    ]
    assert any("Disk usage of /tmp reviewed" in m for m in markdown), "the -p override reached the finding"
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code")


def test_an_error_stops_the_run_with_exit_2_and_keeps_what_ran(tmp_path):
    path = notebook(tmp_path, "run echo before", "finding bogus \"x\"", "run touch should-not-exist")
    out = tmp_path / "out.ipynb"
    proc = playbook_run(str(path), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "line 1, column 9" in proc.stderr
    assert not (tmp_path / "should-not-exist").exists(), "no cell runs after an error"
    executed = nbformat.read(out, as_version=4)
    nbformat.validate(executed)
    first, failed, skipped = executed.cells
    assert first.outputs[0]["text"] == "before\n"
    assert [o["output_type"] for o in failed.outputs] == ["error"]
    assert failed.outputs[0]["ename"] == "ParseError"
    assert skipped.execution_count is None and skipped.outputs == []


def test_unknown_param_override_is_reported(tmp_path):
    path = notebook(tmp_path, "param region = \"eu\"\nregion", tags={0: ["parameters"]})
    proc = playbook_run(str(path), "-o", str(tmp_path / "o.ipynb"), "-p", "region=us", "-p", "regoin=x")
    assert proc.returncode == 0, proc.stderr
    assert "no `param` statement took -p regoin" in proc.stderr
    executed = nbformat.read(tmp_path / "o.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["data"]["text/plain"] == "us"


def shape(cells):
    """What a reader sees of the outputs, without times and durations."""
    seen = []
    for cell in cells:
        for o in cell.outputs:
            if o["output_type"] == "stream":
                seen.append(("stream", o["name"], o["text"]))
            elif o["output_type"] == "error":
                seen.append(("error", o["ename"], o["evalue"]))
            else:
                seen.append((o["output_type"], tuple(sorted(o["data"]))))
    return seen


def test_headless_outputs_match_the_kernels(tmp_path):
    cells = (
        "run printf 'a\\nb\\n'; sleep 0.2; printf 'oops\\n' >&2",  # the pause orders the two pipes
        "param n = 3\nn",
        "finding medium \"queue depth {{n}}x normal\"",
        "findings",
        "run exit 4",
        "findng info \"typo\"",
    )
    path = notebook(tmp_path, *cells)
    out = tmp_path / "headless.ipynb"
    proc = playbook_run(str(path), "-o", str(out))
    assert proc.returncode == 2
    headless = nbformat.read(out, as_version=4)

    through_kernel = nbformat.read(path, as_version=4)
    NotebookClient(through_kernel, kernel_name=KERNEL_NAME, timeout=30, allow_errors=True).execute()
    assert shape(headless.cells) == shape(through_kernel.cells)
