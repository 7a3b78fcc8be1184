#!/usr/bin/env python3
"""Render the playbook Job (job.yaml), or the CronJob (cronjob.yaml), for one notebook and its
parameters, and the ConfigMap that carries notebooks to them.

    python3 deploy/render.py job demo.ipynb -p service=checkout | kubectl create -f -
    python3 deploy/render.py cronjob slo-gate.ipynb --tags gate | kubectl apply -f -
    python3 deploy/render.py configmap notebooks/demo.ipynb notebooks/slo-gate.ipynb | kubectl apply -f -

The Job's command is always `playbook run /playbooks/NB.ipynb -o /out/NB.out.ipynb
--journal /out/NB.jsonl --junit /out/junit.xml [--tags ...] [-p NAME=VALUE]...`; everything else
(image, secrets, volumes, limits) comes from the template as written. The Alertmanager receiver
(alertmanager/receiver.py) builds its Jobs with this module, and the test suite runs the argv it
renders against the binary, so the recipe and the binary cannot drift apart.

A parameter's name must be one `playbook run -p` accepts (a letter or `_`, then letters, digits
and `_`). Its value is one argv element, never read by a shell; every `$` in it is doubled, as
Kubernetes expands `$(VAR)` in a container's args with the container's environment (which holds
secrets): `$$` is how a literal `$` is written there.

Needs PyYAML (the playbook image has it: it ships with Jupyter).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
JOB_TEMPLATE = HERE / "job.yaml"
CRONJOB_TEMPLATE = HERE / "cronjob.yaml"

# Where the Job's pod finds the notebooks (the ConfigMap) and writes what a run leaves.
PLAYBOOKS_DIR = "/playbooks"
OUT_DIR = "/out"
CONTAINER = "playbook"

# `playbook run -p NAME=VALUE`: NAME as the `param` statement reads one.
PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# A notebook in the ConfigMap: a plain file name (a ConfigMap key), no directory, no dot first.
NOTEBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.ipynb\Z")
# A tag of --tags: what a cell tag can be, without a comma (the list separator).
TAG = re.compile(r"[A-Za-z0-9_.:-]{1,63}\Z")
# A Kubernetes object name (DNS-1123 subdomain), kept to 52 characters so that the names the
# Job controller derives from it (pods, the job-name label) stay within limits.
OBJECT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?\Z")


def load(path: str | Path = JOB_TEMPLATE) -> dict:
    """The template as a dict (job.yaml or cronjob.yaml)."""
    import yaml

    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or doc.get("kind") not in ("Job", "CronJob"):
        raise ValueError(f"{path}: expected one Job or CronJob")
    return doc


def pod_spec(obj: dict) -> dict:
    """The pod spec of a Job or a CronJob."""
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def container(obj: dict) -> dict:
    """The container that runs playbook."""
    for c in pod_spec(obj)["containers"]:
        if c["name"] == CONTAINER:
            return c
    raise ValueError(f"no container named {CONTAINER!r}")


def check_param(name: str, value: str) -> None:
    if not isinstance(name, str) or not PARAM_NAME.match(name):
        raise ValueError(f"{name!r} is not a parameter name (a letter or _, then letters, digits, _)")
    if not isinstance(value, str):
        raise ValueError(f"the value of {name} is not text")
    if "\0" in value:
        raise ValueError(f"the value of {name} holds a NUL byte, which no argv can carry")


def k8s_literal(text: str) -> str:
    """`text` as a container arg that Kubernetes passes on unchanged: `$` written `$$`."""
    return text.replace("$", "$$")


def playbook_args(notebook: str, params: list[tuple[str, str]] | dict, tags: list[str] | None = None) -> list[str]:
    """The container args for one run: outputs named after the notebook, in /out."""
    if not NOTEBOOK_NAME.match(notebook):
        raise ValueError(f"{notebook!r} is not a notebook file name (NAME.ipynb, no directory)")
    stem = notebook[: -len(".ipynb")]
    args = [
        "run", f"{PLAYBOOKS_DIR}/{notebook}",
        "-o", f"{OUT_DIR}/{stem}.out.ipynb",
        "--journal", f"{OUT_DIR}/{stem}.jsonl",
        "--junit", f"{OUT_DIR}/junit.xml",
    ]
    if tags:
        for tag in tags:
            if not TAG.match(tag):
                raise ValueError(f"{tag!r} is not a tag")
        args += ["--tags", ",".join(tags)]
    items = params.items() if isinstance(params, dict) else params
    seen = set()
    for name, value in items:
        check_param(name, value)
        if name in seen:
            raise ValueError(f"parameter {name} given twice")
        seen.add(name)
        # One element: NAME starts with a letter or _, so it can never read as a flag.
        args += ["-p", k8s_literal(f"{name}={value}")]
    return args


def render(
    template: dict,
    notebook: str,
    params: list[tuple[str, str]] | dict = (),
    tags: list[str] | None = None,
    name: str | None = None,
    annotations: dict[str, str] | None = None,
) -> dict:
    """A copy of `template` (a Job or CronJob) that runs `notebook` with `params`. With `name`,
    the object gets that name (else the template's name or generateName stands)."""
    obj = copy.deepcopy(template)
    container(obj)["args"] = playbook_args(notebook, params, tags)
    meta = obj.setdefault("metadata", {})
    if name is not None:
        if not OBJECT_NAME.match(name):
            raise ValueError(f"{name!r} is not an object name (lower case, digits, -; 52 at most)")
        meta.pop("generateName", None)
        meta["name"] = name
    if annotations:
        meta.setdefault("annotations", {}).update(annotations)
    return obj


def configmap(files: list[str | Path], name: str = "playbooks") -> dict:
    """The ConfigMap `kubectl create configmap NAME --from-file=F...` makes: one key a file."""
    data = {}
    for f in files:
        path = Path(f)
        if not re.match(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}\Z", path.name):
            raise ValueError(f"{path.name!r} cannot be a ConfigMap key")
        if path.name in data:
            raise ValueError(f"two files named {path.name}")
        data[path.name] = path.read_text(encoding="utf-8")
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def dump(obj: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(obj, indent=2) + "\n"
    import yaml

    return yaml.safe_dump(obj, sort_keys=False, width=100)


def parse_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    for kind in ("job", "cronjob"):
        p = sub.add_parser(kind, help=f"the {kind} template, running NOTEBOOK")
        p.add_argument("notebook", help="a notebook file name in the playbooks ConfigMap, e.g. demo.ipynb")
        p.add_argument("-p", "--param", action="append", default=[], type=parse_param, metavar="NAME=VALUE")
        p.add_argument("--tags", help="comma-separated cell tags (playbook run --tags)")
        p.add_argument("--name", help="the object's name (default: the template's)")
        p.add_argument("--template", help="another template to start from")
        p.add_argument("--format", choices=("yaml", "json"), default="yaml")
    p = sub.add_parser("configmap", help="the ConfigMap holding notebooks, one key a file")
    p.add_argument("files", nargs="+")
    p.add_argument("--name", default="playbooks")
    p.add_argument("--format", choices=("yaml", "json"), default="yaml")
    args = parser.parse_args(argv)
    try:
        if args.what == "configmap":
            obj = configmap(args.files, args.name)
        else:
            default = JOB_TEMPLATE if args.what == "job" else CRONJOB_TEMPLATE
            tags = [t.strip() for t in args.tags.split(",")] if args.tags else None
            obj = render(load(args.template or default), args.notebook, args.param, tags, args.name)
    except (ValueError, OSError) as e:
        print(f"render.py: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(dump(obj, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
