#!/usr/bin/env python3
"""Turns a CustomResourceDefinition's openAPIV3Schema into a strict JSON Schema.

Usage: crd-to-jsonschema.py CRD.yaml VERSION > kind_version.json

What the API server's structural-schema validation does and JSON Schema does not is made
explicit: objects with `properties` and no `additionalProperties` reject unknown fields
(the API server prunes them, so a misspelt field would be dropped silently), except under
`x-kubernetes-preserve-unknown-fields`; `x-kubernetes-int-or-string` becomes a oneOf.
apiVersion and kind are pinned. Run by hand when a CRD is updated; the output is vendored.
"""
import json
import sys

import yaml


def convert(node):
    if isinstance(node, list):
        return [convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: convert(v) for k, v in value.items()}
        else:
            out[key] = convert(value)
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out.pop("anyOf", None)
        out["oneOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    for key in list(out):
        if key.startswith("x-kubernetes-"):
            del out[key]
    return out


def main():
    path, version = sys.argv[1], sys.argv[2]
    with open(path) as f:
        crd = next(d for d in yaml.safe_load_all(f) if d)
    spec = crd["spec"]
    entry = next(v for v in spec["versions"] if v["name"] == version)
    schema = convert(entry["schema"]["openAPIV3Schema"])
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "enum": [f"{spec['group']}/{version}"]}
    props["kind"] = {"type": "string", "enum": [spec["names"]["kind"]]}
    # ObjectMeta is validated by the API server itself, not by the CRD.
    props["metadata"] = {"type": "object"}
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = f"{spec['names']['kind']} {spec['group']}/{version} (from {crd['metadata']['name']})"
    json.dump(schema, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
