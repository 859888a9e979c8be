"""The ``llm`` fixture (issue 17, part 1): users' own tests recorded with vcrpy, replayed offline, judged as cases.

Every test drives real pytest sessions (pytester) against the fake server on loopback, then replays with the server
stopped: a replay that reached the network would fail (nothing listens) or show up in the server's request log.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakeserver import FakeServer, correct_answer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fixture" / "test_numbers.py"
KEY = "sk-fixture-0123456789abcdef"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def cassettes(pytester: pytest.Pytester) -> dict[str, str]:
    root = pytester.path / "cassettes"
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.yaml"))}


@pytest.fixture
def example(pytester: pytest.Pytester) -> pytest.Pytester:
    """The shipped example, laid out as in the repository: examples/fixture/ beside examples/prompts/."""
    (pytester.path / "fixture").mkdir()
    shutil.copy(EXAMPLE, pytester.path / "fixture" / EXAMPLE.name)
    shutil.copytree(ROOT / "examples" / "prompts", pytester.path / "prompts")
    pytester.makeini("[pytest]\n")
    return pytester


def test_the_example_records_then_replays_offline(example: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMCMP_API_KEY", KEY)
    with FakeServer(api_key=KEY) as fake:
        recorded = run(example, "fixture", "--llm-endpoint", fake.url)
        asked = len(fake.chat_requests)
    recorded.assert_outcomes(passed=3)
    assert asked == 3  # the fixture's two questions and the test's own client
    files = cassettes(example)
    assert sorted(files) == [
        "fake-model/tests/fixture.test_numbers/test_my_own_client.yaml",
        "fake-model/tests/fixture.test_numbers/test_the_famous_trap.yaml",
        "fake-model/tests/fixture.test_numbers/test_under_the_langgpt_prompt.yaml",
    ]
    for text in files.values():
        assert KEY not in text
        assert "authorization" not in text.lower()
        assert "127.0.0.1" not in text  # the endpoint is recorded as http://endpoint.llmcmp
        assert yaml.safe_load(text)["version"] == 1
    langgpt = yaml.safe_load(files["fake-model/tests/fixture.test_numbers/test_under_the_langgpt_prompt.yaml"])
    body = yaml.safe_load(langgpt["interactions"][0]["request"]["body"])
    assert body["messages"][0]["content"].startswith("# Role: 数学逻辑专家")  # the marker's prompt file
    assert body["messages"][1]["content"] == "-0.5和-0.25哪个小？"  # the marker's template

    # Offline: the server is gone, nothing listens on its port, and the key is not set.
    monkeypatch.delenv("LLMCMP_API_KEY")
    replayed = run(example, "fixture")
    replayed.assert_outcomes(passed=3)
    replayed.stdout.fnmatch_lines(["llmcmp: replay (offline, record mode none)*"])
    assert cassettes(example) == files  # replay writes nothing


def test_a_request_not_recorded_fails_with_what_why_and_the_command(example: pytest.Pytester) -> None:
    with FakeServer() as fake:
        run(example, "fixture", "--llm-endpoint", fake.url).assert_outcomes(passed=3)
    test = example.path / "fixture" / "test_numbers.py"
    test.write_text(test.read_text(encoding="utf-8").replace("9.9 or 9.11", "9.9 or 9.12"), encoding="utf-8")
    result = run(example, "fixture")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "no recording of POST http://endpoint.llmcmp/chat/completions in test "
            "'fixture/test_numbers.py::test_my_own_client' for model 'fake-model': its cassette has no recording of "
            'this exact request (recorded with user message "Which is larger, 9.9 or 9.11?", asked with user message '
            '"Which is larger, 9.9 or 9.12?").',
            "expected cassette: cassettes/fake-model/tests/fixture.test_numbers/test_my_own_client.yaml",
            "record it with: pytest --llm-endpoint URL --llm-model fake-model "
            "fixture/test_numbers.py::test_my_own_client",
        ]
    )
    result.stdout.no_fnmatch_line("*APIConnectionError*")
    result.stdout.no_fnmatch_line("*Traceback*")


def test_record_mode_once_refuses_new_requests_of_a_recorded_test(pytester: pytest.Pytester) -> None:
    test = pytester.makepyfile(
        test_once="""
        def test_it(llm):
            assert "13.8" in llm.ask("Which is larger, 13.8 or 13.11?")
        """
    )
    with FakeServer() as fake:
        run(pytester, "--llm-endpoint", fake.url).assert_outcomes(passed=1)
        test.write_text(test.read_text().replace("13.11?", "13.12?"))
        result = run(pytester, "--llm-endpoint", fake.url, "--llm-record-mode", "once")
        assert len(fake.chat_requests) == 1  # once: a recorded test asks nothing new
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["record it with: pytest --llm-endpoint * --llm-record-mode new_episodes *"])
        run(pytester, "--llm-endpoint", fake.url).assert_outcomes(passed=1)  # new_episodes, the default, adds it
        assert len(fake.chat_requests) == 2
    assert len(yaml.safe_load(cassettes(pytester)["fake-model/tests/test_once/test_it.yaml"])["interactions"]) == 2


def test_samples_of_one_question_are_recorded_apart_and_replayed_in_order(pytester: pytest.Pytester) -> None:
    answers = iter(["The larger is 13.8.", "The larger is 13.11.", "They are equal."])

    def changing(request: dict[str, Any]) -> str:
        return next(answers)

    pytester.makepyfile(
        test_samples="""
        def test_three(llm):
            verdicts = [llm.compare(["13.8", "13.11"]).verdict for _ in range(3)]
            assert verdicts == ["correct", "wrong", "wrong"]
        """
    )
    with FakeServer(answer=changing) as fake:
        run(pytester, "--llm-endpoint", fake.url).assert_outcomes(passed=1)
    interactions = yaml.safe_load(cassettes(pytester)["fake-model/tests/test_samples/test_three.yaml"])["interactions"]
    assert [i["request"]["headers"]["x-llmcmp-sample"] for i in interactions] == [["1"], ["2"], ["3"]]
    run(pytester).assert_outcomes(passed=1)


def test_assert_correct_fails_with_the_case_text(pytester: pytest.Pytester) -> None:
    def wrong(request: dict[str, Any]) -> str:
        return "13.11 is larger than 13.8." if "13.8" in str(request) else correct_answer(request)

    pytester.makepyfile(
        test_wrong="""
        def test_trap(llm):
            llm.assert_correct(["13.8", "13.11"])
        """
    )
    with FakeServer(answer=wrong) as fake:
        result = run(pytester, "--llm-endpoint", fake.url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "question: Which is larger, 13.8 or 13.11?",
            "prompt:   none",
            "expected: 13.8 (larger of 13.8, 13.11)",
            "wrong: chose 13.11",
            "  answer: 13.11 is larger than 13.8.",
        ]
    )
    result.stdout.no_fnmatch_line("*def test_trap*")  # no traceback into the test or the plugin
    run(pytester).assert_outcomes(failed=1)  # the same verdict offline


def test_prune_deletes_the_cassettes_of_removed_tests_only_on_a_whole_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_pruned="""
        def test_kept(llm):
            llm.ask("Which is larger, 1.5 or 1.25?")

        def test_removed(llm):
            llm.ask("Which is larger, 2.5 or 2.25?")
        """
    )
    with FakeServer() as fake:
        run(pytester, "--llm-endpoint", fake.url).assert_outcomes(passed=2)
    folder = pytester.path / "cassettes" / "fake-model" / "tests" / "test_pruned"
    source = (pytester.path / "test_pruned.py").read_text()
    (pytester.path / "test_pruned.py").write_text(source.split("def test_removed")[0])
    result = run(pytester)
    result.stdout.fnmatch_lines(["1 cassette is not used by any collected case or test: *test_removed.yaml*"])
    run(pytester, "--llm-prune", "-k", "kept").stdout.fnmatch_lines(["--llm-prune: deleted no cassette*"])
    assert (folder / "test_removed.yaml").is_file()
    result = run(pytester, "--llm-prune")
    result.stdout.fnmatch_lines(["pruned 1 unused cassette: *test_removed.yaml"])
    assert sorted(p.name for p in folder.iterdir()) == ["test_kept.yaml"]


def test_nothing_recorded_and_bad_options_are_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        def test_unrecorded(llm):
            llm.ask("Which is larger, 1.5 or 1.25?")

        @pytest.mark.llm(promt="x.md")
        def test_typo(llm):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "no recordings in cassettes: nothing can be replayed offline.",
            "record it with: pytest --llm-endpoint URL test_bad.py::test_unrecorded",
        ]
    )
    with FakeServer() as fake:
        result = run(pytester, "--llm-endpoint", fake.url, "-k", "typo")
    result.stdout.fnmatch_lines(["@pytest.mark.llm: unknown option promt (it takes prompt=, template=)"])


def test_under_xdist_each_worker_records_and_replays_its_tests(example: pytest.Pytester) -> None:
    with FakeServer() as fake:
        recorded = example.runpytest_subprocess(
            "-p", "no:cacheprovider", "fixture", "-n", "2", "--llm-endpoint", fake.url
        )
        asked = len(fake.chat_requests)
    recorded.assert_outcomes(passed=3)
    assert asked == 3
    assert len(cassettes(example)) == 3
    replayed = example.runpytest_subprocess("-p", "no:cacheprovider", "fixture", "-n", "2")
    replayed.assert_outcomes(passed=3)


def test_a_tampered_cassette_is_refused_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_tampered="""
        def test_it(llm):
            llm.ask("Which is larger, 1.5 or 1.25?")
        """
    )
    with FakeServer() as fake:
        run(pytester, "--llm-endpoint", fake.url).assert_outcomes(passed=1)
    path = pytester.path / "cassettes" / "fake-model" / "tests" / "test_tampered" / "test_it.yaml"
    path.write_text("interactions: &x []\nversion: 1\nagain: *x\n", encoding="utf-8")
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "cassettes/fake-model/tests/test_tampered/test_it.yaml: YAML anchors/aliases are not allowed in cassettes "
            "(line 1)"
        ]
    )
    result.stdout.no_fnmatch_line("*During handling*")
    result.stdout.no_fnmatch_line(f"{pytester.path}*")  # the path as the user types it, once
    path.write_text(
        "interactions:\n- request: !!python/object/apply:os.system ['true']\nversion: 1\n", encoding="utf-8"
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["cassettes/fake-model/tests/test_tampered/test_it.yaml: unsupported YAML at line 2*"])


TWO_TESTS = """
def test_trap(llm):
    llm.assert_correct(["13.8", "13.11"])

