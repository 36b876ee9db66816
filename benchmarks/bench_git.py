"""Benchmark: auditing a 20,000-file repository (5,000 Python files, 200 notebooks) against
``git grep -c import HEAD`` on the same repository.

Target (issue 2): the audit takes at most 3x the time of that git grep, peak memory < 300 MB.

    python benchmarks/bench_git.py [--files 20000] [--runs 3] [--baseline /path/to/other/tree]

The repository is generated with ``git fast-import`` in a temporary directory.
``--baseline TREE`` audits the same repository with another checkout in the same loop
(runs interleaved), for before/after figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMON = ["os", "sys", "json", "re", "numpy as np", "pandas as pd", "typing", "logging",
          "collections", "itertools", "pathlib", "dataclasses", "sklearn.metrics"]
TOOLS = ["mlflow", "torch", "great_expectations as gx", "evidently", "feast", "ray", "shap",
         "kfp", "prefect", "optuna"]


def py_source(i: int, rng: random.Random) -> str:
    lines = [f'"""Module {i}."""', ""]
    for name in rng.sample(COMMON, rng.randint(2, 6)):
        lines.append(f"import {name}")
    if rng.random() < 0.06:
        tool = rng.choice(TOOLS)
        lines.append(f"import {tool}")
        alias = tool.split(" as ")[-1]
        lines += ["", f"def use_{i}():", f"    return {alias}.__name__"]
        if tool == "mlflow" and rng.random() < 0.5:
            lines += ["", f"def track_{i}():", "    with mlflow.start_run():",
                      f"        mlflow.log_metric('m{i}', {i})"]
    for f in range(rng.randint(3, 8)):
        lines += ["", "", f"def f_{i}_{f}(x, y=1):", f"    '''Compute {f}.'''",
                  f"    total = x * {f} + y", "    for k in range(10):", "        total += k",
                  "    return total"]
    return "\n".join(lines) + "\n"


def notebook(i: int, rng: random.Random) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": [f"# Notebook {i}\n"]}]
    imports = [f"import {n}\n" for n in rng.sample(COMMON, 3)]
    if rng.random() < 0.2:
        imports.append(f"import {rng.choice(TOOLS)}\n")
    cells.append({"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
                  "source": imports})
    for c in range(10):
        cells.append({"cell_type": "code", "execution_count": c + 2, "metadata": {},
                      "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"{c}\n" * 5]}],
                      "source": [f"x_{c} = {c} * 2\n", f"print(x_{c})\n"]})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


FIXED = {
    ".github/workflows/ci.yml": ("on: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
                                 "    steps:\n      - uses: actions/checkout@v4\n      - run: pytest\n"
                                 "      - run: docker build -t ghcr.io/acme/app:${{ github.sha }} .\n"
                                 "      - run: helm upgrade --install app chart/\n"),
    "Dockerfile": "FROM python:3.11-slim\nCOPY . /app\n",
    "requirements.txt": "mlflow==2.16.0\ntorch==2.4.0\npandas==2.2.2\nnumpy==2.0.0\n",
    "pyproject.toml": "[project]\nname = 'big'\ndependencies = ['mlflow>=2', 'ray']\n",
    "CODEOWNERS": "* @acme/ml\n",
}


def generate(path: Path, files: int) -> None:
    rng = random.Random(0)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    n_py, n_nb = files // 4, 200
    n_yaml = 300
    proc = subprocess.Popen(["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert proc.stdin
    out = proc.stdin
    entries: list[tuple[int, str]] = []
    mark = 0

    def blob(content: str, name: str) -> None:
        nonlocal mark
        mark += 1
        data = content.encode()
        out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
        entries.append((mark, name))

    for name, content in FIXED.items():
        blob(content, name)
    for i in range(n_py):
        blob(py_source(i, rng), f"src/pkg{i % 50}/mod_{i}.py")
    for i in range(n_nb):
        blob(notebook(i, rng), f"notebooks/team{i % 10}/nb_{i}.ipynb")
    for i in range(n_yaml):
        if i % 10 == 0:
            blob(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: model-server-{i}\nspec:\n"
                 f"  template:\n    spec:\n      containers:\n        - image: ghcr.io/acme/app:1.{i}\n",
                 f"deploy/k8s/app-{i}.yaml")
        else:
            blob(f"name: config-{i}\nvalues:\n" + "".join(f"  k{j}: {j}\n" for j in range(20)),
                 f"configs/c{i % 20}/config-{i}.yaml")
    rest = files - len(entries)
    for i in range(rest):
        kind = i % 4
        if kind == 0:
            blob(f"# Doc {i}\n\n" + "Some text about the project.\n" * 10, f"docs/d{i % 100}/page_{i}.md")
        elif kind == 1:
            blob("a,b,c\n" + "".join(f"{j},{j * 2},{j * 3}\n" for j in range(30)), f"data/s{i % 100}/t_{i}.csv")
        elif kind == 2:
            blob(json.dumps({"id": i, "values": list(range(20))}), f"fixtures/f{i % 100}/x_{i}.json")
        else:
            blob(f"static asset {i}\n" * 5, f"assets/a{i % 100}/file_{i}.txt")
    out.write(b"commit refs/heads/main\nmark :%d\ncommitter Bench <b@example.com> 1768478400 +0000\n"
              b"data 6\nbench\n" % (mark + 1))
    for m, name in entries:
        out.write(b"M 100644 :%d %s\n" % (m, name.encode()))
    out.write(b"\n")
    out.close()
    proc.wait()
    subprocess.run(["git", "-C", str(path), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    subprocess.run(["git", "-C", str(path), "reset", "-q", "--hard"], check=True, capture_output=True)
    subprocess.run(["git", "-C", str(path), "gc", "-q"], check=True, capture_output=True)


AUDIT = """
import json, resource, sys, time, tracemalloc
from pathlib import Path
from auditor.probe import ProbeContext, Target
from probes.git import GitProbe
from probes.git.gitcmd import Git
from probes.git.settings import GitSettings
target = Target(name="big", kind="git", settings=GitSettings(path=sys.argv[1]))
t = time.perf_counter()
items = list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=Path(sys.argv[2]), timeout=600)))
cold = time.perf_counter() - t  # includes the probe's lazy imports and catalog loading
def cpu():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
Git.spawned = 0
t, c = time.perf_counter(), cpu()
items = list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=Path(sys.argv[2]), timeout=600)))
wall, cpu_s = time.perf_counter() - t, cpu() - c
spawned = Git.spawned
tracemalloc.start()  # a separate run: tracing slows Python down several times
list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=Path(sys.argv[2]), timeout=600)))
print(json.dumps({"wall": wall, "cpu": cpu_s, "cold": cold, "items": len(items), "git_processes": spawned,
                  "py_peak_mb": tracemalloc.get_traced_memory()[1] / 2**20,
                  "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "children_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "signals": sorted({getattr(i, "signal", "unobserved") for i in items})}))
