"""Renders a chart directory with Helm's own engine (the Helm Go SDK, through the PyPI package
helm-python-sdk) and prints {template path: rendered text} as JSON.

usage: python render.py CHART_DIR VALUES_FILE [NAMESPACE] [KEY=BOOL ...]
Release name gitlab-runner, install mode, no cluster (offline render).
"""
import json
import sys

from helm_python import chart as helm_chart


def main() -> None:
    chart_dir, values_file = sys.argv[1], sys.argv[2]
    namespace = sys.argv[3] if len(sys.argv) > 3 else "gitlab-runners"
    with open(values_file, encoding="utf-8") as f:
        values = helm_chart.values_from_yaml(f.read())
    for assignment in sys.argv[4:]:
        key, _, raw = assignment.partition("=")
        node = values
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = {"true": True, "false": False}.get(raw, raw)
    rendered = helm_chart.Chart.load(chart_dir).render(
        values, name="gitlab-runner", namespace=namespace, is_install=True
    )
    json.dump(rendered, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
