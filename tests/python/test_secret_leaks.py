"""Secrets that leak on no path (issue 14): every way a secret was seen to get out, tried through
the kernel (every message a frontend receives, replies included) and through `playbook run`
(terminal, executed notebook, JUnit, journal, `playbook report` in each format), with the
secret looked for in each of its forms: as written, HTML-, Markdown-, JSON- and shell-escaped,
and percent-encoded (upper and lower case, `+` for a space).

Then a seeded randomized sweep of awkward secrets, the refusal of secrets too short to mask, and
a recorded investigation that uses secrets replayed with the secret's variable unset.
"""

from __future__ import annotations

import html
import json
import random
import re
import shlex
import subprocess
import urllib.parse
from pathlib import Path

import nbformat
import pytest

from http_stub import StubReply, StubServer
from kernel_client import (
    REPO,
    bundles,
    caret_under,
    get_reply,
    iopub_until_idle,
    notebook,
    playbook_bin,
    playbook_run,
    run_error,
    started_kernel,
)
from test_journal import assert_same_outputs
from test_safety import MASK, NO_STDIN, base_env, strings

SEC_A = "hunter22"
SEC_H = "p&ss<w>rd-1.x"
SECRETS = {"SEC_A": SEC_A, "SEC_H": SEC_H}
METRICS = REPO / "tests" / "fixtures" / "incident.om"


def encodings(secret: str) -> dict[str, str]:
    """The forms in which an output could carry `secret`, each named once."""
    url = urllib.parse.quote(secret, safe="")
    forms = {
        "as written": secret,
        "HTML-escaped": html.escape(secret),
        "HTML-escaped, quotes kept": html.escape(secret, quote=False),
        "Markdown-escaped": re.sub(r"([\\`*_{}\[\]<>()#+\-.!|])", r"\\\1", secret),
        "JSON-escaped": json.dumps(secret, ensure_ascii=False)[1:-1],
        "JSON-escaped, ASCII": json.dumps(secret)[1:-1],
        "percent-encoded": url,
        "percent-encoded, lower case": re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), url),
        "form-encoded": urllib.parse.quote_plus(secret, safe=""),
        "shell-quoted": shlex.quote(secret),
    }
    return {encoded: name for name, encoded in reversed(forms.items())}


def found_in(texts: list[str], secrets) -> list[str]:
    """Each form of each secret found in any of `texts`, with where."""
    return [
        f"{form} {secret!r} in {text[:200]!r}"
        for secret in secrets
        for encoded, form in encodings(secret).items()
        for text in texts
        if encoded in text
    ]


def frontend_sees(messages: list[dict]) -> list[str]:
    """Every string of every message, and each cell's streams joined as a frontend shows them."""
    texts = [s for m in messages for s in strings(m)]
    joined: dict[tuple, str] = {}
    for m in messages:
        if m["msg_type"] == "stream":
            key = (m["parent_header"].get("msg_id"), m["content"]["name"])
            joined[key] = joined.get(key, "") + m["content"]["text"]
    return texts + list(joined.values())


def request(kc, msg_type: str, content: dict) -> dict:
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg)
    return get_reply(kc, msg["header"]["msg_id"], timeout=15)


@pytest.fixture
def redirector():
    """A site that answers /go with a redirect carrying SEC_H percent-encoded, as a login or an
    API gateway would; /echo redirects with its `t` parameter percent-encoded back."""

    def answer(req):
        if req.path == "/go":
            return StubReply(302, b"", "text/plain", headers=[("Location", "/in?t=" + urllib.parse.quote(SEC_H))])
        if req.path == "/echo":
            encoded = urllib.parse.quote(req.param("t") or "", safe="")
            if len(server.requests) % 2:
                encoded = re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), encoded)
            return StubReply(302, b"", "text/plain", headers=[("Location", "/in?t=" + encoded)])
        return StubReply(200, b"ok\n", "text/plain")

    server = StubServer(answer)
    yield server
    server.stop()


