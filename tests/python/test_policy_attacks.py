"""A command policy that understands the shell and fails closed (issue 13), end to end.

Each form below would delete or overwrite a sentinel file. Run headless without `--yes`, and
through nbclient (where nobody can answer), none of them runs and the sentinel survives; with
`--yes` each one runs, which shows the form really reaches the file. Under an allow list, the
forms that hide a command are denied even with `--yes`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from kernel_client import notebook, playbook_run

KEEP = "keep me\n"

# Each form acts on the sentinel `{F}` in the directory `{D}`.
NEEDS_CONSENT = [
    "'rm' {F}",
    '"rm" {F}',
    r"r\m {F}",
    r"\rm {F}",
    "/bin/rm {F}",
    "rm${{IFS}}{F}",
    "env rm {F}",
    "echo {F} | xargs rm",
    "command rm {F}",
    "exec rm {F}",
    "nice rm {F}",
    "timeout 5 rm {F}",
    "KUBECONFIG=x rm {F}",
    "sh -c 'rm {F}'",
    "bash -c 'rm {F}'",
    "eval rm {F}",
    """python3 -c 'import os; os.remove("{F}")'""",
    "$(echo rm) {F}",
    "`echo rm` {F}",
    'echo "$(rm {F})"',
    "echo `rm {F}`",
    "{{ rm {F}; }}",
    "if true; then rm {F}; fi",
    "for x in 1; do rm {F}; done",
    "! rm {F}",
    "cd {D} && rm sentinel",
    "find {D} -name sentinel -delete",
    r"find {D} -name sentinel -exec rm {{}} \;",
    "unlink {F}",
    "truncate -s 0 {F}",
    "echo x > {F}",
    "echo x | tee {F}",
    "dd if=/dev/null of={F}",
    """awk 'BEGIN {{ system("rm {F}") }}'""",
]

# Under `allow = ["echo *", "df", "kubectl get *"]` these are denied, --yes or not.
ALLOW = 'allow = ["echo *", "df", "kubectl get *"]\n'
DENIED_UNDER_ALLOW = [
    'echo "$(rm {F})"',
    'kubectl get pods "$(rm {F})"',
    "echo x; rm {F}",
    "$(echo rm) {F}",
    "sh -c 'rm {F}'",
]


def env(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "PLAYBOOK_POLICY"}
    environment.update(extra)
    return environment


def sentinel(directory: Path) -> Path:
    path = directory / "sentinel"
    path.write_text(KEEP)
    return path


def untouched(path: Path) -> bool:
    return path.exists() and path.read_text() == KEEP


def form_in(tmp_path: Path, form: str) -> tuple[Path, Path]:
    """A notebook running `form` against a fresh sentinel in its own folder."""
    directory = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    directory.mkdir()
    target = sentinel(directory)
    return notebook(directory, "run " + form.format(F=target, D=directory)), target


@pytest.mark.parametrize("form", NEEDS_CONSENT)
def test_headless_needs_consent_and_yes_runs(tmp_path, form):
    path, target = form_in(tmp_path, form)
    proc = playbook_run(str(path), "-o", str(path.with_suffix(".out.ipynb")), cwd=path.parent, env=env())
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "ConsentRequired" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert untouched(target), f"`{form}` ran without consent"

    proc = playbook_run(str(path), "--yes", "-o", str(path.with_suffix(".out.ipynb")), cwd=path.parent, env=env())
    assert "approved in advance (--yes)" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert not untouched(target), f"`{form}` did not reach the sentinel even with --yes"


def test_nbclient_cannot_give_consent(tmp_path):
    from nbclient import NotebookClient

    cases = [form_in(tmp_path, form) for form in NEEDS_CONSENT]
    cells = [nbformat.read(path, as_version=4).cells[0] for path, _ in cases]
    nb = nbformat.read(cases[0][0], as_version=4)
    nb.cells = cells
    NotebookClient(nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    for (path, target), cell, form in zip(cases, nb.cells, NEEDS_CONSENT):
        assert [o.get("ename") for o in cell.outputs] == ["ConsentRequired"], (form, cell.outputs)
        assert untouched(target), f"`{form}` ran through nbclient"


@pytest.mark.parametrize("form", DENIED_UNDER_ALLOW)
def test_an_allow_list_denies_hidden_commands(tmp_path, form):
    path, target = form_in(tmp_path, form)
    (tmp_path / "policy.toml").write_text(ALLOW)
    proc = playbook_run(str(path), "--yes", cwd=path.parent, env=env(PLAYBOOK_POLICY=str(tmp_path / "policy.toml")))
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "CommandDenied" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert untouched(target), f"`{form}` ran under the allow list"


def test_a_changed_path_is_judged(tmp_path):
    """`--env PATH=...` would run an attacker's `df`: denied under an allow list, asked for
    otherwise."""
    target = sentinel(tmp_path)
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "df").write_text(f"#!/bin/sh\nrm {target}\n")
    (evil / "df").chmod(0o755)
    path = notebook(tmp_path, f"run --env PATH={evil}:/usr/bin:/bin df")
    (tmp_path / "policy.toml").write_text(ALLOW)
    proc = playbook_run(str(path), "--yes", cwd=tmp_path, env=env(PLAYBOOK_POLICY=str(tmp_path / "policy.toml")))
    assert "CommandDenied" in proc.stdout + proc.stderr and "`PATH`" in proc.stderr, proc.stdout + proc.stderr
    assert untouched(target)

    proc = playbook_run(str(path), cwd=tmp_path, env=env())
    assert "ConsentRequired" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert untouched(target)


def test_a_parameter_is_one_word(tmp_path):
    """`{{name}}` inside double quotes, with a value holding a substitution: printed, not run."""
    target = sentinel(tmp_path)
    value = f"$(rm {target})`rm {target}`\"; rm {target}; echo \""
    path = notebook(tmp_path, 'param name = "x"', 'run echo "{{name}}"', "run echo {{name}}")
    out = tmp_path / "out.ipynb"
    proc = playbook_run(str(path), "-p", f"name={value}", "-o", str(out), cwd=tmp_path, env=env())
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert untouched(target)
    executed = nbformat.read(out, as_version=4)
    for cell in executed.cells[1:]:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert printed == value + "\n", printed


def test_a_parameter_adds_no_query_syntax(tmp_path):
    """`{{name}}` in a query: inside a label value's quotes, a value that closes them and appends
    `or vector(1)` selects a service of that odd name (none) instead; outside quotes, a value
    that is not one word is refused, with its place in the cell."""
    incident = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "incident.om"
    value = 'checkout"} or vector(1) or x{a="'
    path = notebook(
        tmp_path,
        'param service = "checkout"\nparam range = "5m"',
        f"source m file {incident}\nwindow 2026-11-20T10:00:00Z .. 2026-11-20T11:00:00Z",
        'errors = query sum(rate(http_requests_total{service="{{service}}"}[{{range}}]))',
    )
    journal = tmp_path / "j.jsonl"
    out = tmp_path / "out.ipynb"
    proc = playbook_run(str(path), "-p", f"service={value}", "--journal", str(journal), "-o", str(out), cwd=tmp_path, env=env())
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    queries = [json.loads(line) for line in journal.read_text().splitlines()]
    queries = [line for line in queries if line["step"] == "query"]
    assert [q["input"]["expr"] for q in queries] == [
        'sum(rate(http_requests_total{service="checkout\\"} or vector(1) or x{a=\\""}[5m]))'
    ]
    assert queries[0]["result"]["result"] == [], "vector(1) was not added"

    proc = playbook_run(str(path), "-p", "range=5m]) or vector(1) #", "-o", str(out), cwd=tmp_path, env=env())
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    said = proc.stdout + proc.stderr
    assert "must be one word" in said and "line 1, column 68" in said, said


@pytest.mark.parametrize("kind", ["dangling-link", "directory"])
def test_a_policy_path_that_is_not_a_file_stops_every_command(tmp_path, kind):
    marker = tmp_path / "ran"
    policy = tmp_path / ".playbook" / "policy.toml"
    policy.parent.mkdir()
    if kind == "dangling-link":
        policy.symlink_to(tmp_path / "missing.toml")
    else:
        policy.mkdir()
    path = notebook(tmp_path, f"run touch {marker}")
    proc = playbook_run(str(path), "--yes", cwd=tmp_path, env=env())
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "no command runs while the policy is broken" in proc.stdout + proc.stderr
    assert not marker.exists()
