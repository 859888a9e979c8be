"""The GitHub Actions example runs as written: its shell steps, in a scratch git repository with a prompt change.

``examples/github-actions.yml`` is parsed as YAML and its ``run:`` steps are executed in order, by bash with the
runner's default flags (``bash -e``), in a clone of a repository of two commits: the base branch (a prompt, three
cases and their recordings) and a pull request that edits the prompt (and, unless said otherwise, records it again
against a fake OpenAI-compatible server on loopback). Steps' ``if:`` conditions, ``${{ … }}`` expressions and
``continue-on-error`` are evaluated as GitHub would for the scenario; an expression or a condition this test does
not know fails it, so that editing the workflow means teaching the test, never silently testing less.

Two things cannot run here and are replaced, visibly:
- ``pip install "$LLMCMP_SOURCE"``: ``pip`` is a stub on ``PATH`` that records its arguments; the package is the one
  already installed in this test's environment (the same code; the rest of the step, its import check, runs as
  written);
- ``gh`` (the pull request comment): a stub that records its arguments and its ``GH_TOKEN``.
``uses:`` steps (checkout, setup-python, upload-artifact) are not run; for the upload, the files it lists must exist.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakeserver import FakeServer, correct_answer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github-actions.yml"
REPOSITORY = "owner/project"
PR_NUMBER = "7"

PYPROJECT = """\
[tool.pytest.ini_options]
llm_prompt = ["prompts/langgpt.md"]
"""
CASES = """\
template: en
cases:
  - {id: trap, numbers: ["13.8", "13.11"]}
  - {id: famous, numbers: ["9.9", "9.11"]}
  - {id: control, numbers: ["9.91", "9.9"]}
  - {id: negative, numbers: ["-0.5", "-0.25"], ask: smaller}
  - {id: integer, numbers: ["12", "9"]}
  - {id: thousands, numbers: ["1,234.5", "1,243"]}
"""
PROMPT_BASE = "You compare numbers.\n"
PROMPT_BETTER = "You compare numbers. Pad the decimals with zeros first, then compare digit by digit.\n"
PROMPT_WORSE = "You compare numbers. Trust the longer decimal part.\n"
WRONG = {
    # Which questions the fake model gets wrong under each prompt: the better prompt fixes the trap, the worse one
    # breaks two cases that passed.
    PROMPT_BASE: ("13.8", "9.9 or"),
    PROMPT_BETTER: ("9.9 or",),
    PROMPT_WORSE: ("13.8", "9.9 or", "9.91", "1,234.5"),
}


def fake_model(request: dict[str, Any]) -> str:
    system = next((m["content"] for m in request["messages"] if m["role"] == "system"), "")
    question = request["messages"][-1]["content"]
    right = correct_answer(request)
    if any(marker in question for marker in WRONG[system]):
        chosen = re.search(r"is (\S+)\.$", right)
        assert chosen is not None
        options = re.findall(r"-?[\d,]+(?:\.\d+)?", question)
        other = next(option for option in options if option != chosen.group(1))
        return right.replace(chosen.group(1), other)
    return right


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("LLMCMP_", "PYTEST_", "GITHUB_"))}


def record(repo: Path, url: str) -> None:
    """What the user does after editing the prompt: record what is missing, then prune the old version's cassettes."""
    for args in (["--llm-endpoint", url], ["--llm-prune"]):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "cases/", "-q", "-p", "no:cacheprovider", *args],
            cwd=repo,
            env=clean_env(),
            capture_output=True,
            text=True,
        )
        assert done.returncode in (0, 1), done.stdout + done.stderr


