#!/usr/bin/env python3
"""Validates the custom resources in rendered manifests against the vendored schemas.

kubernetes-validate knows the built-in kinds only; this covers the CRDs the manifests
use (KEDA ScaledObject, Prometheus Operator ServiceMonitor). Usage:
validate-custom-resources.py RENDERED.yaml...  Exit 1 on any failure or unknown CRD kind.
"""
import json
import os
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda.sh-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring.coreos.com-v1.json",
}
# Groups kubernetes-validate covers.
BUILTIN = ("v1", "apps/v1", "policy/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
           "autoscaling/v2", "batch/v1")


def main():
    failures = checked = 0
    for path in sys.argv[1:]:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            key = (doc.get("apiVersion"), doc.get("kind"))
            name = f"{path}: {key[1]}/{doc.get('metadata', {}).get('name')}"
            if key[0] in BUILTIN:
                continue
            if key not in SCHEMAS:
                print(f"FAIL {name}: no schema vendored for {key[0]} {key[1]}")
                failures += 1
                continue
            with open(os.path.join(HERE, SCHEMAS[key])) as f:
                schema = json.load(f)
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
            checked += 1
            for e in errors:
                print(f"FAIL {name}: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}")
            failures += len(errors)
            if not errors:
                print(f"ok   {name}")
    print(f"custom resources: {checked} checked, {failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
