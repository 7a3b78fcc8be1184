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


def tagged_playbook(tmp_path):
    """Five cells, each leaving a file behind when it runs, so what ran is plain to see."""
    return notebook(
        tmp_path,
        'param service = "checkout"',
        "run touch ran-1",
        "svc = run echo {{service}}\nrun touch ran-2",
        "run touch ran-3-slow",
        "check \"marker\": run test -e ran-2\nrun touch ran-4",
        tags={0: ["parameters"], 2: ["triage"], 3: ["triage", "slow"], 4: ["gate"]},
    )


def ran(tmp_path) -> list[str]:
    return sorted(p.name for p in tmp_path.glob("ran-*"))


def skipped_lines(executed) -> list[str | None]:
    """For each code cell, the reason it was skipped, or None when it ran."""
    out = []
    for cell in (c for c in executed.cells if c.cell_type == "code"):
        why = cell.metadata.get("playbook", {}).get("skipped")
        if why is not None:
            assert cell.execution_count is None and [o["text"] for o in cell.outputs] == [why + "\n"]
        else:
            assert cell.execution_count, "a cell that ran has its count"
        out.append(why)
    return out


def test_tags_run_only_the_tagged_cells_and_the_parameters(tmp_path):
    path, out = tagged_playbook(tmp_path), tmp_path / "out.ipynb"
    proc = playbook_run(str(path), "-o", str(out), "--tags", "triage,gate", "--skip-tags", "slow", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert ran(tmp_path) == ["ran-2", "ran-4"]
    assert "3 of 3 cells ran (2 skipped as asked)" in proc.stderr, proc.stderr
    executed = nbformat.read(out, as_version=4)
    nbformat.validate(executed)
    assert skipped_lines(executed) == [
        None,
        "skipped: not tagged triage or gate (--tags)",
        None,
        "skipped: tagged slow (--skip-tags)",
        None,
    ]


def test_from_starts_at_a_cell_number_or_a_tag(tmp_path):
    path = tagged_playbook(tmp_path)
    proc = playbook_run(str(path), "-o", str(tmp_path / "a.ipynb"), "--from", "3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert ran(tmp_path) == ["ran-2", "ran-3-slow", "ran-4"]
    for marker in tmp_path.glob("ran-*"):
        marker.unlink()
    # The parameters cell runs whatever the start: cell 3 reads `service`.
    proc = playbook_run(str(path), "-o", str(tmp_path / "b.ipynb"), "--from", "slow", cwd=tmp_path)
    assert proc.returncode == 1, "cell 5's check fails: cell 3 did not run"
    assert ran(tmp_path) == ["ran-3-slow", "ran-4"]
    assert skipped_lines(nbformat.read(tmp_path / "b.ipynb", as_version=4)) == [
        None, "skipped: before --from slow", "skipped: before --from slow", None, None]


def test_a_selection_that_leaves_a_binding_unbound_is_refused_before_anything_runs(tmp_path):
    path = notebook(
        tmp_path,
        "run touch ran-1",
        "errors = run echo 3",
        'finding high "{{errors}} errors"',
        tags={1: ["slow"]},
    )
    proc = playbook_run(str(path), "-o", str(tmp_path / "out.ipynb"), "--skip-tags", "slow", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert ("cell 3 reads `errors`, which cell 2 binds, and cell 2 does not run "
            "(skipped: tagged slow (--skip-tags))") in proc.stderr, proc.stderr
    assert ran(tmp_path) == [] and not (tmp_path / "out.ipynb").exists()
    for args, said in [
        (["--from", "9"], "--from 9: the notebook has 3 code cells, counted from 1"),
        (["--from", "later"], "--from later: no code cell is tagged later"),
    ]:
        proc = playbook_run(str(path), *args, cwd=tmp_path)
        assert proc.returncode == 2 and said in proc.stderr, proc.stderr
        assert ran(tmp_path) == []


def test_a_tag_no_cell_has_is_refused_rather_than_a_gate_that_ran_nothing(tmp_path):
    path = tagged_playbook(tmp_path)
    for args, said in [
        (["--tags", "gaet"], "--tags gaet: no code cell is tagged gaet"),
        (["--skip-tags", "slwo"], "--skip-tags slwo: no code cell is tagged slwo"),
        (["--tags", ""], "a tag cannot be empty"),
        (["--tags", "gate,"], "a tag cannot be empty"),
        (["--from=-1"], "--from -1: no code cell is tagged -1"),
    ]:
        proc = playbook_run(str(path), "-o", str(tmp_path / "out.ipynb"), *args, cwd=tmp_path)
        assert proc.returncode == 2 and said in proc.stderr, (args, proc.stderr)
        assert ran(tmp_path) == [], args