@dataclass
class Project:
    origin: Path
    base_sha: str
    branches: dict[str, str] = field(default_factory=dict)  # scenario -> commit


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The user's repository: ``main`` with a recorded prompt, and one branch per pull request."""
    origin = tmp_path_factory.mktemp("origin")
    git(origin, "init", "-q", "-b", "main")
    (origin / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (origin / "cases").mkdir()
    (origin / "cases" / "basic.yaml").write_text(CASES, encoding="utf-8")
    (origin / "prompts").mkdir()
    prompt = origin / "prompts" / "langgpt.md"
    with FakeServer(models=("fake-model",), answer=fake_model) as server:
        prompt.write_text(PROMPT_BASE, encoding="utf-8")
        record(origin, server.url)
        git(origin, "add", "-A")
        git(origin, "commit", "-q", "-m", "the suite and its recordings")
        made = Project(origin=origin, base_sha=git(origin, "rev-parse", "HEAD"))
        for name, text, recorded in (
            ("better", PROMPT_BETTER, True),
            ("worse", PROMPT_WORSE, True),
            ("unrecorded", PROMPT_BETTER, False),
        ):
            git(origin, "checkout", "-q", "-b", name, "main")
            prompt.write_text(text, encoding="utf-8")
            if recorded:
                record(origin, server.url)
            git(origin, "add", "-A")
            git(origin, "commit", "-q", "-m", f"prompt: {name}")
            made.branches[name] = git(origin, "rev-parse", "HEAD")
        git(origin, "checkout", "-q", "main")
    return made


def load_workflow() -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return workflow


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on: dict[str, Any] = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    return on


@dataclass
class Event:
    """What GitHub would put in the contexts for one run of the workflow."""

    name: str  # pull_request or push
    fork: bool = False
    variables: dict[str, str] = field(default_factory=dict)  # the repository's variables (vars.*); none by default

    def expression(self, text: str, base_sha: str) -> str:
        values = {
            "github.event.pull_request.base.sha": base_sha,
            "github.event.pull_request.number": PR_NUMBER,
            "github.token": "ghs_faketoken",
            "vars.LLMCMP_SOURCE || '.'": self.variables.get("LLMCMP_SOURCE") or ".",
            "vars.LLMCMP_MIN_ACCURACY": self.variables.get("LLMCMP_MIN_ACCURACY", ""),  # unset reads as ""
        }
        if text not in values:
            pytest.fail(f"{WORKFLOW.name}: this test does not know the expression '${{{{ {text} }}}}'; teach it")
        return values[text]

    def atom(self, text: str, workspace: Path) -> bool | None:
        """One ``&&`` operand of an ``if:``; None for ``always()`` (which lifts the implicit ``success()``)."""
        atoms: dict[str, Callable[[], bool | None]] = {
            "always()": lambda: None,
            "github.event_name == 'pull_request'": lambda: self.name == "pull_request",
            "github.event.pull_request.head.repo.full_name == github.repository": lambda: (
                self.name == "pull_request" and not self.fork
            ),
            "hashFiles('report.md') != ''": lambda: (workspace / "report.md").is_file(),
        }
        if text not in atoms:
            pytest.fail(f"{WORKFLOW.name}: this test does not know the condition '{text}'; teach it")
        return atoms[text]()


@dataclass
class Run:
    """The outcome of the job: which steps ran and how they ended, and what the stubs saw."""

    ran: dict[str, int] = field(default_factory=dict)  # step name -> exit status
    skipped: list[str] = field(default_factory=list)
    output: dict[str, str] = field(default_factory=dict)
    failed: bool = False
    missing_artifacts: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)
    gh: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    workspace: Path = Path()


STUB = """#!/bin/sh
# A stand-in for {name}: records its arguments (and GH_TOKEN) as one JSON line, changes nothing.
"{python}" -c 'import json, os, sys; print(json.dumps({{"args": sys.argv[1:], "token": os.environ.get("GH_TOKEN")}}))' \
  "$@" >> "{log}"
"""


def run_step(script: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A ``run:`` step as the runner runs it: bash with ``-e``, no profile."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_workflow(project: Project, scenario: str, event: Event, tmp_path: Path) -> Run:
    workflow = load_workflow()
    job = workflow["jobs"]["gate"]
    workspace = tmp_path / "work" / "project"
    # actions/checkout with fetch-depth 0: the whole history, the pull request's head checked out.
    git(tmp_path, "clone", "-q", str(project.origin), str(workspace))
    git(workspace, "checkout", "-q", project.branches.get(scenario, project.base_sha))
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name in ("pip", "gh"):
        stub = stubs / name
        stub.write_text(STUB.format(name=name, python=sys.executable, log=tmp_path / f"{name}.log"), encoding="utf-8")
        stub.chmod(0o755)
    summary = tmp_path / "step-summary.md"
    summary.touch()
    env = clean_env()
    env.update(
        PATH=os.pathsep.join([str(stubs), str(Path(sys.executable).parent), env.get("PATH", "")]),
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_EVENT_NAME=event.name,
        GITHUB_REPOSITORY=REPOSITORY,
        CI="true",
    )

    def substitute(text: str) -> str:
        return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: event.expression(m.group(1), project.base_sha), str(text))

    env.update({key: substitute(value) for key, value in workflow.get("env", {}).items()})
    env.update({key: substitute(value) for key, value in job.get("env", {}).items()})
    run = Run(workspace=workspace)
    for index, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {index}"
        condition = str(step.get("if", "success()")).strip()
        results = [event.atom(atom.strip(), workspace) for atom in condition.split("&&") if atom.strip() != "success()"]
        wanted = all(result is not False for result in results)
        if None not in results and run.failed:  # no always(): the implicit success()
            wanted = False
        if not wanted:
            run.skipped.append(name)
            continue
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                listed = str(step["with"]["path"]).split()
                run.missing_artifacts += [path for path in listed if not (workspace / path).is_file()]
            continue
        step_env = {**env, **{key: substitute(value) for key, value in step.get("env", {}).items()}}
        script = tmp_path / f"step-{index}.sh"
        script.write_text(substitute(step["run"]), encoding="utf-8")
        done = run_step(script, workspace, step_env)
        run.ran[name] = done.returncode
        run.output[name] = done.stdout + done.stderr
        if done.returncode != 0 and not step.get("continue-on-error", False):
            run.failed = True
    for name in ("pip", "gh"):
        log = tmp_path / f"{name}.log"
        calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
        if name == "pip":
            run.pip = [" ".join(call["args"]) for call in calls]
        else:
            run.gh = calls
    run.summary = summary.read_text(encoding="utf-8")
    return run