# The leaks of issue 14, one cell each (after the two `secret` cells).
SPLIT_AROUND_LIVE_LINE = 'run sleep 1.2; printf %s "${SEC_A%?????}"; sleep 1.3; printf "%s\\n" "${SEC_A#???}"'


def leak_cells(site: str) -> list[str]:
    return [
        "secret A from env:SEC_A",
        "secret H from env:SEC_H",
        SPLIT_AROUND_LIVE_LINE,
        "r = run echo {{A}} {{H}}",
        'check "token {{A}} is {{H}}": run false',
        "run sleep 1.1 # {{H}}",
        'finding high "the password {{H}} was in the log"',
        f"p = probe {site}/go?t={{{{H}}}}",
        f"source f file {METRICS}",
        'query up{job="{{H}}"}',
    ]


def test_no_leak_reaches_a_frontend(redirector):
    with started_kernel(env=base_env(**SECRETS)) as (km, kc):
        seen: list[dict] = []
        by_cell = []
        for code in leak_cells(redirector.url):
            msg_id = kc.execute(code, **NO_STDIN)
            seen.append(get_reply(kc, msg_id, timeout=15))
            published = iopub_until_idle(kc, msg_id, timeout=15)
            seen.extend(published)
            by_cell.append(published)
        # Everything a frontend may ask after the fact.
        seen.append(request(kc, "inspect_request", {"code": "r", "cursor_pos": 1, "detail_level": 0}))
        seen.append(request(kc, "inspect_request", {"code": "p", "cursor_pos": 1, "detail_level": 0}))
        seen.append(request(kc, "complete_request", {"code": "r", "cursor_pos": 1}))
        msg_id = kc.execute("", user_expressions={"x": "r", "y": "p", "z": "A"}, **NO_STDIN)
        expressions = get_reply(kc, msg_id, timeout=15)
        seen.append(expressions)
        seen.append(request(kc, "history_request", {"hist_access_type": "tail", "n": 100, "output": True, "raw": True}))

    leaks = found_in(frontend_sees(seen), [SEC_A, SEC_H])
    assert not leaks, "a secret reached the frontend:\n" + "\n".join(leaks)

    # Not vacuous: where the secret would have been, the mask is.
    split = by_cell[2]
    assert "".join(m["content"]["text"] for m in split if m["msg_type"] == "stream") == MASK + "\n"
    assert any(m["msg_type"] == "update_display_data" for m in split), "the live line never showed"
    values = expressions["content"]["user_expressions"]
    assert values["x"]["status"] == "ok" and f"{MASK} {MASK}" in values["x"]["data"]["text/plain"], values
    check = bundles(by_cell[4])[-1]
    assert f"token {MASK} is {MASK}" in check["text/html"], check
    finding = bundles(by_cell[6])[-1]
    assert MASK in finding["text/markdown"], finding
    probe = bundles(by_cell[7])[-1]
    assert "302" in probe["text/plain"] and "/in?t=" + MASK in probe["text/plain"], probe


def written_by_run(tmp_path: Path, *cells: str, env: dict[str, str], journal: Path) -> list[str]:
    """`playbook run` of `cells` with a journal and JUnit: its terminal output, the files it
    wrote, and `playbook report` in every format, as texts, raw and parsed."""
    path = notebook(tmp_path, *cells)
    out, junit = tmp_path / "out.ipynb", tmp_path / "junit.xml"
    proc = playbook_run(str(path), "-o", str(out), "--journal", str(journal), "--junit", str(junit),
                        "--yes", cwd=tmp_path, env=env)
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{proc.stderr}"
    texts = [proc.stdout, proc.stderr, out.read_text(), junit.read_text(), journal.read_text()]
    texts += strings(json.loads(out.read_text()))
    texts += [s for line in journal.read_text().splitlines() for s in strings(json.loads(line))]
    for fmt in ("md", "html", "json"):
        report = subprocess.run([str(playbook_bin()), "report", str(journal), "--format", fmt],
                                capture_output=True, text=True, timeout=30)
        assert report.stdout.strip(), report.stderr
        texts += [report.stdout, report.stderr]
        if fmt == "json":
            texts += strings(json.loads(report.stdout))
    return texts


