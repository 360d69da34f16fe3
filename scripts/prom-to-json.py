#!/usr/bin/python3
"""Parses a Prometheus text-format file with the reference parser
(python3-prometheus-client) and prints it as JSON for the tests:
{"types": {family: type}, "samples": {"name{k=v,...}": value}}.
Exits 1, naming the problem, when the file does not parse or breaks the
format's rules the parser lets through (a sample outside its family, a
family declared twice, a duplicate sample).

    scripts/prom-to-json.py FILE
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        sys.exit(f"{path}: the last line has no newline")
    types, samples = {}, {}
    for fam in text_string_to_metric_families(text):
        if fam.name in types:
            sys.exit(f"{path}: family {fam.name} declared twice")
        types[fam.name] = fam.type
        for s in fam.samples:
            if s.name != fam.name:
                sys.exit(f"{path}: sample {s.name} outside its family {fam.name}")
            key = s.name + "{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}"
            if key in samples:
                sys.exit(f"{path}: duplicate sample {key}")
            samples[key] = s.value
    json.dump({"types": types, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except (ValueError, KeyError, IndexError) as e:
        sys.exit(f"{sys.argv[1]}: not Prometheus text format: {e}")