"""


def audit(tree: Path, repo: Path, cache: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", AUDIT, str(repo), str(cache)],
                          capture_output=True, text=True, cwd=tree, check=True)
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout audited in the same loop")
    args = parser.parse_args()
    trees = [("this tree", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "big"
        t = time.perf_counter()
        generate(repo, args.files)
        count = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True).stdout.count("\n")
        print(f"generated {count} files in {time.perf_counter() - t:.1f}s")
        greps = []
        for _ in range(max(args.runs, 3)):
            t = time.perf_counter()
            subprocess.run(["git", "-C", str(repo), "grep", "-c", "import", "HEAD"], capture_output=True, check=True)
            greps.append(time.perf_counter() - t)
        audits: dict[str, list[dict]] = {label: [] for label, _ in trees}
        for i in range(args.runs):
            for label, tree in trees:
                audits[label].append(audit(tree, repo, Path(tmp) / f"cache{i}"))
        grep_med = statistics.median(greps)
        print(f"git grep -c import HEAD: median {grep_med:.3f}s over {len(greps)} runs")
        for (label, tree), runs in zip(trees, audits.values(), strict=True):
            audit_med = statistics.median(a["wall"] for a in runs)
            cold_med = statistics.median(a["cold"] for a in runs)
            last = runs[-1]
            print(f"\n[{label}]")
            print(f"git probe audit:         median {audit_med:.3f}s over {len(runs)} runs "
                  f"(in-process; first audit in a fresh process, with lazy imports: {cold_med:.3f}s)"
                  f"  [{', '.join(f'{w:.3f}' for w in (a['wall'] for a in runs))}]")
            print(f"ratio audit / git grep:  {audit_med / grep_med:.2f}x  (target <= 3x)")
            print(f"CPU time (Python and its git children): median "
                  f"{statistics.median(a['cpu'] for a in runs):.3f}s (steadier than wall time on a busy machine)")
            about = (" (one rev-parse and one git config to open the repository, ls-tree, one git grep, "
                     "one cat-file --batch, log; for-each-ref when there are tags)") if tree == ROOT else ""
            print(f"git processes per audit: {last['git_processes']}{about}")
            print(f"peak memory: python heap {last['py_peak_mb']:.1f} MB (tracemalloc), "
                  f"process RSS {last['self_maxrss_mb']:.1f} MB, largest git child RSS "
                  f"{last['children_maxrss_mb']:.1f} MB  (target < 300 MB)")
            print(f"evidence/unobserved items: {last['items']}; signals: {', '.join(last['signals'])}")
        if len(trees) > 1:
            this, base = (statistics.median(a["wall"] for a in audits[label]) for label, _ in trees)
            cpus = [statistics.median(a["cpu"] for a in audits[label]) for label, _ in trees]
            print(f"\nthis tree / baseline: wall {this / base:.2f}x, CPU {cpus[0] / cpus[1]:.2f}x")


if __name__ == "__main__":
    main()