REPLAY = "Replay and gate"
BASELINE = "Results of the base branch"
COMMENT = "Comment on the pull request"


def test_a_better_prompt_passes_compared_with_the_base_branch_and_is_commented(
    project: Project, tmp_path: Path
) -> None:
    run = run_workflow(project, "better", Event("pull_request"), tmp_path)
    assert not run.failed, run.output
    assert run.pip == ["install ."]  # the stub saw the workflow's own install line ("." by default)
    assert run.ran[BASELINE] == 0
    results = json.loads((run.workspace / "results.json").read_text(encoding="utf-8"))
    baseline = json.loads((run.workspace / "baseline.json").read_text(encoding="utf-8"))
    # The base branch's results come from its own prompt; the pull request's from the edited one.
    assert baseline["prompts"]["langgpt"]["sha256"] != results["prompts"]["langgpt"]["sha256"]
    assert (baseline["summary"]["passed"], results["summary"]["passed"]) == (4, 5)
    assert results["gate"]["state"] == "passed"
    assert run.missing_artifacts == []
    assert (results["comparison"]["regressions"], results["comparison"]["improvements"]) == (0, 1)
    assert "baseline baseline.json: 0 regressions" in run.output[REPLAY]
    report = (run.workspace / "report.md").read_text(encoding="utf-8")
    assert "gate passed" in report
    assert run.summary == report  # the job summary holds the report
    comment = ["pr", "comment", PR_NUMBER, "--body-file", "report.md", "--edit-last"]
    assert [call["args"] for call in run.gh] == [comment]
    assert run.gh[0]["token"] == "ghs_faketoken"
    assert (run.workspace / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_pull_request_from_a_fork_gets_the_report_in_the_job_summary_not_a_comment(
    project: Project, tmp_path: Path
) -> None:
    run = run_workflow(project, "better", Event("pull_request", fork=True), tmp_path)
    assert not run.failed, run.output
    assert COMMENT in run.skipped
    assert run.gh == []
    assert "gate passed" in run.summary
    assert run.missing_artifacts == []


def test_a_worse_prompt_fails_the_job_and_still_reports(project: Project, tmp_path: Path) -> None:
    run = run_workflow(project, "worse", Event("pull_request"), tmp_path)
    assert run.failed
    assert run.ran[REPLAY] == 1
    assert "gate failed" in run.output[REPLAY]
    results = json.loads((run.workspace / "results.json").read_text(encoding="utf-8"))
    assert results["gate"]["state"] == "failed"
    assert results["comparison"]["regressions"] == 2
    # The reports are still written, summarised, uploaded and commented: a failing gate is when they matter most.
    assert "gate failed" in run.summary
    assert run.missing_artifacts == []
    assert len(run.gh) == 1


def test_a_prompt_edited_without_recordings_fails_naming_the_command_that_records_them(
    project: Project, tmp_path: Path
) -> None:
    run = run_workflow(project, "unrecorded", Event("pull_request"), tmp_path)
    assert run.failed
    assert run.ran[REPLAY] == 1
    assert "have no recording" in run.output[REPLAY]
    assert "record them with: pytest --llm-endpoint URL" in run.output[REPLAY]
    assert "gate not decided" in run.summary


def test_a_push_to_main_replays_without_a_baseline(project: Project, tmp_path: Path) -> None:
    run = run_workflow(project, "main", Event("push"), tmp_path)
    assert not run.failed, run.output
    assert BASELINE in run.skipped
    assert COMMENT in run.skipped
    assert not (run.workspace / "baseline.json").exists()
    assert run.ran[REPLAY] == 0
    assert run.gh == []
    assert run.missing_artifacts == []


def test_the_install_step_fails_in_one_line_when_the_plugin_is_not_importable(project: Project, tmp_path: Path) -> None:
    """A project of one's own that forgot LLMCMP_SOURCE: "." installs the project, not the plugin; the step says so."""
    workflow = load_workflow()
    step = next(step for step in workflow["jobs"]["gate"]["steps"] if "pip install" in str(step.get("run", "")))
    script = tmp_path / "install.sh"
    script.write_text(step["run"], encoding="utf-8")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "pip").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    # A python that cannot import the plugin (isolated, without this environment's site-packages).
    (stubs / "python").write_text(f'#!/bin/sh\nexec "{sys.base_prefix}/bin/python3" -I -S "$@"\n', encoding="utf-8")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    env = {**clean_env(), "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "LLMCMP_SOURCE": "."}
    done = subprocess.run(["bash", "-e", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "::error::pytest-llmcmp is not installed from '.': set the repository variable LLMCMP_SOURCE" in done.stdout


def test_the_install_step_fails_in_one_line_in_a_project_pip_cannot_build(tmp_path: Path) -> None:
    """A user's project (no packaging, only pytest settings) with LLMCMP_SOURCE unset: pip itself fails, for real.

    The pip is the real one (offline and into a scratch target: it can neither fetch nor install anything here), run
    on a project laid out as the workflow expects; bash -e would end the step with pip's error alone."""
    workflow = load_workflow()
    step = next(step for step in workflow["jobs"]["gate"]["steps"] if "pip install" in str(step.get("run", "")))
    project = tmp_path / "project"
    for folder in ("cases", "prompts", "cassettes"):
        (project / folder).mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (project / "cases" / "basic.yaml").write_text(CASES, encoding="utf-8")
    (project / "prompts" / "langgpt.md").write_text(PROMPT_BASE, encoding="utf-8")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "pip").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pip "$@"\n', encoding="utf-8")
    (stubs / "pip").chmod(0o755)
    script = tmp_path / "install.sh"
    script.write_text(step["run"], encoding="utf-8")
    env = {
        **clean_env(),
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "LLMCMP_SOURCE": ".",
        "PIP_NO_INDEX": "1",
        "PIP_TARGET": str(tmp_path / "target"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    done = run_step(script, project, env)
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error::")]
    assert errors == [
        "::error::pip could not install pytest-llmcmp from '.': "
        "set the repository variable LLMCMP_SOURCE to its git URL"
    ]
    assert not (tmp_path / "target").exists() or not any((tmp_path / "target").iterdir())


def test_the_accuracy_threshold_is_the_repository_variable_and_none_without_it(
    project: Project, tmp_path: Path
) -> None:
    """A small model's suite passes 5 of 6 after the better prompt: no fixed threshold; LLMCMP_MIN_ACCURACY adds one."""
    for name in ("unset", "high", "met"):
        (tmp_path / name).mkdir()
    unset = run_workflow(project, "better", Event("pull_request"), tmp_path / "unset")
    assert not unset.failed, unset.output
    results = json.loads((unset.workspace / "results.json").read_text(encoding="utf-8"))
    # Unset: 0%, a threshold every run meets (it only keeps known failures from failing a push without a baseline).
    assert [(t["ok"], t["message"]) for t in results["gate"]["thresholds"]] == [
        (True, "accuracy of prompt 'langgpt' is 83.3% (5/6), meets --llm-min-accuracy 0%")
    ]
    high = run_workflow(
        project, "better", Event("pull_request", variables={"LLMCMP_MIN_ACCURACY": "90%"}), tmp_path / "high"
    )
    assert high.failed
    assert high.ran[REPLAY] == 1
    results = json.loads((high.workspace / "results.json").read_text(encoding="utf-8"))
    assert results["gate"]["state"] == "failed"
    assert results["gate"]["comparison_state"] == "passed"
    assert "83.3% (5/6), 6.7 points under --llm-min-accuracy 90%" in high.summary
    met = run_workflow(project, "main", Event("push", variables={"LLMCMP_MIN_ACCURACY": "60%"}), tmp_path / "met")
    assert not met.failed, met.output
    assert (
        "gate passed: accuracy of prompt 'langgpt' is 66.7% (4/6), meets --llm-min-accuracy 60%" in met.output[REPLAY]
    )


def test_the_trigger_paths_cover_the_suite_of_this_repository_and_of_the_recommended_layout() -> None:
    """A pull request that edits a prompt, a case or a cassette must start the job, in either layout."""
    paths = triggers(load_workflow())["pull_request"]["paths"]

    def watched(path: str) -> bool:
        return any(fnmatch(path, pattern.replace("**", "*")) for pattern in paths)

    # This repository: the prompts its pyproject.toml names, its cases and its cassettes.
    shipped = re.findall(r'"(examples/prompts/[^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert shipped
    some_cassette = next((ROOT / "cassettes").rglob("*.yaml")).relative_to(ROOT).as_posix()
    ours = [*shipped, "cases/seed.yaml", some_cassette, "pyproject.toml"]
    # The layout of a project of one's own (the scratch repository above): prompts/, cases/, cassettes/.
    theirs = ["prompts/langgpt.md", "cases/basic.yaml", "cassettes/fake-model/langgpt-0123456789ab/trap.yaml"]
    assert [path for path in ours + theirs if not watched(path)] == []
    assert not watched("README.md")