def test_other(llm):
    llm.assert_correct(["9.9", "9.11"])
"""


def test_replay_uses_the_model_that_recorded_the_test(pytester: pytest.Pytester) -> None:
    """A new user's trial: the repository's cassettes hold another model's recordings (its YAML cases), the user
    records the example against their server and replays it without --llm-model."""
    pytester.makefile(".yaml", **{"cases/numbers": "cases:\n  - {id: trap, numbers: ['13.8', '13.11'], ask: larger}\n"})
    with FakeServer(models=("Aaa-shipped-model",)) as shipped:  # sorts first: the first model recorded
        run(pytester, "cases", "--llm-endpoint", shipped.url).assert_outcomes(passed=1)
    pytester.makepyfile(test_app=TWO_TESTS)
    with FakeServer(models=("mine",)) as mine:
        run(pytester, "test_app.py", "--llm-endpoint", mine.url).assert_outcomes(passed=2)
    assert sorted(cassettes(pytester)) == [
        "Aaa-shipped-model/none/trap.yaml",
        "mine/tests/test_app/test_other.yaml",
        "mine/tests/test_app/test_trap.yaml",
    ]
    # Offline (both servers gone): the tests replay the model that recorded them, the cases every model recorded.
    run(pytester, "test_app.py").assert_outcomes(passed=2)
    whole = run(pytester, "-rs")
    whole.assert_outcomes(passed=3, skipped=1)  # the case was never recorded with "mine"
    # --llm-model narrows it as for the cases: the other model never recorded the tests.
    narrowed = run(pytester, "test_app.py", "--llm-model", "Aaa-shipped-model")
    narrowed.assert_outcomes(failed=2)
    narrowed.stdout.fnmatch_lines(["*for model 'Aaa-shipped-model': the test was never recorded with this model."])


def test_replay_of_a_test_several_models_or_none_recorded_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=TWO_TESTS)
    for model in ("alpha", "beta"):
        with FakeServer(models=(model,)) as fake:
            run(pytester, "test_app.py::test_trap", "--llm-endpoint", fake.url).assert_outcomes(passed=1)
    pytester.makepyfile(test_new="def test_new(llm):\n    llm.ask('Which is larger, 1.5 or 1.25?')\n")
    result = run(pytester, "test_app.py", "test_new.py")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "test 'test_app.py::test_trap' is recorded for several models in cassettes (alpha, beta); choose one "
            "with --llm-model",
            "test 'test_app.py::test_other' was never recorded with any model in cassettes (alpha, beta)",
            "record it with: pytest --llm-endpoint URL test_app.py::test_other",
            "test 'test_new.py::test_new' was never recorded with any model in cassettes (alpha, beta)",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    chosen = run(pytester, "test_app.py::test_trap", "--llm-model", "beta")
    chosen.assert_outcomes(passed=1)


def test_the_fixture_and_the_cases_judge_an_answer_by_one_rule(pytester: pytest.Pytester) -> None:
    """A plugin's reading that is no option of the question, and an answer cut off by max_tokens before a verdict:
    the fixture's judgement is the case's sample, field by field."""
    pytester.makeconftest(
        """
        from pytest_llmcmp.answers import Extraction

        def pytest_llmcmp_extract_choice(answer, case, prompt, finish_reason):
            if "13.8" in case.numbers:
                return Extraction("42", reason="mine", evidence="42")  # not one of the numbers
        """
    )
    pytester.makefile(
        ".yaml",
        **{
            "cases/both": "cases:\n  - {id: trap, numbers: ['13.8', '13.11']}\n"
            "  - {id: long, numbers: ['9.91', '9.9']}\n"
        },
    )
    pytester.makepyfile(
        test_both="""
        import json

        def test_judged(llm):
            got = {}
            for numbers in (["13.8", "13.11"], ["9.91", "9.9"]):
                j = llm.compare(numbers)
                got[numbers[0]] = [j.choice, j.verdict, j.reason, j.evidence, j.finish_reason]
            with open("fixture.json", "w") as file:
                json.dump(got, file)
        """
    )

    def answer(request: dict[str, Any]) -> str:
        long = "Let me think about both of these numbers very carefully, digit by digit, before I answer. "
        return long * 3 if "9.91" in request["messages"][-1]["content"] else correct_answer(request)

    with FakeServer(answer=answer) as fake:
        run(
            pytester,
            "--llm-endpoint",
            fake.url,
            "--llm-max-tokens",
            "8",
            "--llm-results",
            "r.json",
            "-p",
            "no:randomly",
        )
    import json

    fixture = json.loads((pytester.path / "fixture.json").read_text(encoding="utf-8"))
    cases = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["cases"]
    samples = {c["numbers"][0]: c["samples"][0] for c in cases}
    for first, (choice, verdict, reason, evidence, finish) in fixture.items():
        sample = samples[first]
        assert [sample["choice"], sample["verdict"], sample["reason"], sample["evidence"]] == [
            choice,
            verdict,
            reason,
            evidence,
        ]
        assert sample["finish_reason"] == finish
    assert fixture["13.8"][:3] == [None, "unparsed", "mine"]  # not an option: no clear choice, the plugin's reason
    assert fixture["9.91"][:3] == [None, "unparsed", "truncated"]
    assert fixture["9.91"][4] == "length"


def test_task_judge_is_the_one_rule() -> None:
    from pytest_llmcmp.answers import Extraction
    from pytest_llmcmp.tasks import task_for

    compare = task_for("larger")
    numbers = ("13.8", "13.11")
    right = compare.judge("13.8", Extraction("13.8", reason="boxed", evidence="13.8"), numbers, "larger", "13.8")
    assert (right.choice, right.verdict, right.reason, right.evidence) == ("13.8", "correct", "boxed", "13.8")
    stray = compare.judge("x", Extraction("42", reason="mine", evidence="42"), numbers, "larger", "13.8", "length")
    assert (stray.choice, stray.verdict, stray.reason, stray.evidence) == (None, "unparsed", "truncated", "")
    order = task_for("order")
    ordered = order.judge("a", Extraction("13.11 < 13.8"), numbers, "order", "13.11 < 13.8", usage={"x": 1}, latency=2)
    assert (ordered.verdict, ordered.usage, ordered.latency) == ("correct", {"x": 1}, 2)
    assert order.judge("a", Extraction("13.8"), numbers, "order", "13.11 < 13.8").choice is None  # not an ordering
