"""Baseline comparison, gates, and the text reports (terminal lines, Markdown, static HTML parts)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pytest

from pytest_llmcmp.baseline import Change, accuracy_gates, compare, compare_prompts, regression_gate
from pytest_llmcmp.reports.html import accuracy_chart, embed_json, html_report, lang_attribute
from pytest_llmcmp.reports.markdown import MARKDOWN_LIMIT, escape_markdown, markdown_report
from pytest_llmcmp.reports.terminal import terminal_summary
from pytest_llmcmp.reports.text import display_width, pad, truncate
from pytest_llmcmp.results import CaseResult, PassRule, PromptInfo, RunResults, SampleResult, Verdict


def make_case(
    case_id: str,
    prompt: str,
    verdicts: Sequence[Verdict] = ("correct",),
    tags: Sequence[str] = (),
    numbers: Sequence[str] = ("13.8", "13.11"),
    answer: str | None = None,
    question: str | None = None,
) -> CaseResult:
    expected, other = numbers[0], numbers[1]
    samples = []
    for verdict in verdicts:
        choice = {"correct": expected, "wrong": other, "unparsed": None, "error": None}[verdict]
        samples.append(
            SampleResult(
                answer=answer if answer is not None else f"经过比较，{choice or '无法判断'}更大。",
                choice=choice,
                verdict=verdict,
            )
        )
    return CaseResult(
        id=case_id,
        nodeid=f"cases/c.yaml::{case_id}[{prompt}]",
        file="cases/c.yaml",
        prompt=prompt,
        numbers=list(numbers),
        ask="larger",
        question=question if question is not None else f"{numbers[0]}和{numbers[1]}哪个大？",
        tags=list(tags),
        expected=expected,
        samples=samples,
        outcome=PassRule.parse("all").decide([sample.verdict for sample in samples]),
    )


def make_run(cases: list[CaseResult], prompts: Sequence[str] = ("base", "langgpt")) -> RunResults:
    return RunResults(
        model="internlm2-chat-1_8b",
        endpoint="http://0.0.0.0:23333/v1",
        prompts={name: PromptInfo(path=f"prompts/{name}.md", sha256="0" * 64) for name in prompts},
        settings={"samples": len(cases[0].samples) if cases else 1, "pass_rule": "all", "temperature": 0},
        cases=cases,
    )


@pytest.fixture
def baseline_run() -> RunResults:
    return make_run(
        [
            make_case("falls", "langgpt", ["correct"], tags=["trap"]),
            make_case("rises", "langgpt", ["wrong"], tags=["trap"]),
            make_case("steady", "langgpt", ["correct"], tags=["integer"]),
            make_case("still-bad", "langgpt", ["unparsed"]),
            make_case("gone", "langgpt", ["correct"]),
            make_case("falls", "base", ["wrong"], tags=["trap"]),
        ]
    )


@pytest.fixture
def current_run() -> RunResults:
    return make_run(
        [
            make_case("falls", "langgpt", ["wrong"], tags=["trap"]),
            make_case("rises", "langgpt", ["correct"], tags=["trap"]),
            make_case("steady", "langgpt", ["correct"], tags=["integer"]),
            make_case("still-bad", "langgpt", ["wrong"]),
            make_case("fresh", "langgpt", ["correct"]),
            # Same id under another prompt is another case: it improved, it did not regress.
            make_case("falls", "base", ["correct"], tags=["trap"]),
        ]
    )


def ids(changes: Sequence[Change]) -> list[tuple[str, str]]:
    return [(change.id, change.prompt) for change in changes]


# ---- comparison --------------------------------------------------------------------------------


def test_compare_classifies_every_case(baseline_run: RunResults, current_run: RunResults) -> None:
    comparison = compare(baseline_run, current_run, label="baseline main.json")
    assert ids(comparison.regressions) == [("falls", "langgpt")]
    assert ids(comparison.improvements) == [("falls", "base"), ("rises", "langgpt")]
    assert ids(comparison.new) == [("fresh", "langgpt")]
    assert ids(comparison.removed) == [("gone", "langgpt")]
    assert comparison.unchanged == 2
    assert comparison.label == "baseline main.json"
    regression = comparison.regressions[0]
    assert regression.before is not None
    assert regression.before.passed
    assert regression.after is not None
    assert not regression.after.passed
    assert comparison.new[0].before is None
    assert comparison.removed[0].after is None
    # The change is paired, on the 4 langgpt cases in both: 2/4 before (falls, steady), 2/4 now (rises, steady);
    # "gone" (passed) and "fresh" (passes) are removed and new, not part of it. base: 0/1 -> 1/1.
    assert comparison.accuracy == {"base": (0.0, 1.0), "langgpt": (0.5, 0.5)}


def test_compare_with_itself_changes_nothing(baseline_run: RunResults) -> None:
    comparison = compare(baseline_run, baseline_run)
    assert not comparison.has_changes
    assert comparison.unchanged == len(baseline_run.cases)


def test_compare_keeps_prompts_of_either_side(baseline_run: RunResults) -> None:
    current = make_run([make_case("falls", "other", ["correct"])], prompts=("other",))
    comparison = compare(baseline_run, current)
    assert comparison.accuracy["other"] == (None, 1.0)
    assert comparison.accuracy["langgpt"] == (0.6, None)
    assert len(comparison.removed) == len(baseline_run.cases)


def test_compare_prompts_of_one_run() -> None:
    run = make_run(
        [
            make_case("a", "base", ["correct"]),
            make_case("a", "langgpt", ["wrong"]),
            make_case("b", "base", ["wrong"]),
            make_case("b", "langgpt", ["correct"]),
            make_case("c", "base", ["wrong"]),
            make_case("c", "langgpt", ["correct"]),
            make_case("d", "langgpt", ["correct"]),
            make_case("e", "base", ["correct"]),
        ]
    )
    comparison = compare_prompts(run, "base", "langgpt")
    assert comparison.label == "prompt base"
    assert ids(comparison.regressions) == [("a", "langgpt")]
    assert ids(comparison.improvements) == [("b", "langgpt"), ("c", "langgpt")]
    assert ids(comparison.new) == [("d", "langgpt")]
    assert ids(comparison.removed) == [("e", "langgpt")]
    assert comparison.regressions[0].before is not None
    assert comparison.regressions[0].before.prompt == "base"
    assert comparison.accuracy == {"langgpt": (0.5, 0.75)}
    with pytest.raises(ValueError, match="prompt 'nope' is not in the results"):
        compare_prompts(run, "base", "nope")


def test_compare_prompts_against_several_new_prompts() -> None:
    run = make_run(
        [
            make_case("a", "base", ["correct"]),
            make_case("a", "langgpt", ["wrong"]),
            make_case("a", "steps", ["correct"]),
            make_case("b", "base", ["wrong"]),
            make_case("b", "langgpt", ["wrong"]),
            make_case("b", "steps", ["correct"]),
        ],
        ("base", "langgpt", "steps"),
    )
    comparison = compare_prompts(run, "base", ["langgpt", "steps"])
    assert comparison.label == "prompt base"
    assert ids(comparison.regressions) == [("a", "langgpt")]
    assert ids(comparison.improvements) == [("b", "steps")]
    assert comparison.unchanged == 2
    assert comparison.accuracy == {"langgpt": (0.5, 0.0), "steps": (0.5, 1.0)}


# ---- gates -------------------------------------------------------------------------------------


def run_with_accuracy(prompt: str, passed: int, total: int, tag: str = "t") -> list[CaseResult]:
    return [
        make_case(f"{prompt}-{index}", prompt, ["correct" if index < passed else "wrong"], tags=[tag])
        for index in range(total)
    ]


def test_accuracy_gate_message_names_prompt_gap_and_option() -> None:
    run = make_run(run_with_accuracy("langgpt", 8, 13) + run_with_accuracy("base", 9, 10), ("base", "langgpt"))
    gates = {gate.name: gate for gate in accuracy_gates(run, 0.7)}
    assert not gates["accuracy[langgpt]"].ok
    assert gates["accuracy[langgpt]"].message == (
        "accuracy of prompt 'langgpt' is 61.5% (8/13), 8.5 points under --llm-min-accuracy 70%"
    )
    assert gates["accuracy[base]"].ok
    assert gates["accuracy[base]"].message == "accuracy of prompt 'base' is 90.0% (9/10), meets --llm-min-accuracy 70%"


def test_accuracy_exactly_at_the_threshold_passes() -> None:
    run = make_run(run_with_accuracy("base", 7, 10), ("base",))
    [gate] = accuracy_gates(run, 0.7)
    assert gate.ok, gate.message
    [gate] = accuracy_gates(run, 0.7000001)
    assert not gate.ok


def test_per_prompt_minimum_overrides_the_global_one() -> None:
    run = make_run(run_with_accuracy("base", 5, 10) + run_with_accuracy("langgpt", 8, 10))
    gates = {gate.name: gate for gate in accuracy_gates(run, 0.6, per_prompt={"base": 0.4, "langgpt": 0.9})}
    assert gates["accuracy[base]"].ok
    assert not gates["accuracy[langgpt]"].ok
    assert "10.0 points under the minimum for prompt 'langgpt' 90%" in gates["accuracy[langgpt]"].message


def test_per_tag_minimum_is_checked_for_each_prompt() -> None:
    cases = run_with_accuracy("base", 1, 4, tag="trap") + run_with_accuracy("langgpt", 3, 4, tag="trap")
    run = make_run(cases)
    gates = {gate.name: gate for gate in accuracy_gates(run, 0.0, per_tag={"trap": 0.5, "typo": 0.9})}
    assert not gates["accuracy[base, tag=trap]"].ok
    assert gates["accuracy[base, tag=trap]"].message == (
        "accuracy of prompt 'base' on tag 'trap' is 25.0% (1/4), 25.0 points under the minimum for tag 'trap' 50%"
    )
    assert gates["accuracy[langgpt, tag=trap]"].ok
    assert gates["accuracy[tag=typo]"].ok
    assert "not checked" in gates["accuracy[tag=typo]"].message


def test_a_prompt_without_cases_is_not_gated() -> None:
    run = make_run(run_with_accuracy("base", 1, 1), ("base", "langgpt"))
    assert [gate.name for gate in accuracy_gates(run, 0.9)] == ["accuracy[base]"]


def test_regression_gate(baseline_run: RunResults, current_run: RunResults) -> None:
    assert regression_gate(compare(baseline_run, baseline_run, "baseline b.json")).ok
    gate = regression_gate(compare(baseline_run, current_run, "baseline b.json"))
    assert not gate.ok
    assert gate.message == "1 regression vs baseline b.json (passed before, fail now): falls [langgpt]"


def test_regression_gate_lists_a_few_and_counts_the_rest() -> None:
    before = make_run([make_case(f"c{index:02}", "base") for index in range(12)], ("base",))
    after = make_run([make_case(f"c{index:02}", "base", ["wrong"]) for index in range(12)], ("base",))
    gate = regression_gate(compare(before, after))
    assert gate.message.startswith("12 regressions vs baseline")
    assert gate.message.endswith("c00 [base], c01 [base], c02 [base], c03 [base], c04 [base] and 7 more")


# ---- terminal ----------------------------------------------------------------------------------


def test_display_width_pad_and_truncate_count_wide_characters() -> None:
    assert display_width("trap") == 4
    assert display_width("小数") == 4
    assert display_width("ｆｕｌｌ") == 8
    assert display_width("e\u0301") == 1  # a combining accent takes no column
    assert pad("小数", 6) == "小数  "
    assert pad("7", 3, "right") == "  7"
    assert truncate("科学计数法比较", 9) == "科学计数…"
    assert display_width(truncate("科学计数法比较", 9)) <= 9
    assert truncate("short", 9) == "short"


def test_terminal_summary_lines(baseline_run: RunResults, current_run: RunResults) -> None:
    comparison = compare(baseline_run, current_run, label="baseline main.json")
    gates = [*accuracy_gates(current_run, 0.8), regression_gate(comparison)]
    lines = terminal_summary(current_run, comparison, gates)
    assert lines[0] == (
        "llmcmp: model internlm2-chat-1_8b at http://0.0.0.0:23333/v1; 1 sample per case, pass rule all, temperature 0"
    )
    assert lines[1].split() == [
        "prompt",
        "passed",
        "accuracy",
        "95%",
        "CI",
        "correct",
        "wrong",
        "unparsed",
        "error",
        "flaky",
    ]
    # Wilson 95% intervals: 1/1 is 20.7-100% and 3/5 is 23.1-88.2% (Newcombe 1998, method 3).
    assert lines[2].split() == ["base", "1/1", "100.0%", "20.7–100.0%", "1", "0", "0", "0", "0"]
    assert lines[3].split() == ["langgpt", "3/5", "60.0%", "23.1–88.2%", "3", "2", "0", "0", "0"]
    assert "(95% CI: Wilson score interval over cases)" in lines
    assert "baseline main.json: 1 regression, 2 improvements, 1 new, 1 removed" in lines
    assert "  langgpt: 50.0% -> 50.0% (+0.0 points)" in lines  # paired: the 4 cases in both runs
    assert "  regression falls [langgpt]: expected 13.8, chose 13.11 (was 13.8)" in lines
    failed = [line for line in lines if line.startswith("gate failed: ")]
    assert failed == [
        "gate failed: accuracy of prompt 'langgpt' is 60.0% (3/5), 20.0 points under --llm-min-accuracy 80%",
        "gate failed: 1 regression vs baseline main.json (passed before, fail now): falls [langgpt]",
    ]


def test_terminal_tag_table_is_aligned_with_cjk_tags() -> None:
    tags = ["trap", "小数比较", "科学计数法", "percent-with-a-long-tag-name-that-goes-on-and-on", "ｗｉｄｅ"]
    cases = [
        make_case(f"{prompt}-{index}", prompt, ["correct" if index % 3 else "wrong"], tags=[tag])
        for index, tag in enumerate(tags * 3)
        for prompt in ("base", "langgpt", "提示词")
    ]
    lines = terminal_summary(make_run(cases, ("base", "langgpt", "提示词")), None, [])
    start = next(index for index, line in enumerate(lines) if line.startswith("accuracy by tag (%)"))
    table = lines[start : start + 1 + len(tags)]
    assert table[0].split()[-3:] == ["base", "langgpt", "提示词"]
    # Right-aligned columns: every row ends at the same terminal column.
    assert len({display_width(line) for line in table}) == 1
    row = next(line for line in table if line.startswith("小数比较"))
    # Tag 小数比较 is cases 1, 6, 11 of each prompt: index % 3 == 0 only for 6, so 2 of 3 pass.
    assert row.split()[1:] == ["66.7", "(20.8–93.9)"] * 3
    assert any(line.startswith("percent-with-a-long-tag-nam… ") for line in table)


def test_terminal_summary_of_an_empty_run() -> None:
    assert terminal_summary(make_run([], ()), None, [])[1] == "no llmcmp case ran"


# ---- Markdown ----------------------------------------------------------------------------------


def table_rows(markdown: str, first_cell: str) -> list[list[str]]:
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| "):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            if cells[0] == first_cell:
                rows.append(cells)
    return rows


def test_markdown_headline_and_prompt_table(baseline_run: RunResults, current_run: RunResults) -> None:
    comparison = compare(baseline_run, current_run, label="baseline main.json")
    gates = [*accuracy_gates(current_run, 0.5), regression_gate(comparison)]
    markdown = markdown_report(current_run, comparison, gates)
    assert markdown.startswith("## pytest-llmcmp results\n")
    assert "❌ 4/6 cases passed (66.7%) · 1 regression vs baseline main.json · model internlm2-chat-1\\_8b" in markdown
    assert table_rows(markdown, "prompt") == [
        [
            "prompt",
            "accuracy",
            "95% CI",
            "passed",
            "vs baseline main.json",
            "correct",
            "wrong",
            "unparsed",
            "error",
            "flaky",
        ]
    ]
    assert table_rows(markdown, "langgpt") == [
        ["langgpt", "**60.0%**", "23.1–88.2%", "3/5", "50.0% → 50.0% (+0.0)", "3", "2", "0", "0", "0"]
    ]
    assert table_rows(markdown, "base") == [
        ["base", "**100.0%**", "20.7–100.0%", "1/1", "0.0% → 100.0% (+100.0)", "1", "0", "0", "0", "0"]
    ]
    assert "- ✅ accuracy of prompt 'langgpt' is 60.0% (3/5), meets --llm-min-accuracy 50%" in markdown
    assert "- ❌ 1 regression vs baseline main.json (passed before, fail now): falls \\[langgpt\\]" in markdown


def test_markdown_change_tables(baseline_run: RunResults, current_run: RunResults) -> None:
    markdown = markdown_report(current_run, compare(baseline_run, current_run), [])
    assert "### Regressions (1)" in markdown
    assert table_rows(markdown, "falls")[0] == [
        "falls",
        "langgpt",
        "13.8和13.11哪个大？",
        "13.8",
        "✅ 13.8",
        "❌ 13.11",
        "经过比较，13.11更大。",
    ]
    assert "### Improvements (2)" in markdown
    assert [
        "rises",
        "langgpt",
        "13.8和13.11哪个大？",
        "13.8",
        "❌ 13.11",
        "✅ 13.8",
        "经过比较，13.8更大。",
    ] in (table_rows(markdown, "rises"))
    assert "### New cases (1)\n\n- fresh [langgpt]: 13.8和13.11哪个大？ (pass)" in markdown
    assert "### Removed cases (1)\n\n- gone [langgpt]: 13.8和13.11哪个大？ (pass)" in markdown
    tag_header = table_rows(markdown, "tag")
    assert tag_header == [["tag", "base", "langgpt"]]
    assert table_rows(markdown, "trap") == [["trap", "100.0% (1/1; 20.7–100.0%)", "50.0% (1/2; 9.5–90.5%)"]]
    assert table_rows(markdown, "integer") == [["integer", "–", "100.0% (1/1; 20.7–100.0%)"]]


def test_markdown_escapes_cells() -> None:
    hostile = "步骤 | 1\n**13.11** > 13.8 <script>alert(1)</script> $x$ `code`"
    before = make_run([make_case("x|y", "base", ["correct"])], ("base",))
    after = make_run([make_case("x|y", "base", ["wrong"], answer=hostile)], ("base",))
    markdown = markdown_report(after, compare(before, after), [])
    row = next(line for line in markdown.splitlines() if line.startswith("| x"))
    assert row.startswith("| x\\|y | base |")
    assert "步骤 \\| 1<br>\\*\\*13.11\\*\\* &gt; 13.8 &lt;script&gt;alert(1)&lt;/script&gt; \\$x\\$ \\`code\\`" in row
    assert "<script>" not in markdown
    # Exactly the 7 column separators of the table: the escaped pipes do not split cells.
    assert len(re.findall(r"(?<!\\)\|", row)) == 8


def test_escape_markdown_cuts_long_text() -> None:
    assert escape_markdown("a" * 300, 50) == "a" * 49 + "…"
    assert escape_markdown("a\r\nb\rc") == "a<br>b<br>c"


def test_markdown_stays_under_the_github_limit() -> None:
    count = 3000
    long_answer = "让我们一步一步地思考。" * 60
    before = make_run([make_case(f"case-{index:04}", "base", ["correct"]) for index in range(count)], ("base",))
    after = make_run(
        [make_case(f"case-{index:04}", "base", ["wrong"], answer=long_answer) for index in range(count)],
        ("base",),
    )
    markdown = markdown_report(after, compare(before, after), [])
    assert len(markdown) <= MARKDOWN_LIMIT
    shown = len([line for line in markdown.splitlines() if line.startswith("| case-")])
    assert 10 <= shown < count
    assert f"… and {count - shown} more" in markdown
    assert "<details><summary>Show 3000</summary>" in markdown
    assert "### Regressions (3000)" in markdown


def test_markdown_lists_flaky_cases() -> None:
    run = make_run(
        [
            make_case("wobbly", "base", ["correct", "wrong", "correct"]),
            make_case("solid", "base", ["correct", "correct", "correct"]),
        ],
        ("base",),
    )
    markdown = markdown_report(run, None, [])
    assert "### Flaky cases (1)" in markdown
    assert table_rows(markdown, "wobbly") == [["wobbly", "base", "13.8和13.11哪个大？", "13.8", "❌ 13.8, 13.11, 13.8"]]
    assert not table_rows(markdown, "solid")
    assert "vs baseline" not in markdown


# ---- static HTML parts -------------------------------------------------------------------------


def test_embedded_json_cannot_close_the_script_element() -> None:
    value = {"answer": "</script><script>alert(1)</script><!-- & \u2028"}
    text = embed_json(value)
    assert "</" not in text
    assert "<!--" not in text
    assert "\u2028" not in text
    assert json.loads(text) == value


def test_html_report_is_self_contained(current_run: RunResults, baseline_run: RunResults) -> None:
    current_run.cases[0].samples[0].answer = "</script><img src=x onerror=alert(1)>"
    page = html_report(current_run, compare(baseline_run, current_run))
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("</script>") == 2  # the data element and the code element, nothing from the data
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "Content-Security-Policy" in page
    data = json.loads(page.split('<script type="application/json" id="llmcmp-data">')[1].split("</script>")[0])
    assert len(data["cases"]) == len(current_run.cases)
    changes = {(case["id"], case["prompt"]): case["change"] for case in data["cases"]}
    assert changes[("falls", "langgpt")] == "regression"
    assert changes[("fresh", "langgpt")] == "new"
    assert changes[("steady", "langgpt")] is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("13.8和13.11哪个大？", "zh"),
        ("步骤提示", "zh"),
        ("𠀀", "zh"),  # a CJK extension B ideograph, outside the BMP
        ("13.8と13.11はどちらが大きい", "ja"),  # kana decide over the shared Han
        ("数学の専門家", "ja"),
        ("어느 것이 더 큽니까", "ko"),
        ("Which is larger, 13.8 or 13.11?", ""),
        ("13.8 > 13.11 — «faux»", ""),
        ("", ""),
    ],
)
def test_lang_attribute_names_the_script_of_cjk_text(text: str, lang: str) -> None:
    assert lang_attribute(text) == (f' lang="{lang}"' if lang else "")


def test_html_report_marks_user_words_with_their_language_and_the_page_as_english() -> None:
    run = make_run([make_case("trap", "步骤提示", ["correct"], tags=["小数"])], ("步骤提示",))
    page = html_report(run)
    assert '<html lang="en">' in page
    assert '<span lang="zh">步骤提示</span>' in page  # the summary table
    assert 'class="legend-label" lang="zh">步骤提示</text>' in page  # the chart
    assert 'text-anchor="end" lang="zh"><title>小数</title>' in page


def test_chart_has_one_bar_per_prompt_and_group(current_run: RunResults) -> None:
    svg = accuracy_chart(current_run)
    bars = re.findall(r'<rect class="bar"[^>]*data-tag="([^"]*)" data-prompt="([^"]*)" data-accuracy="([^"]*)"', svg)
    summary = current_run.summary()
    expected = [("all cases", name, counts["accuracy"]) for name, counts in summary["prompts"].items()]
    expected += [
        (tag, name, counts["accuracy"]) for tag, row in summary["tags"].items() for name, counts in row.items()
    ]
    assert [(tag, prompt) for tag, prompt, _ in bars] == [(tag, prompt) for tag, prompt, _ in expected]
    assert [float(accuracy) for _, _, accuracy in bars] == pytest.approx([accuracy for _, _, accuracy in expected])


def test_reports_of_an_empty_run() -> None:
    empty = make_run([], ())
    assert "0/0 cases passed (–)" in markdown_report(empty, None, [])
    page = html_report(empty)
    data = json.loads(page.split('<script type="application/json" id="llmcmp-data">')[1].split("</script>")[0])
    assert data["cases"] == []
    assert data["prompts"] == []
    assert 'class="bar"' not in page
