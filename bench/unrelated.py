"""What the installed plugin costs a project that has nothing to do with it: many YAML files, no case file.

    python bench/unrelated.py [--files 3000] [--tests 300] [--repeat 5]

Generates a repository of ``--files`` YAML files of the kinds people have (Kubernetes manifests, GitHub
workflows, docker-compose files, OpenAPI specs of 100-600 KiB, tavern tests, other tools' ``tests/cases/``
folders, configuration files whose top level holds ``cases:`` among other keys, files whose entries have a
``numbers:`` key that are not comparisons) and ``--tests`` trivial Python tests, then times
``pytest --collect-only`` with the plugin against the floor: the same repository with ``-p no:llmcmp``. Both must
collect exactly the Python tests, with no error. Best of ``--repeat``, interleaved. Prints the ratio (wall and
CPU) and the cost per YAML file: the difference less the plugin's start-up, measured on the same tests without
the YAML files (with the plugin and without).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from _common import Best, Run, checked, load_note, run_pytest, spread, table, temp_dir

KINDS = {
    "k8s": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\nspec:\n  replicas: 3\n"
        "  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.{i}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {{name: web-{i}}}\nspec:\n  ports: [{{port: 80}}]\n"
    ),
    "workflow": (
        "name: CI {i}\non:\n  push:\n    branches: [main]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - run: pytest -k case{i}\n"
    ),
    "compose": "version: '3.8'\nservices:\n  db:\n    image: postgres:{i}\n  app:\n    build: .\n",
    "tavern": (
        "test_name: login {i}\nstages:\n  - name: login\n    request:\n      url: http://localhost/login\n"
        "      method: POST\n    response:\n      status_code: 200\n"
    ),
    "login-cases": (
        "cases:\n  - name: valid login {i}\n    user: alice\n    expect: 200\n"
        "  - name: wrong password\n    user: alice\n    expect: 401\n"
    ),
    "config-cases": "version: 2\ntimeout: {i}\ncases:\n  - id: smoke\n    numbers: [1, 2, 3]\n",
    "sort-cases": "cases:\n  - numbers: [3, 1, {i}]\n    sorted: [1, 3, {i}]\n",
}


def openapi(i: int, paths: int) -> str:
    lines = ["openapi: 3.0.3", "info:", f"  title: API {i}", "  version: 1.0.0", "paths:"]
    for p in range(paths):
        lines += [f"  /items/{p}:", "    get:", "      responses:", "        '200': {description: ok}"]
    return "\n".join(lines) + "\n"


def make_repo(root: Path, files: int, tests: int) -> int:
    """The repository; returns how many YAML files it holds."""
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    body = "".join(f"def test_{t}():\n    pass\n\n\n" for t in range(tests))
    (root / "tests" / "test_app.py").write_text(body, encoding="utf-8")
    kinds = list(KINDS)
    written = 0
    for i in range(files):
        if i % 100 == 99:  # 1 in 100: a large OpenAPI spec
            folder, text = root / "api", openapi(i, 2000 + (i * 37) % 8000)
        else:
            kind = kinds[i % len(kinds)]
            folder = root / ("tests/cases" if "cases" in kind else kind) / f"group{i % 20}"
            text = KINDS[kind].format(i=i)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.yaml").write_text(text, encoding="utf-8")
        written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3000, help="YAML files in the repository (default 3000)")
    parser.add_argument("--tests", type=int, default=300, help="trivial Python tests (default 300)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each session (default 5)")
    args = parser.parse_args()
    print(f"unrelated-repository benchmark: {args.files} YAML files, {args.tests} tests; {load_note()}")
    with temp_dir("llmcmp-bench-unrelated-") as tmp:
        yaml_files = make_repo(tmp / "repo", args.files, args.tests)
        make_repo(tmp / "bare", 0, args.tests)  # the same tests without a YAML file: the plugin's fixed cost
        size = sum(p.stat().st_size for p in tmp.rglob("*.yaml"))
        repo, bare_repo = tmp / "repo", tmp / "bare"

        def only_tests(run: Run) -> bool:
            found = re.findall(r"(\d+) tests? collected", run.output)
            return run.returncode == 0 and bool(found) and int(found[-1]) == args.tests and "rror" not in run.output

        run_pytest(repo, "--collect-only")  # warm-up, untimed
        run_pytest(repo, "--collect-only", "-p", "no:llmcmp")
        run_pytest(bare_repo, "--collect-only")
        run_pytest(bare_repo, "--collect-only", "-p", "no:llmcmp")
        plugin: list[Run] = []
        floor: list[Run] = []
        bare: list[Run] = []
        bare_floor: list[Run] = []
        for _ in range(max(1, args.repeat)):  # interleaved: load from elsewhere hits all alike
            plugin.append(checked(run_pytest(repo, "--collect-only"), "collection with the plugin", only_tests))
            floor.append(checked(run_pytest(repo, "--collect-only", "-p", "no:llmcmp"), "the floor", only_tests))
            bare.append(checked(run_pytest(bare_repo, "--collect-only"), "the tests alone", only_tests))
            bare_floor.append(
                checked(run_pytest(bare_repo, "--collect-only", "-p", "no:llmcmp"), "the tests alone", only_tests)
            )
        # The recognition alone, in this process (CPU time, best of 3): what the plugin adds per YAML file without
        # the noise of starting interpreters on a shared machine.
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from pytest_llmcmp.cases import looks_like_case_file

        paths = sorted(repo.rglob("*.yaml"))
        in_process = []
        for _ in range(3):
            started = time.process_time()
            wrongly = [path for path in paths if looks_like_case_file(path)]
            in_process.append(time.process_time() - started)
        if wrongly:
            sys.exit(f"recognized as case files: {wrongly[:3]}")
    with_plugin, without = Best(tuple(plugin)), Best(tuple(floor))
    no_yaml, no_yaml_floor = Best(tuple(bare)), Best(tuple(bare_floor))

    def row(label: str, best: Best) -> list[object]:
        return [label, f"{best.seconds:.2f}", f"{best.cpu:.2f}", f"{best.peak_mib:.0f}", spread(best.walls)]

    print(f"({yaml_files} YAML files, {size / 1e6:.1f} MB in all)")
    print()
    print(
        table(
            ["session", "wall s", "CPU s", "peak MiB", "wall min/med/max"],
            [
                row("--collect-only (plugin)", with_plugin),
                row("--collect-only -p no:llmcmp", without),
                row("no YAML file, plugin", no_yaml),
                row("no YAML file, -p no:llmcmp", no_yaml_floor),
            ],
        )
    )
    print()
    for label, ratio, added, per_file in (
        (
            "wall",
            with_plugin.seconds / without.seconds,
            with_plugin.seconds - without.seconds,
            (with_plugin.seconds - without.seconds - (no_yaml.seconds - no_yaml_floor.seconds)) / yaml_files * 1e6,
        ),
        (
            "CPU",
            with_plugin.cpu / without.cpu,
            with_plugin.cpu - without.cpu,
            (with_plugin.cpu - without.cpu - (no_yaml.cpu - no_yaml_floor.cpu)) / yaml_files * 1e6,
        ),
    ):
        print(
            f"RATIO plugin/floor {label}: {ratio:.2f}x (+{added:.2f}s in all; less the plugin's start-up, measured "
            f"on the same tests without YAML: {per_file:.0f} us per YAML file)"
        )
    print(
        f"recognition alone, in process: {min(in_process):.3f}s CPU for {len(paths)} files = "
        f"{min(in_process) / len(paths) * 1e6:.0f} us per YAML file (none recognized as a case file)"
    )
    print(f"({load_note()} at the end)")


if __name__ == "__main__":
    main()
