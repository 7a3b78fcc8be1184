#!/usr/bin/env python3
"""Cut Argo Workflows' published JSON schema (api/jsonschema/schema.json) down to what validates a
WorkflowTemplate: the definitions it reaches, without their descriptions.

    python3 prune.py UPSTREAM/api/jsonschema/schema.json > workflowtemplate.schema.json
"""

import json
import sys

ROOT = "io.argoproj.workflow.v1alpha1.WorkflowTemplate"


def strip(node):
    """`node` without the annotations `description` and `title` (a property of that name stays)."""
    if isinstance(node, dict):
        return {
            k: ({name: strip(s) for name, s in v.items()} if k in ("properties", "patternProperties") else strip(v))
            for k, v in node.items()
            if k not in ("description", "title")
        }
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main(path):
    with open(path, encoding="utf-8") as f:
        upstream = json.load(f)
    definitions = upstream["definitions"]
    keep, todo = set(), [ROOT]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        stack = [definitions[name]]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/definitions/"):
                    todo.append(ref[len("#/definitions/"):])
                stack.extend(v for k, v in node.items() if k != "$ref")
            elif isinstance(node, list):
                stack.extend(node)
    schema = {
        "$schema": upstream["$schema"],
        "$ref": "#/definitions/" + ROOT,
        "definitions": {name: strip(definitions[name]) for name in sorted(keep)},
    }
    json.dump(schema, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
