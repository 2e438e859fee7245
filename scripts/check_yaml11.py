"""Reads every YAML file berrys rendered with PyYAML, a YAML 1.1 reader like Kubernetes'
decoder, and fails if any label, annotation, ConfigMap value or Prometheus rule label or
annotation comes back as anything but the string berrys meant (e.g. `on` turned into True,
`0777` into 511, `99.95` into a float)."""

import pathlib
import sys

import yaml


def strings(mapping, where, problems):
    for key, value in (mapping or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            problems.append(f"{where}: {key!r}: {value!r} is not a string")


def main(root):
    problems = []
    files = sorted(pathlib.Path(root).rglob("*.yaml"))
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            meta = doc.get("metadata") or {}
            where = f"{path.relative_to(root)} {doc.get('kind')}/{meta.get('name')}"
            strings(meta.get("labels"), where + " labels", problems)
            strings(meta.get("annotations"), where + " annotations", problems)
            if doc.get("kind") == "ConfigMap":
                strings(doc.get("data"), where + " data", problems)
            # Prometheus rule files and PrometheusRule objects: rule labels and annotations.
            groups = doc.get("groups") or (doc.get("spec") or {}).get("groups") or []
            for group in groups if isinstance(groups, list) else []:
                for rule in group.get("rules") or []:
                    name = rule.get("record") or rule.get("alert")
                    strings(rule.get("labels"), f"{where} rule {name} labels", problems)
                    strings(rule.get("annotations"), f"{where} rule {name} annotations", problems)
            template = ((doc.get("spec") or {}).get("template") or {}).get("metadata") or {}
            strings(template.get("labels"), where + " pod labels", problems)
            strings(template.get("annotations"), where + " pod annotations", problems)
    for p in problems:
        print(p)
    if problems or not files:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
