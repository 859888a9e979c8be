"""The gate as a reviewer meets it: pytester sessions against constructed baselines whose right decision is known.

Each test records a suite of 40 cases from the fake server (some answered wrong on purpose), then builds a baseline
from those results by flipping outcomes, so that the number of improvements and regressions is exactly what the test
says; then it replays the suite offline against that baseline under each gate mode.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Collection, Iterable
from typing import Any

import pytest

from pytest_llmcmp.stats import paired_difference, wilson
from tests.fakeserver import FakeServer, correct_answer

CASES = 40
QUESTION = re.compile(r"larger, (\d+)\.8 or")


def suite_text(critical: Collection[int] = (), tags: dict[int, str] | None = None) -> str:
    lines = ["template: en", "cases:"]
    for index in range(CASES):
        lines.append(f"  - id: c{index:02d}")
        lines.append(f'    numbers: ["{index}.8", "{index}.11"]')
        lines.append(
            f"    tags: [{'odd' if index % 2 else 'even'}{', ' + tags[index] if tags and index in tags else ''}]"
        )
        if index in critical:
            lines.append("    critical: true")
    return "\n".join(lines) + "\n"


def answers_wrong_on(wrong: Iterable[int]) -> Any:
    wrong = set(wrong)

    def answer(request: dict[str, Any]) -> str:
        question = request["messages"][-1]["content"]
        match = QUESTION.search(question)
        if match and int(match.group(1)) in wrong:
            return f"The larger is {match.group(1)}.11."
        return correct_answer(request)

    return answer


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)


def recorded(
    pytester: pytest.Pytester,
    wrong: Iterable[int] = (),
    critical: Collection[int] = (),
    tags: dict[int, str] | None = None,
) -> dict[str, Any]:
    """Record the suite (cases in ``wrong`` answered wrong) and return its results JSON."""
    pytester.makefile(".yaml", **{"cases/numbers": suite_text(critical, tags)})
    with FakeServer(answer=answers_wrong_on(wrong)) as fake:
        run(pytester, "--llm-endpoint", fake.url, "--llm-results", "head.json")
    data: dict[str, Any] = json.loads((pytester.path / "head.json").read_text(encoding="utf-8"))
    return data


def write_baseline(
    pytester: pytest.Pytester, head: dict[str, Any], passed_before: Iterable[int], failed_before: Iterable[int]
) -> None:
    """A baseline equal to ``head`` except that the given cases passed (or failed) in it."""
    base = json.loads(json.dumps(head))
    ups, downs = {f"c{i:02d}" for i in passed_before}, {f"c{i:02d}" for i in failed_before}
    for case in base["cases"]:
        if case["id"] in ups:
            case["outcome"] = "pass"
        if case["id"] in downs:
            case["outcome"] = "fail"
    (pytester.path / "base.json").write_text(json.dumps(base), encoding="utf-8")


def replay(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return run(pytester, "--llm-baseline", "base.json", "-rfx", *args)


# --- the modes ----------------------------------------------------------------------------------------------------


def test_a_clear_improvement_with_a_few_flips_passes_significant_and_fails_strict(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[0, 1])
    write_baseline(pytester, head, passed_before=[0, 1], failed_before=range(10, 22))  # 2 regressed, 12 improved
    significant = replay(pytester, "--llm-gate", "significant")
    assert significant.ret == pytest.ExitCode.OK
    significant.assert_outcomes(passed=38, xfailed=2)
    # McNemar exact, two-sided: 2 * P(X <= 2 | n = 14, 1/2) = 2 * (1 + 14 + 91) / 2**14 = 0.0129.
    significant.stdout.fnmatch_lines(
        [
            "gate passed (significant, alpha 0.05): none +10 net (12 improved, 2 regressed), McNemar p = 0.013; "
            "0 critical regressions",
        ]
    )
    significant.stdout.fnmatch_lines(
        ["XFAIL *c00::none - regression (passed in the baseline); --llm-gate significant*"]
    )
    strict = replay(pytester, "--llm-gate", "strict")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.assert_outcomes(passed=38, failed=2)
    strict.stdout.fnmatch_lines(["gate failed (strict): none +10 net (12 improved, 2 regressed)*2 regressed and the*"])


def test_significant_is_the_default(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[0, 1])
    write_baseline(pytester, head, passed_before=[0, 1], failed_before=range(10, 22))
    result = replay(pytester)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["gate passed (significant, alpha 0.05):*"])
    pytester.makeini("[pytest]\nllm_gate = strict\n")  # the ini key
    assert replay(pytester).ret == pytest.ExitCode.TESTS_FAILED


def test_a_real_drop_fails_strict_and_significant(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=range(8))
    write_baseline(pytester, head, passed_before=range(8), failed_before=())  # 8 regressed, nothing improved
    for mode in ("strict", "significant"):
        result = replay(pytester, "--llm-gate", mode)
        assert result.ret == pytest.ExitCode.TESTS_FAILED, mode
        result.stdout.fnmatch_lines([f"gate failed ({mode}*): none -8 net (0 improved, 8 regressed)*"])
    # One-sided exact p of 8 regressions against 0 improvements: 1/2**8 = 0.0039.
    replay(pytester, "--llm-gate", "significant").stdout.fnmatch_lines(
        ["*worse: one-sided p = 0.004 < alpha 0.05; a drop of 20.0 points, more than --llm-max-drop 0*"]
    )
    report = replay(pytester, "--llm-gate", "report")
    assert report.ret == pytest.ExitCode.OK
    report.stdout.fnmatch_lines(["gate report only: none -8 net (0 improved, 8 regressed)*; 0 critical regressions"])


def test_a_small_drop_is_held_to_max_drop(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[3])
    write_baseline(pytester, head, passed_before=[3], failed_before=())  # one regression: -2.5 points
    assert replay(pytester).ret == pytest.ExitCode.TESTS_FAILED  # not significant, but a drop, and max drop is 0
    allowed = replay(pytester, "--llm-max-drop", "5")
    assert allowed.ret == pytest.ExitCode.OK
    allowed.stdout.fnmatch_lines(["gate passed (significant, alpha 0.05): none -1 net (0 improved, 1 regressed)*"])


def test_max_regressions_is_a_count_rule(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[0, 1, 2])
    write_baseline(pytester, head, passed_before=[0, 1], failed_before=range(10, 20))
    assert replay(pytester, "--llm-gate", "strict", "--llm-max-regressions", "2").ret == pytest.ExitCode.OK
    write_baseline(pytester, head, passed_before=[0, 1, 2], failed_before=range(10, 20))
    result = replay(pytester, "--llm-gate", "strict", "--llm-max-regressions", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*3 regressed, more than --llm-max-regressions 2*"])


def test_a_critical_regression_fails_every_mode(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[0], critical=[0])
    write_baseline(pytester, head, passed_before=[0], failed_before=range(10, 30))  # a big improvement, but c00
    for mode in ("strict", "significant", "report"):
        result = replay(pytester, "--llm-gate", mode)
        assert result.ret == pytest.ExitCode.TESTS_FAILED, mode
        result.assert_outcomes(passed=39, failed=1)  # the critical case's item fails by itself
        result.stdout.fnmatch_lines(["*1 critical regression (c00 [[]none[]]): a critical case must never regress"])


def test_must_pass_makes_a_tag_critical(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[5], tags={5: "seed"})
    write_baseline(pytester, head, passed_before=[5], failed_before=range(10, 30))
    assert replay(pytester, "--llm-gate", "report").ret == pytest.ExitCode.OK
    result = replay(pytester, "--llm-gate", "report", "--llm-must-pass", "seed")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 critical regression (c05 [[]none[]])*"])


def test_a_case_file_says_critical_with_a_boolean(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/bad": "cases:\n  - numbers: ['1.5', '1.25']\n    critical: yes please\n"})
    result = run(pytester, "--collect-only")
    result.stdout.fnmatch_lines(["*cases/bad.yaml:3: case *: critical must be true or false*"])


# --- fixes found while trying it as a new user would --------------------------------------------------------------


def test_a_subset_run_compares_only_its_cases(pytester: pytest.Pytester) -> None:
    head = recorded(pytester)
    write_baseline(pytester, head, passed_before=(), failed_before=[30, 31])
    result = replay(pytester, "-k", "c0", "--llm-report", "pr.md")  # c00 to c09
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "baseline base.json: 0 regressions, 0 improvements, 0 new, 0 removed; "
            "30 baseline cases not run (not selected), not compared",
            "  none: 100.0% -> 100.0% (+0.0 points)",
        ]
    )
    assert "removed" not in (pytester.path / "pr.md").read_text(encoding="utf-8").split("· model")[0]
    assert "30 cases of baseline base.json not run" in (pytester.path / "pr.md").read_text(encoding="utf-8")


def test_the_markdown_headline_matches_the_exit_status(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[0, 1])
    write_baseline(pytester, head, passed_before=(), failed_before=())  # every failure is a known one
    green = replay(pytester, "--llm-report", "pr.md")
    assert green.ret == pytest.ExitCode.OK
    headline = (pytester.path / "pr.md").read_text(encoding="utf-8").splitlines()[2]
    assert headline.startswith("✅ 38/40 cases passed (95.0%)")
    write_baseline(pytester, head, passed_before=[0, 1], failed_before=())
    red = replay(pytester, "--llm-report", "pr.md")
    assert red.ret == pytest.ExitCode.TESTS_FAILED
    text = (pytester.path / "pr.md").read_text(encoding="utf-8")
    assert text.splitlines()[2].startswith("❌ 38/40 cases passed")
    assert "❌ **gate failed (significant, alpha 0.05): none -2 net (0 improved, 2 regressed)" in text


def test_an_interrupted_run_writes_incomplete_results(pytester: pytest.Pytester) -> None:
    recorded(pytester, wrong=[5])
    (pytester.path / "pr.md").write_text("✅ 41/41 cases passed\n", encoding="utf-8")  # a stale report
    result = run(pytester, "-x", "--llm-results", "r.json", "--llm-report", "pr.md", "--llm-html", "r.html")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    data = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert data["complete"] is False
    assert data["interrupted"] == "stopping after 1 failures"
    assert (data["ran"], data["selected"]) == (6, 40)
    report = (pytester.path / "pr.md").read_text(encoding="utf-8")
    assert "⚠️ **interrupted (stopping after 1 failures): 6 of 40 cases ran; the results are incomplete**" in report
    assert "41/41" not in report
    assert "interrupted (stopping after 1 failures)" in (pytester.path / "r.html").read_text(encoding="utf-8")
    result.stdout.fnmatch_lines(["interrupted (stopping after 1 failures): 6 of 40 cases ran*"])


def test_a_collection_error_is_not_reported_as_ctrl_c(pytester: pytest.Pytester) -> None:
    """pytest stops after an error during collection by raising a KeyboardInterrupt of its own: nobody pressed
    Ctrl-C, and the terminal, the results and the report say what happened."""
    recorded(pytester)
    pytester.makefile(".yaml", **{"cases/typo": "cases:\n  - id: t1\n    numbrs: ['13.8', '13.11']\n"})
    result = run(pytester, "--llm-results", "typo.json", "--llm-report", "typo.md")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    data = json.loads((pytester.path / "typo.json").read_text(encoding="utf-8"))
    assert (data["complete"], data["interrupted"]) == (False, "collection errors (1)")
    report = (pytester.path / "typo.md").read_text(encoding="utf-8")
    assert "interrupted (collection errors (1)): 0 of 40 cases ran; the results are incomplete" in report
    assert "Ctrl-C" not in report
    result.stdout.fnmatch_lines(["*interrupted (collection errors (1)): 0 of 40 cases ran*"])
    result.stdout.no_fnmatch_line("*Ctrl-C*")
    result.stdout.fnmatch_lines(["*unknown key 'numbrs' in case #1*"])


def test_an_interrupted_comparison_is_not_decided(pytester: pytest.Pytester) -> None:
    head = recorded(pytester)
    write_baseline(pytester, head, passed_before=(), failed_before=())
    pytester.makeconftest(
        "def pytest_runtest_call(item):\n"
        "    if item.name == 'none' and item.parent.name == 'c03':\n"
        "        raise KeyboardInterrupt\n"
    )
    # In a process of its own: an in-process session would hand the KeyboardInterrupt on to this one.
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--llm-baseline", "base.json", "--llm-results", "r.json"
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    data = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert (data["complete"], data["interrupted"]) == (False, "Ctrl-C")
    assert data["gate"]["state"] == "undecided"
    result.stdout.fnmatch_lines(["gate not decided: the run was interrupted (Ctrl-C)"])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_writes_incomplete_results_and_kill_leaves_no_stale_file(pytester: pytest.Pytester) -> None:
    recorded(pytester)
    pytester.makeconftest(
        "import os, signal\n"
        "def pytest_runtest_call(item):\n"
        "    if item.parent.name == 'c03' and not os.environ.get('KILL'):\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    if item.parent.name == 'c05' and os.environ.get('KILL'):\n"
        "        os._exit(9)\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--llm-results", "r.json"]
    term = subprocess.run(command, cwd=pytester.path, env=env, capture_output=True, text=True, timeout=600)
    assert term.returncode == pytest.ExitCode.INTERRUPTED, term.stdout
    data = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert (data["complete"], data["interrupted"], data["ran"]) == (False, "SIGTERM", 3)
    # Killed outright, no hook runs at all: the earlier run's file is gone rather than left looking current.
    killed = subprocess.run(command, cwd=pytester.path, env={**env, "KILL": "1"}, capture_output=True, timeout=600)
    assert killed.returncode == 9
    assert not (pytester.path / "r.json").exists()


def test_ini_help_prints_a_plain_percent_sign(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    assert not any("%%" in line for line in result.outlines)
    result.stdout.fnmatch_lines(["*llm_min_accuracy (args):*", "*percentage such as 90%)*"])


def test_a_threshold_set_in_the_ini_file_is_reported_under_its_ini_name(pytester: pytest.Pytester) -> None:
    recorded(pytester, wrong=[0, 1, 2, 3, 4])
    pytester.makeini("[pytest]\nllm_min_accuracy = 0.9\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["gate failed: accuracy of prompt 'none' is 87.5% (35/40), 2.5 points under llm_min_accuracy 90%"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--llm-min-accuracy", "tag:zhh=0.5"],
            "ERROR: --llm-min-accuracy: no collected case is tagged 'zhh' (its tags: en, even, odd)",
        ),
        (
            ["--llm-min-accuracy", "langgpt=0.8"],
            "ERROR: --llm-min-accuracy: no prompt named 'langgpt' in this run (its prompts: none)*",
        ),
        (
            ["--llm-must-pass", "evn"],
            "ERROR: --llm-must-pass: no collected case is tagged 'evn'; did you mean 'even'? (its tags: en, even, odd)",
        ),
        (["--llm-gate", "lenient"], "ERROR: --llm-gate: expected one of strict, significant, report, got 'lenient'"),
        (["--llm-alpha", "5"], "ERROR: --llm-alpha: expected a significance level between 0 and 1, got '5'"),
    ],
)
def test_an_unknown_target_in_a_threshold_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makefile(".yaml", **{"cases/numbers": suite_text()})
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_baseline_prompt_items_follow_the_gate_mode(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/numbers": suite_text()})
    (pytester.path / "old.md").write_text("Answer quickly.\n", encoding="utf-8")
    (pytester.path / "new.md").write_text("Think.\n", encoding="utf-8")

    def by_prompt(request: dict[str, Any]) -> str:
        old = request["messages"][0]["content"].startswith("Answer")
        match = QUESTION.search(request["messages"][-1]["content"])
        index = int(match.group(1)) if match else -1
        wrong = index in ((10, 11, 12, 13, 14, 15) if old else (0,))  # new: 6 improved, 1 regressed
        return f"The larger is {index}.11." if wrong else correct_answer(request)

    prompts = ["--llm-prompt", "old.md", "--llm-prompt", "new.md", "--llm-baseline-prompt", "old", "-rfx"]
    with FakeServer(answer=by_prompt) as fake:
        run(pytester, "--llm-endpoint", fake.url, *prompts)
    significant = run(pytester, *prompts)
    assert significant.ret == pytest.ExitCode.OK
    significant.assert_outcomes(passed=73, xfailed=7)
    significant.stdout.fnmatch_lines(
        [
            "XFAIL cases/numbers.yaml::c00::new - regression (passed in prompt old); --llm-gate significant: "
            "the gate decides the session",
            "XFAIL cases/numbers.yaml::c10::old - the reference prompt of --llm-baseline-prompt*",
        ]
    )
    significant.stdout.no_fnmatch_line("*gated by accuracy*")
    strict = run(pytester, *prompts, "--llm-gate", "strict")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.assert_outcomes(passed=73, failed=1, xfailed=6)
    strict.stdout.fnmatch_lines(["FAILED cases/numbers.yaml::c00::new*"])


def test_missing_recordings_are_not_regressions_and_the_gate_refuses_to_decide(pytester: pytest.Pytester) -> None:
    (pytester.path / "p.md").write_text("Be careful.\n", encoding="utf-8")
    pytester.makefile(".yaml", **{"cases/numbers": suite_text()})
    with FakeServer() as fake:
        run(pytester, "--llm-endpoint", fake.url, "--llm-prompt", "p.md", "--llm-results", "base.json")
    (pytester.path / "p.md").write_text("Be very careful.\n", encoding="utf-8")  # a prompt edit, not recorded yet
    pytester.makefile(".yaml", **{"cases/more": "template: en\ncases:\n  - {id: extra, numbers: ['2.5', '2.25']}\n"})
    result = replay(pytester, "--llm-prompt", "p.md", "--llm-results", "r.json", "--llm-report", "pr.md")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(skipped=41)
    result.stdout.fnmatch_lines(["baseline base.json: 0 regressions, 0 improvements, 0 new, 0 removed"])
    result.stdout.no_fnmatch_line("*  regression c*")
    result.stdout.no_fnmatch_line("*(error)*")
    result.stdout.fnmatch_lines(
        [
            "gate not decided: 41 cases have no recording, so they cannot be compared (a pull request must carry its "
            "recordings); record them with: pytest --llm-endpoint URL --llm-model fake-model --llm-prompt p.md "
            "cases/more.yaml cases/numbers.yaml",
            "41 cases have no recording (skipped, not judged); record them with: pytest --llm-endpoint URL "
            "--llm-model fake-model --llm-prompt p.md cases/more.yaml cases/numbers.yaml",
        ]
    )
    data = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert data["cases"] == []
    assert len(data["not_recorded"]) == 41
    assert data["comparison"]["regressions"] == 0
    assert "gate not decided: 41 cases have no recording" in (pytester.path / "pr.md").read_text(encoding="utf-8")


def test_the_html_states_the_decision_and_shows_side_by_side_only_with_two_prompts(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[0])
    write_baseline(pytester, head, passed_before=[0], failed_before=())
    replay(pytester, "--llm-html", "r.html")
    html = (pytester.path / "r.html").read_text(encoding="utf-8")
    # The mark is drawn (an emoji is a box without an emoji font) and named for screen readers.
    assert re.search(
        r'id="decision"><svg class="mark failed" role="img" aria-label="failed"[^>]*>.*?</svg> '
        r"gate failed \(significant, alpha 0.05\): none -1 net \(0 improved, 1 regressed\)",
        html,
    )
    assert "<h2>Two prompts side by side" not in html
    assert "none: 40 paired cases: 0 improved, 1 regressed, net -2.5 points, 95% CI" in html
    assert 'id="side-by-side"' not in html


def test_samples_use_a_score_interval_over_cases_and_a_sign_test(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/numbers": suite_text()})
    asked = [0]

    def flaky(request: dict[str, Any]) -> str:
        asked[0] += 1
        match = QUESTION.search(request["messages"][-1]["content"])
        index = int(match.group(1)) if match else -1
        if index < 10 and asked[0] % 2:
            return f"The larger is {index}.11."
        return correct_answer(request)

    with FakeServer(answer=flaky) as fake:
        run(pytester, "--llm-endpoint", fake.url, "--llm-samples", "3", "--llm-results", "base.json")
    result = replay(pytester, "--llm-samples", "3", "--llm-pass-rule", "majority")
    result.stdout.fnmatch_lines(
        [
            "(95% CI: Wilson score interval over cases, each passed or failed by its 3 samples)",
            "*Newcombe's paired score interval); exact sign test on per-case pass rates (0 cases up, "
            "0 down) p = 1 two-sided*",
        ]
    )


def test_help_and_collection_do_not_import_scipy_or_numpy(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"cases/numbers": suite_text()})
    code = (
        "import sys, pytest\n"
        "pytest.main(['--help'])\n"
        "pytest.main(['--collect-only', '-q', '-p', 'no:randomly'])\n"
        "print('scipy' in sys.modules, 'numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=pytester.path, capture_output=True, text=True, timeout=600)
    assert out.stdout.splitlines()[-1] == "False False", out.stdout[-2000:]


def test_results_keep_schema_1_and_only_add_keys(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[0])
    assert head["schema"] == 1
    assert {"schema", "model", "endpoint", "prompts", "settings", "cases", "summary"} <= set(head)
    assert head["complete"] is True
    stats = head["statistics"]
    assert stats["method"] == "95% CI: Wilson score interval over cases"
    low, high = stats["prompts"]["none"]
    assert low < 39 / 40 < high
    assert set(head["cases"][0]) >= {"id", "prompt", "numbers", "ask", "expected", "outcome", "samples"}


def test_the_gate_decides_the_same_under_xdist(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=[0, 1], critical=[1])
    write_baseline(pytester, head, passed_before=[0], failed_before=range(10, 22))  # c00 regressed, 12 improved
    parallel = replay(pytester, "-n", "2")
    assert parallel.ret == pytest.ExitCode.OK
    parallel.stdout.fnmatch_lines(["gate passed (significant, alpha 0.05): none +11 net (12 improved, 1 regressed)*"])
    write_baseline(pytester, head, passed_before=[0, 1], failed_before=range(10, 22))  # and the critical c01 too
    critical = replay(pytester, "-n", "2")
    assert critical.ret == pytest.ExitCode.TESTS_FAILED
    critical.stdout.fnmatch_lines(["*1 critical regression (c01 [[]none[]])*"])
    subset = replay(pytester, "-n", "2", "-k", "c3")
    subset.stdout.fnmatch_lines(["*0 removed; 30 baseline cases not run (not selected), not compared"])
    (pytester.path / "cassettes" / "fake-model" / "none" / "c39.yaml").unlink()
    missing = replay(pytester, "-n", "2", "-k", "c3")
    assert missing.ret == pytest.ExitCode.TESTS_FAILED
    missing.stdout.fnmatch_lines(
        [
            "1 case has no recording (skipped, not judged); record them with: pytest --llm-endpoint URL "
            "--llm-model fake-model cases/numbers.yaml::c39::none"
        ]
    )


def test_a_session_without_cases_leaves_the_results_of_the_last_run_alone(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_results = r.json\n")
    pytester.makepyfile(test_unit="def test_one():\n    assert True\n")
    (pytester.path / "r.json").write_text("{}", encoding="utf-8")
    run(pytester, "test_unit.py").assert_outcomes(passed=1)
    assert (pytester.path / "r.json").read_text(encoding="utf-8") == "{}"


# --- few cases, several samples: honest intervals -------------------------------------------------------------


@pytest.mark.parametrize(("count", "wrong"), [(1, ()), (2, (0, 1)), (5, (0, 1))], ids=["1-case", "2-cases", "5-cases"])
def test_few_cases_with_samples_get_an_interval_not_a_point(
    pytester: pytest.Pytester, count: int, wrong: tuple[int, ...]
) -> None:
    # With 3 samples per case that all agree, the two-stage bootstrap had nothing to draw from: "0.0–0.0%" (or
    # "100.0–100.0%") and a net change of "+0.0 to +0.0" against a baseline, in every report.
    lines = ["template: en", "cases:"]
    lines += [f'  - {{id: c{i:02d}, numbers: ["{i}.8", "{i}.11"], tags: [few]}}' for i in range(count)]
    pytester.makefile(".yaml", **{"cases/few": "\n".join(lines) + "\n"})
    with FakeServer(answer=answers_wrong_on(wrong)) as fake:
        run(pytester, "--llm-endpoint", fake.url, "--llm-samples", "3", "--llm-results", "base.json")
        asked = len(fake.chat_requests)
    assert asked == 3 * count
    outputs = ("--llm-results", "head.json", "--llm-report", "r.md", "--llm-html", "r.html")
    result = run(pytester, "--llm-samples", "3", "--llm-baseline", "base.json", *outputs)
    passed = count - len(wrong)
    accuracy = wilson(passed, count)
    share = paired_difference(passed, 0, 0, count - passed)
    net = (share.low * 100, share.high * 100)  # in points
    assert accuracy is not None
    assert accuracy.high - accuracy.low > 0.3
    assert net[1] - net[0] > 30
    shown = f"{accuracy.low * 100:.1f}–{accuracy.high * 100:.1f}%"
    result.stdout.fnmatch_lines(
        [
            f"none * {passed}/{count} * {shown} *",
            "(95% CI: Wilson score interval over cases, each passed or failed by its 3 samples)",
            f"    {count} paired {'case' if count == 1 else 'cases'}: 0 improved, 0 regressed, net +0.0 points, "
            f"95% CI {net[0]:+.1f} to "
            f"{net[1]:+.1f} (Newcombe's paired score interval); exact sign test*",
        ]
    )
    markdown = (pytester.path / "r.md").read_text(encoding="utf-8")
    html = (pytester.path / "r.html").read_text(encoding="utf-8")
    assert f"| {shown} |" in markdown
    assert shown in html
    for text in (result.stdout.str(), markdown, html):
        assert "0.0–0.0" not in text
        assert "100.0–100.0" not in text
        assert "+0.0 to +0.0" not in text
    data = json.loads((pytester.path / "head.json").read_text(encoding="utf-8"))
    assert data["statistics"]["accuracy"] == accuracy.to_json()
    assert data["statistics"]["tags"]["few"]["none"] == accuracy.to_json()
    assert data["gate"]["prompts"]["none"]["net_interval"] == pytest.approx(list(net), abs=1e-6)


# --- one decision: the comparison and the accuracy thresholds ------------------------------------------------------


def test_a_failed_threshold_fails_the_one_decision_everywhere(pytester: pytest.Pytester) -> None:
    # 30 of 40 wrong: accuracy 25%, the same as the baseline (no flip), so the comparison alone passes.
    head = recorded(pytester, wrong=range(30))
    write_baseline(pytester, head, passed_before=(), failed_before=())
    args = ("--llm-results", "r.json", "--llm-report", "report.md", "--llm-html", "report.html")
    result = replay(pytester, "--llm-min-accuracy", "50%", *args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    line = (
        "gate failed (significant, alpha 0.05): none +0 net (0 improved, 0 regressed), McNemar p = 1; "
        "0 critical regressions; 1 threshold failed: accuracy of prompt 'none' is 25.0% (10/40), "
        "25.0 points under --llm-min-accuracy 50%"
    )
    result.stdout.fnmatch_lines([line])
    assert "gate passed" not in result.stdout.str()
    data = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert data["gate"]["state"] == "failed"
    assert data["gate"]["line"] == line
    assert data["gate"]["comparison_state"] == "passed"
    assert [(t["name"], t["ok"]) for t in data["gate"]["thresholds"]] == [("accuracy[none]", False)]
    markdown = (pytester.path / "report.md").read_text(encoding="utf-8").splitlines()
    assert markdown[4] == f"❌ **{line}**".replace("_", "\\_")
    html = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert 'class="decision failed" id="decision"' in html
    assert "gate passed" not in html
    assert "25.0 points under --llm-min-accuracy 50%</li>" in html
    # The threshold met: the comparison's line as before, and the state passed.
    met = replay(pytester, "--llm-min-accuracy", "20%", *args)
    assert met.ret == pytest.ExitCode.OK
    met.stdout.fnmatch_lines(["gate passed (significant, alpha 0.05): none +0 net*; 0 critical regressions"])
    data = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert data["gate"]["state"] == "passed"
    assert data["gate"]["thresholds"][0]["ok"] is True


def test_report_mode_with_a_failed_threshold_says_failed(pytester: pytest.Pytester) -> None:
    head = recorded(pytester, wrong=range(30))
    write_baseline(pytester, head, passed_before=(), failed_before=())
    result = replay(pytester, "--llm-gate", "report", "--llm-min-accuracy", "50%", "--llm-results", "r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["gate failed (report): none +0 net*; 1 threshold failed: accuracy of prompt 'none'*"])
    assert json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["gate"]["state"] == "failed"


def test_thresholds_alone_decide_without_a_comparison(pytester: pytest.Pytester) -> None:
    recorded(pytester, wrong=range(30))
    args = ("--llm-results", "r.json", "--llm-html", "r.html", "--llm-report", "r.md")
    low = run(pytester, "--llm-min-accuracy", "50%", *args)
    assert low.ret == pytest.ExitCode.TESTS_FAILED
    line = "gate failed: accuracy of prompt 'none' is 25.0% (10/40), 25.0 points under --llm-min-accuracy 50%"
    assert low.stdout.str().count(line) == 1  # the decision, not printed twice
    data = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert (data["gate"]["state"], data["gate"]["mode"], data["gate"]["line"]) == ("failed", "thresholds", line)
    assert f"❌ **{line}**" in (pytester.path / "r.md").read_text(encoding="utf-8")
    assert 'class="decision failed" id="decision"' in (pytester.path / "r.html").read_text(encoding="utf-8")
    met = run(pytester, "--llm-min-accuracy", "25%", *args)
    assert met.ret == pytest.ExitCode.OK
    met.stdout.fnmatch_lines(["gate passed: accuracy of prompt 'none' is 25.0% (10/40), meets --llm-min-accuracy 25%"])
    assert json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["gate"]["state"] == "passed"


def test_a_run_where_no_case_ran_does_not_call_its_model_a_question_mark(pytester: pytest.Pytester) -> None:
    """Nothing recorded yet, replayed offline: no case ran, so no answer names a model; the summary and the reports
    say nothing about one rather than "model ?"."""
    pytester.makefile(".yaml", **{"cases/numbers": suite_text()})
    result = run(pytester, "--llm-report", "r.md", "--llm-html", "r.html")
    result.assert_outcomes(skipped=CASES)
    summary = result.stdout.str().split(" llmcmp ====", 1)[1].splitlines()
    assert summary[1] == "llmcmp: 1 sample per case, pass rule all, temperature 0.0", result.stdout.str()
    reports = [pytester.path.joinpath(name).read_text(encoding="utf-8") for name in ("r.md", "r.html")]
    for text in (result.stdout.str(), *reports):
        assert "model ?" not in text
        assert "<b>?</b>" not in text


def test_one_improvement_is_one_improvement_in_every_report(pytester: pytest.Pytester) -> None:
    head = recorded(pytester)
    write_baseline(pytester, head, passed_before=(), failed_before=[0])  # c00 failed before, passes now
    result = replay(pytester, "--llm-html", "r.html", "--llm-report", "r.md")
    result.stdout.fnmatch_lines(["baseline base.json: 0 regressions, 1 improvement, 0 new, 0 removed"])
    html = (pytester.path / "r.html").read_text(encoding="utf-8")
    assert "<li><b>1</b> improvement</li>" in html
    assert "<li><b>0</b> regressions</li>" in html
    report = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert "### Improvements (1)" in report
    for text in (result.stdout.str(), html, report):
        assert "1 improvements" not in text
        assert " 1 cases" not in text