def test_no_leak_reaches_a_headless_run_or_what_it_keeps(tmp_path, redirector):
    journal = tmp_path / "j.jsonl"
    texts = written_by_run(tmp_path, *leak_cells(redirector.url), env=base_env(**SECRETS), journal=journal)
    leaks = found_in(texts, [SEC_A, SEC_H])
    assert not leaks, "a secret was written:\n" + "\n".join(leaks)

    stdout, stderr, executed, junit = texts[:4]
    assert f"checks failed: token {MASK} is {MASK}" in stderr, stderr
    assert f'name="token {MASK} is {MASK}"' in junit, junit
    nb = nbformat.reads(executed, as_version=4)
    split = [o.text for o in nb.cells[2].outputs if o.output_type == "stream"]
    assert split == [MASK + "\n"], split
    assert "/in?t=" + MASK in journal.read_text(), "the redirect is not in the journal"


# --- very short secrets -----------------------------------------------------------------------


def test_a_secret_shorter_than_six_characters_is_refused(tmp_path):
    with started_kernel(env=base_env(SEC_S="e", SEC_6="ééééé!"), cwd=tmp_path) as (km, kc):
        err = run_error(kc, "secret s from env:SEC_S", **NO_STDIN)
        assert err["ename"] == "ValueError", err
        assert "at least 6 characters" in err["evalue"] and "has 1" in err["evalue"], err["evalue"]
        caret_under(err, "secret s from env:SEC_S", "secret s from env:SEC_S")
        # Six characters, whatever their bytes, are enough.
        msg_id = kc.execute("secret six from env:SEC_6\nrun echo table {{six}}", **NO_STDIN)
        assert get_reply(kc, msg_id, timeout=15)["content"]["status"] == "ok"
        shown = "".join(m["content"].get("text", "") for m in iopub_until_idle(kc, msg_id))
        assert shown == f"table {MASK}\n", shown

    path = notebook(tmp_path, "secret s from env:SEC_S", "run echo never")
    proc = playbook_run(str(path), "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path, env=base_env(SEC_S="e"))
    assert proc.returncode == 2 and "ValueError" in proc.stderr, proc.stderr
    assert "never" not in proc.stdout


# --- randomized -------------------------------------------------------------------------------

UNICODE = "éßüñ€£日本語✓→ΩЖ😀"
ALPHABET = [chr(c) for c in range(0x20, 0x7F)] + list(UNICODE)
BUDGET = 30


def random_secrets(seed: int) -> list[str]:
    rng = random.Random(seed)
    secrets = []
    while len(secrets) < BUDGET:
        secret = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(6, 64)))
        # A secret that is another's part is masked as that one's: fine, but not this test's point.
        if secret.strip() and not any(secret in s or s in secret for s in secrets):
            secrets.append(secret)
    return secrets


def test_random_secrets_leak_in_no_form(tmp_path, redirector):
    """30 seeded secrets of 6 to 64 printable characters, echoed in commands, check titles,
    findings, probe URLs and streams split mid-secret: none is written in any form."""
    secrets = random_secrets(1414)
    env = base_env()
    cells = []
    for i, secret in enumerate(secrets):
        cut = len(secret) // 2
        env.update({f"SEC_{i}": secret, f"HEAD_{i}": secret[:cut], f"TAIL_{i}": secret[cut:]})
        cells += [
            f"secret s{i} from env:SEC_{i}",
            f"run echo {{{{s{i}}}}}; echo \"{{{{s{i}}}}}\" >&2",
            f'run printf %s "$HEAD_{i}"; sleep 0.02; printf "%s\\n" "$TAIL_{i}"',
            f'check "title {{{{s{i}}}}}": run false',
            f'finding info "found {{{{s{i}}}}} here"',
        ]
    cells += [f"probe {redirector.url}/echo?t={{{{s{i}}}}}" for i in range(len(secrets))]
    texts = written_by_run(tmp_path, *cells, env=env, journal=tmp_path / "j.jsonl")
    leaks = found_in(texts, secrets)
    assert not leaks, f"{len(leaks)} leaks, e.g.:\n" + "\n".join(leaks[:10])
    executed = nbformat.reads(texts[2], as_version=4)
    assert all(c.execution_count for c in executed.cells), "not every cell ran"
    assert len(redirector.requests) == len(secrets), "the probes did not all reach the site"


# --- replay -----------------------------------------------------------------------------------


def test_a_recorded_investigation_with_secrets_replays_without_them(tmp_path, redirector):
    """Recorded with the secrets set, replayed with them unset and without --yes: the same
    outputs, no consent asked, no command started, no request sent."""
    sentinel = tmp_path / "sentinel"
    cells = [
        "secret A from env:SEC_A",
        "secret H from env:SEC_H",
        "run echo token={{A}} {{H}}",
        "run --env T={{H}} printenv T",
        f"run echo ran > {sentinel} # {{{{A}}}}",
        f"probe {redirector.url}/go?t={{{{H}}}}",
        'check "login with {{A}} works": run true',
        'finding info "rotated {{H}}"',
    ]
    path = notebook(tmp_path, *cells)
    journal, first, second = tmp_path / "j.jsonl", tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(first), "--yes",
                        cwd=tmp_path, env=base_env(**SECRETS))
    assert proc.returncode == 0, proc.stderr
    assert sentinel.exists(), "the changing command did not run when recorded"
    assert "approved in advance" in first.read_text(), "the sentinel's command needs no consent"
    sentinel.unlink()
    requests = len(redirector.requests)

    proc = playbook_run(str(path), "--replay", str(journal), "-o", str(second), cwd=tmp_path, env=base_env())
    assert proc.returncode == 0, proc.stderr
    assert not sentinel.exists(), "a command ran on replay"
    assert len(redirector.requests) == requests, "a probe reached the site on replay"
    recorded, replayed = (nbformat.read(p, as_version=4) for p in (first, second))
    # Consent was given in advance when recording, and shown; a replay asks none, so shows none.
    for cell in recorded.cells:
        cell.outputs = [o for o in cell.outputs if "approved in advance" not in o.get("data", {}).get("text/plain", "")]
    assert_same_outputs(recorded, replayed)
    assert "ConsentRequired" not in second.read_text() and "approved" not in second.read_text()
    assert f"token={MASK} {MASK}" in second.read_text()


def test_a_replayed_step_that_differs_names_the_difference(tmp_path):
    path = notebook(tmp_path, "secret A from env:SEC_A", "run echo {{A}} one")
    journal = tmp_path / "j.jsonl"
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(tmp_path / "a.ipynb"),
                        cwd=tmp_path, env=base_env(**SECRETS))
    assert proc.returncode == 0, proc.stderr
    changed = notebook(tmp_path, "secret A from env:SEC_A", "run echo {{A}} two", name="changed.ipynb")
    proc = playbook_run(str(changed), "--replay", str(journal), "-o", str(tmp_path / "b.ipynb"),
                        cwd=tmp_path, env=base_env())
    assert proc.returncode == 2, proc.stderr
    [error] = [o for c in nbformat.read(tmp_path / "b.ipynb", as_version=4).cells
               for o in c.outputs if o.output_type == "error"]
    assert error.ename == "NotRecorded", error
    asked, closest = error.evalue.split("closest")
    assert "two" in asked and "one" not in asked, error.evalue
    assert "one" in closest and "two" not in closest, error.evalue
