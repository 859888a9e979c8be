"""The HTML report in a real headless browser (Debian's chromium driven by playwright).

The report must open from a file with no network at all, and its filters, side-by-side view and
chart must work on the data embedded in it. Skipped only when chromium or playwright is absent.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmcmp.baseline import Comparison, compare
from pytest_llmcmp.reports.html import html_report
from pytest_llmcmp.results import VERDICTS, CaseResult, PassRule, PromptInfo, RunResults, SampleResult

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

# Launching chromium costs a few seconds, paid once per module.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PROMPTS = ("none", "langgpt", "步骤提示")
TAGS = ("trap", "integer", "小数", "percent")
EVIDENCE = "所以<b>2.8</b>更大"
EVIDENCE_ANSWER = f"先比较整数部分，都是2。{EVIDENCE}（2.11的十分位只有1）。"
HOSTILE = "</script><script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"


def answer_text(case_id: str, prompt: str, index: int) -> str:
    return f"[{prompt}] {case_id} sample {index}: 经过逐位比较，得出结论。"


def build_run(seed: int) -> RunResults:
    """Three prompts, three samples per case, verdicts drawn at random (seeded), majority rule."""
    rng = random.Random(seed)
    rule = PassRule.parse("majority")
    cases = []
    for number in range(18):
        case_id = f"case-{number:02}"
        big, small = f"{number + 1}.8", f"{number + 1}.11"
        tags = rng.sample(TAGS, rng.randint(0, 2))
        for prompt in PROMPTS:
            if prompt == "步骤提示" and number % 6 == 5:
                continue  # not every case is asked under every prompt
            samples = []
            for index in range(3):
                verdict = rng.choice(VERDICTS)
                choice = {"correct": big, "wrong": small, "unparsed": None, "error": None}[verdict]
                answer = None if verdict == "error" else answer_text(case_id, prompt, index)
                samples.append(
                    SampleResult(answer=answer, choice=choice, verdict=verdict, error="timeout" if not answer else None)
                )
            cases.append(
                CaseResult(
                    id=case_id,
                    nodeid=f"cases/gen.yaml::{case_id}[{prompt}]",
                    file="cases/gen.yaml",
                    prompt=prompt,
                    numbers=[big, small],
                    ask="larger",
                    question=f"{big}和{small}哪个大？",
                    tags=list(tags),
                    expected=big,
                    samples=samples,
                    outcome=rule.decide([sample.verdict for sample in samples]),
                )
            )
    hostile = cases[0]
    hostile.samples[0] = SampleResult(answer=HOSTILE, choice=None, verdict="unparsed")
    hostile.outcome = rule.decide([sample.verdict for sample in hostile.samples])
    decided = cases[1]
    decided.samples[0] = SampleResult(
        answer=EVIDENCE_ANSWER, choice=decided.expected, verdict="correct", reason="relation", evidence=EVIDENCE
    )
    cut = cases[2]
    cut.samples[0] = SampleResult(
        answer="让我们逐位比较：首先看整数部分，",
        choice=None,
        verdict="unparsed",
        finish_reason="length",
        reason="truncated",
    )
    return RunResults(
        model="internlm2-chat-1_8b",
        endpoint="http://0.0.0.0:23333/v1",
        prompts={name: PromptInfo(path=f"prompts/{name}.md", sha256="f" * 64) for name in PROMPTS},
        settings={"samples": 3, "pass_rule": "majority", "temperature": 0.7},
        cases=cases,
    )


@dataclass
class Report:
    results: RunResults
    comparison: Comparison
    url: str


@dataclass
class PageLog:
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    results = build_run(seed=7)
    comparison = compare(build_run(seed=8), results, label="baseline main.json")
    path: Path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(html_report(results, comparison), encoding="utf-8")
    return Report(results=results, comparison=comparison, url=path.as_uri())


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def module_page(browser: Browser) -> Iterator[tuple[Page, PageLog]]:
    context = browser.new_context()
    page = context.new_page()
    log = PageLog()
    page.on("console", lambda message: log.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    page.on("request", lambda request: log.requests.append(request.url))

    def dismiss(dialog: Dialog) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    yield page, log
    context.close()


@pytest.fixture
def opened(module_page: tuple[Page, PageLog], report: Report) -> tuple[Page, PageLog]:
    """The report freshly loaded (no filter set), with an empty log of what the page did."""
    page, log = module_page
    log.errors.clear()
    log.requests.clear()
    log.dialogs.clear()
    # One page for the module, reloaded per test: a new browser context costs about a second.
    page.goto(report.url)
    page.wait_for_load_state("load")
    return page, log


def visible_rows(page: Page) -> int:
    count: int = page.locator("#case-table tbody tr:visible").count()
    return count


def test_page_loads_offline_without_errors(opened: tuple[Page, PageLog], report: Report) -> None:
    page, log = opened
    assert visible_rows(page) == len(report.results.cases)
    assert (
        page.locator("#case-count").inner_text() == f"{len(report.results.cases)} of {len(report.results.cases)} shown"
    )
    assert log.errors == []
    assert log.dialogs == []
    # The only thing ever fetched is the report itself: no CDN, no font, no favicon, no image.
    assert log.requests == [report.url]
    assert page.title().startswith("pytest-llmcmp")


def test_prompt_filter(opened: tuple[Page, PageLog], report: Report) -> None:
    page, log = opened
    for prompt in PROMPTS:
        page.select_option("#filter-prompt", prompt)
        expected = [case for case in report.results.cases if case.prompt == prompt]
        assert visible_rows(page) == len(expected)
        shown_prompts = page.locator("#case-table tbody tr:visible td:nth-child(2)").all_inner_texts()
        assert set(shown_prompts) == {prompt}
    page.select_option("#filter-prompt", "")
    assert visible_rows(page) == len(report.results.cases)
    assert log.errors == []


def test_verdict_filter_alone_and_with_a_prompt(opened: tuple[Page, PageLog], report: Report) -> None:
    """A case shows under a verdict when any of its samples got that verdict."""
    page, log = opened
    cases = report.results.cases
    for verdict in VERDICTS:
        page.select_option("#filter-prompt", "")
        page.select_option("#filter-verdict", verdict)
        with_verdict = [case for case in cases if any(sample.verdict == verdict for sample in case.samples)]
        assert 0 < visible_rows(page) == len(with_verdict) < len(cases)
        page.select_option("#filter-prompt", "langgpt")
        assert visible_rows(page) == sum(case.prompt == "langgpt" for case in with_verdict)
    assert log.errors == []


def test_tag_outcome_change_and_text_filters(opened: tuple[Page, PageLog], report: Report) -> None:
    page, log = opened
    cases = report.results.cases
    page.select_option("#filter-tag", "小数")
    assert visible_rows(page) == sum("小数" in case.tags for case in cases)
    page.select_option("#filter-outcome", "fail")
    assert visible_rows(page) == sum("小数" in case.tags and not case.passed for case in cases)
    page.select_option("#filter-tag", "")
    page.select_option("#filter-outcome", "flaky")
    assert visible_rows(page) == sum(case.flaky for case in cases)
    page.select_option("#filter-outcome", "")
    page.select_option("#filter-change", "regression")
    assert visible_rows(page) == len(report.comparison.regressions) > 0
    page.select_option("#filter-change", "")
    page.fill("#filter-text", "CASE-03 步骤提示")
    assert visible_rows(page) == sum(case.id == "case-03" and case.prompt == "步骤提示" for case in cases) == 1
    page.fill("#filter-text", "")
    assert visible_rows(page) == len(cases)
    assert log.errors == []


def test_hostile_answer_is_shown_as_text(opened: tuple[Page, PageLog], report: Report) -> None:
    page, log = opened
    case = report.results.cases[0]
    page.fill("#filter-text", case.id)
    page.select_option("#filter-prompt", case.prompt)
    row = page.locator("#case-table tbody tr:visible")
    assert row.count() == 1
    row.locator("summary").click()
    assert HOSTILE in row.locator("pre.answer").first.inner_text()
    assert page.title().startswith("pytest-llmcmp")
    assert log.dialogs == []
    assert log.requests == [report.url]


def test_the_deciding_passage_is_highlighted_and_cut_off_answers_say_so(
    opened: tuple[Page, PageLog], report: Report
) -> None:
    page, log = opened
    decided, cut = report.results.cases[1], report.results.cases[2]
    page.fill("#filter-text", decided.id)
    page.select_option("#filter-prompt", decided.prompt)
    row = page.locator("#case-table tbody tr:visible")
    assert row.count() == 1
    row.locator("summary").click()
    answer = row.locator("pre.answer").first
    assert answer.inner_text() == EVIDENCE_ANSWER  # the whole answer, as text (the <b> is not markup)
    assert answer.locator("mark.evidence").inner_text() == EVIDENCE
    page.fill("#filter-text", cut.id)
    page.select_option("#filter-prompt", cut.prompt)
    row = page.locator("#case-table tbody tr:visible")
    row.locator("summary").click()
    assert row.locator(".sample").first.locator(".badge", has_text="cut off by max_tokens").count() == 1
    assert row.locator("mark").count() == 0
    assert "1 answer was cut off by max_tokens" in page.locator("#truncated-note").inner_text()
    assert log.errors == []


def test_side_by_side_shows_both_prompts(opened: tuple[Page, PageLog], report: Report) -> None:
    page, log = opened
    left, right = "none", "步骤提示"
    page.select_option("#pair-a", left)
    page.select_option("#pair-b", right)
    assert page.locator("#pair-head-a").inner_text() == left
    assert page.locator("#pair-head-b").inner_text() == right
    by_key = {(case.id, case.prompt): case for case in report.results.cases}
    ids = sorted({case.id for case in report.results.cases if case.prompt in (left, right)})
    assert page.locator("#pair-table tbody tr").count() == len(ids)
    for case_id in ("case-02", "case-04"):
        cells = page.locator(f'#pair-table tr[data-case-id="{case_id}"] td')
        for column, prompt in ((1, left), (2, right)):
            shown = cells.nth(column).inner_text()
            for index, sample in enumerate(by_key[(case_id, prompt)].samples):
                if sample.answer is not None:
                    assert answer_text(case_id, prompt, index) in shown
            other = right if prompt == left else left
            assert answer_text(case_id, other, 0) not in shown
    # A case never asked under the right-hand prompt says so instead of showing nothing.
    assert "not asked" in page.locator('#pair-table tr[data-case-id="case-05"] td').nth(2).inner_text()

    page.check("#pair-differ")
    differ = [
        case_id
        for case_id in ids
        if (left_case := by_key.get((case_id, left))) is None
        or (right_case := by_key.get((case_id, right))) is None
        or left_case.outcome != right_case.outcome
    ]
    shown_ids = page.locator("#pair-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.caseId)")
    assert shown_ids == differ
    assert log.errors == []


def test_chart_is_rendered(opened: tuple[Page, PageLog], report: Report) -> None:
    page, log = opened
    summary = report.results.summary()
    bars = page.locator("svg#chart rect.bar")
    expected_bars = len(summary["prompts"]) + sum(len(row) for row in summary["tags"].values())
    assert bars.count() == expected_bars
    measured: list[dict[str, Any]] = bars.evaluate_all(
        """rects => rects.map(r => ({tag: r.dataset.tag, prompt: r.dataset.prompt,
             width: r.getBoundingClientRect().width, height: r.getBoundingClientRect().height}))"""
    )
    overall = {bar["prompt"]: bar for bar in measured if bar["tag"] == "all cases"}
    accuracies = [counts["accuracy"] for counts in summary["prompts"].values()]
    accuracies += [counts["accuracy"] for row in summary["tags"].values() for counts in row.values()]
    # Pixels of a 100% bar, from the widest bar: every bar must then be proportional to its accuracy.
    full = max(bar["width"] for bar in measured) / max(accuracies)
    for name, counts in summary["prompts"].items():
        assert overall[name]["height"] > 0
        assert overall[name]["width"] == pytest.approx(counts["accuracy"] * full, abs=1.0)
    for bar in measured:
        if bar["tag"] != "all cases":
            accuracy = summary["tags"][bar["tag"]][bar["prompt"]]["accuracy"]
            assert bar["width"] == pytest.approx(accuracy * full, abs=1.0)
    assert page.locator("svg#chart text.tag-label").count() == 1 + len(summary["tags"])
    assert log.errors == []


def test_a_one_prompt_report_has_no_side_by_side_and_states_the_decision(
    module_page: tuple[Page, PageLog], report: Report, tmp_path: Path
) -> None:
    from pytest_llmcmp.gates import GatePolicy, RunStatus, decide

    page, log = module_page
    log.errors.clear()
    one = [case for case in report.results.cases if case.prompt == "none"]
    results = RunResults(report.results.model, None, {"none": PromptInfo(None, None)}, report.results.settings, one)
    comparison = compare(results, results, label="baseline main.json")
    status = RunStatus(ok=True, decision=decide(comparison, GatePolicy()), selected=len(one), ran=len(one))
    path = tmp_path / "one.html"
    path.write_text(html_report(results, comparison, status), encoding="utf-8")
    page.goto(path.as_uri())
    assert page.locator("#side-by-side").count() == 0
    assert (
        page.locator("#decision").inner_text().strip().startswith("gate passed (significant, alpha 0.05): none +0 net")
    )
    assert page.locator("#decision").get_by_role("img", name="passed").count() == 1
    assert visible_rows(page) == len(one)  # the rest of the page still works
    assert log.errors == []


def test_the_status_marks_are_drawn_without_an_emoji_font_and_named(
    module_page: tuple[Page, PageLog], report: Report, tmp_path: Path
) -> None:
    """The decision's mark is an inline SVG: drawn where an emoji (✅) would be a box, named for screen readers."""
    from pytest_llmcmp.baseline import Gate
    from pytest_llmcmp.gates import RunStatus, combine

    page, log = module_page
    log.errors.clear()
    low = Gate("accuracy[none]", False, "accuracy of prompt 'none' is 10.0% (1/10), 40.0 points under x 50%")
    pictures = {}
    for state, gates in (("passed", []), ("failed", [low])):
        decision = combine(None, gates) if gates else combine(None, [Gate("accuracy[none]", True, "meets x 0%")])
        status = RunStatus(ok=state == "passed", decision=decision, interrupted="Ctrl-C", ran=1, selected=2)
        path = tmp_path / f"{state}.html"
        path.write_text(html_report(report.results, None, status), encoding="utf-8")
        page.goto(path.as_uri())
        mark = page.locator("#decision svg.mark")
        assert mark.get_attribute("aria-label") == state
        assert page.get_by_role("img", name=state).count() >= 1
        box = mark.bounding_box()
        assert box is not None
        assert box["width"] >= 10
        assert box["height"] >= 10
        pictures[state] = page.screenshot(clip=box, animations="disabled")
        # The same box with the mark hidden: the mark must have drawn something in it.
        mark.evaluate("node => { node.style.visibility = 'hidden'; }")
        assert page.screenshot(clip=box, animations="disabled") != pictures[state], f"the {state} mark draws nothing"
        warning = page.locator("#interrupted svg.mark")
        assert warning.get_attribute("aria-label") == "warning"
        pictures["undecided"] = warning.screenshot(animations="disabled")
    assert [text.strip() for text in page.locator("#thresholds li").all_inner_texts()] == [low.message]
    assert len(set(pictures.values())) == 3  # a check, a cross and a warning sign, not one box three times
    assert log.errors == []


# ---- Chinese (and other CJK) text: marked with its language, drawn with real glyphs ------------------------------

ZH_ANSWER = "先比较整数部分，两个数都是十三。再比较小数部分：八大于一，所以十三点八更大。"
JA_ANSWER = "まず整数部分を比べます。したがって13.8のほうが大きいです。"
KO_ANSWER = "정수 부분을 먼저 비교합니다. 따라서 13.8이 더 큽니다."
EN_ANSWER = "The integer parts are equal, so compare the decimals: 13.8 is larger."


def cjk_run() -> RunResults:
    """One prompt named in Chinese; a Chinese, a Japanese, a Korean and an English answer."""
    cases = []
    for case_id, question, answer in (
        ("zh-trap", "13.8和13.11哪个大？", ZH_ANSWER),
        ("ja-trap", "13.8と13.11はどちらが大きいですか？", JA_ANSWER),
        ("ko-trap", "13.8과 13.11 중 어느 것이 더 큽니까?", KO_ANSWER),
        ("en-trap", "Which is larger, 13.8 or 13.11?", EN_ANSWER),
    ):
        cases.append(
            CaseResult(
                id=case_id,
                nodeid=f"cases/cjk.yaml::{case_id}[数学专家]",
                file="cases/cjk.yaml",
                prompt="数学专家",
                numbers=["13.8", "13.11"],
                ask="larger",
                question=question,
                tags=["小数陷阱"] if case_id == "zh-trap" else ["trap"],
                expected="13.8",
                samples=[SampleResult(answer=answer, choice="13.8", verdict="correct")],
                outcome="pass",
            )
        )
    return RunResults(
        model="internlm2-chat-1_8b",
        endpoint=None,
        prompts={"数学专家": PromptInfo(path="prompts/数学专家.md", sha256="e" * 64)},
        settings={"samples": 1, "pass_rule": "all", "temperature": 0},
        cases=cases,
    )


def cjk_font_installed() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    import subprocess

    listed = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


@pytest.fixture
def cjk_page(module_page: tuple[Page, PageLog], tmp_path: Path) -> Page:
    page, log = module_page
    log.errors.clear()
    path = tmp_path / "cjk.html"
    path.write_text(html_report(cjk_run()), encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    for summary in page.locator("#case-table details summary").all():
        summary.click()  # the answers are folded: open them so that they are laid out and drawn
    assert log.errors == []
    return page


def effective_lang(page: Page, selector: str) -> list[str]:
    langs: list[str] = page.locator(selector).evaluate_all(
        "nodes => nodes.map(n => n.closest('[lang]').getAttribute('lang'))"  # SVG elements have no .lang
    )
    return langs


def test_text_written_in_cjk_carries_its_language_and_the_page_stays_english(cjk_page: Page) -> None:
    page = cjk_page
    assert page.locator("html").get_attribute("lang") == "en"  # the report's own words
    for case_id, lang in (("zh-trap", "zh"), ("ja-trap", "ja"), ("ko-trap", "ko"), ("en-trap", "en")):
        assert effective_lang(page, f"{row_of(page, case_id)} pre.answer") == [lang]
        assert effective_lang(page, f"{row_of(page, case_id)} td.question") == [lang]
        # Tags and prompt names are the user's words too.
        assert effective_lang(page, f"{row_of(page, case_id)} td:nth-child(3)") == ["zh" if lang == "zh" else "en"]
    assert set(effective_lang(page, "#case-table tbody tr td:nth-child(2)")) == {"zh"}
    assert effective_lang(page, "table.summary tbody td:first-child span:not(.swatch)") == ["zh"]
    assert effective_lang(page, "svg#chart text.legend-label") == ["zh"]
    assert effective_lang(page, "svg#chart text.tag-label") == ["en", "en", "zh"]  # all cases, trap, 小数陷阱
    # Labels and verdict badges are English, whatever the answers are written in.
    assert set(effective_lang(page, "#case-table .badge, #filters label")) == {"en"}


def row_of(page: Page, case_id: str) -> str:
    """A CSS selector of the case table's row of ``case_id`` (for the DevTools protocol, which takes CSS only)."""
    ids = [text.split("\n")[0] for text in page.locator("#case-table tbody tr td:first-child").all_inner_texts()]
    return f"#case-table tbody tr:nth-child({ids.index(case_id) + 1})"


def glyph_pictures(page: Page, selector: str, characters: str) -> list[bytes]:
    """A screenshot of each character, drawn alone in the element (its real styles and lang), clipped to its box.

    Every character starts at the same place, so equal pictures mean equal drawings, to the pixel."""
    pictures = []
    for character in characters:
        box: dict[str, float] = page.locator(selector).first.evaluate(
            """(node, character) => {
                node.textContent = character;
                node.scrollIntoView();
                const range = document.createRange();
                range.selectNodeContents(node);
                const r = range.getBoundingClientRect();
                return {x: Math.floor(r.x), y: Math.floor(r.y), width: Math.ceil(r.width) + 1,
                        height: Math.ceil(r.height) + 1};
            }""",
            character,
        )
        assert box["width"] > 2, f"{character!r} takes no room in {selector}"
        pictures.append(page.screenshot(clip=box, animations="disabled"))
    return pictures


@pytest.mark.skipif(not cjk_font_installed(), reason="no CJK font on this system (apt-get install fonts-noto-cjk)")
def test_chinese_answers_are_drawn_with_real_glyphs_not_tofu(cjk_page: Page) -> None:
    """Eight different characters of the Chinese answer, each drawn in the answer's own element, give eight different
    pictures; missing glyphs ("tofu": the same empty box for every character) would give one. The control proves the
    check can fail: characters no font has (the private use area), drawn the same way, all look alike."""
    page = cjk_page
    answer = f"{row_of(page, 'zh-trap')} pre.answer"
    assert page.locator(answer).inner_text() == ZH_ANSWER
    assert page.locator(answer).get_attribute("lang") == "zh"
    distinct = "".join(dict.fromkeys(char for char in ZH_ANSWER if "\u4e00" <= char <= "\u9fff"))[:8]
    pictures = glyph_pictures(page, answer, distinct + distinct[0])
    assert len(set(pictures[:-1])) == len(distinct) == 8
    assert pictures[-1] == pictures[0]  # the same character, the same picture: pictures of glyphs, not of noise
    tofu = glyph_pictures(page, answer, "\ue000\ue001\ue002\ue003")
    assert len(set(tofu)) == 1, "the control should look alike: characters without a glyph"
    # The question's cell too (the body's font stack, not the answers' monospace one).
    question = f"{row_of(page, 'zh-trap')} td.question"
    assert len(set(glyph_pictures(page, question, "哪个大"))) == 3


@pytest.mark.skipif(not cjk_font_installed(), reason="no CJK font on this system (apt-get install fonts-noto-cjk)")
def test_cjk_text_is_drawn_by_a_font_of_the_reports_stack_for_its_language(cjk_page: Page) -> None:
    """Chromium says which system font drew each element's glyphs: a CJK face named in report.css, and for Chinese
    not a Japanese one (under lang="en", Noto Sans CJK draws Chinese with Japanese glyph forms)."""
    page = cjk_page
    page.select_option("#filter-prompt", "数学专家")  # a form control shows the user's words too
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]

    def fonts(selector: str) -> tuple[list[str], str]:
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        used = [font["familyName"] for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]
        stack: str = page.locator(selector).first.evaluate("node => getComputedStyle(node).fontFamily")
        return used, stack

    for selector, language in (
        (f"{row_of(page, 'zh-trap')} pre.answer", "SC"),
        (f"{row_of(page, 'zh-trap')} td.question", "SC"),
        (f"{row_of(page, 'ja-trap')} pre.answer", "JP"),
        (f"{row_of(page, 'ko-trap')} pre.answer", "KR"),
        ("svg#chart text.legend-label", "SC"),
        ("table.summary tbody td:first-child span:not(.swatch)", "SC"),
        ("#filter-prompt", "SC"),
    ):
        used, stack = fonts(selector)
        cjk = [family for family in used if "CJK" in family or "Han" in family or "Hei" in family]
        assert cjk, f"{selector}: drawn with {used} only"
        for family in cjk:
            assert f'"{family}"' in stack, f"{selector}: {family} is not in the stack {stack}"
        if any("Noto Sans CJK" in family for family in cjk):  # Debian's fonts-noto-cjk: the language's own face
            assert all(family.endswith(language) for family in cjk), f"{selector}: {cjk}"
    cdp.detach()


@pytest.fixture
def two_model_page(module_page: tuple[Page, PageLog], report: Report, tmp_path: Path) -> tuple[Page, RunResults]:
    """The report of the same cases answered by two models (the second model's verdicts drawn with another seed)."""
    page, log = module_page
    log.errors.clear()
    first = [dataclasses.replace(case, model="internlm2-chat-1_8b") for case in report.results.cases]
    second = [dataclasses.replace(case, model="qwen2.5-7b") for case in build_run(seed=9).cases]
    results = RunResults(None, None, report.results.prompts, report.results.settings, [*first, *second])
    path = tmp_path / "two.html"
    path.write_text(html_report(results), encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, results


def test_several_models_get_a_model_column_and_filter(
    two_model_page: tuple[Page, RunResults], module_page: tuple[Page, PageLog]
) -> None:
    page, results = two_model_page
    log = module_page[1]
    assert visible_rows(page) == len(results.cases)
    heads = page.locator("#case-table thead th").all_inner_texts()
    assert heads[:3] == ["case", "model", "prompt"]
    for model in ("internlm2-chat-1_8b", "qwen2.5-7b"):
        page.select_option("#filter-model", model)
        expected = [case for case in results.cases if case.model == model]
        assert visible_rows(page) == len(expected)
        shown = page.locator("#case-table tbody tr:visible td:nth-child(2)").all_inner_texts()
        assert set(shown) == {model}
        # With a prompt too: the filters combine.
        page.select_option("#filter-prompt", "langgpt")
        assert visible_rows(page) == sum(case.prompt == "langgpt" for case in expected)
        assert set(page.locator("#case-table tbody tr:visible td:nth-child(3)").all_inner_texts()) == {"langgpt"}
        page.select_option("#filter-prompt", "")
    page.select_option("#filter-model", "")
    assert visible_rows(page) == len(results.cases)
    # Side by side: one row per case and model, each showing its own model's answers.
    page.select_option("#pair-a", "none")
    page.select_option("#pair-b", "langgpt")
    keys = {(case.id, case.model) for case in results.cases if case.prompt in ("none", "langgpt")}
    assert page.locator("#pair-table tbody tr").count() == len(keys)
    by_key = {(case.id, case.model, case.prompt): case for case in results.cases}
    row = page.locator('#pair-table tr[data-case-id="case-03"][data-model="qwen2.5-7b"]')
    assert "model qwen2.5-7b" in row.locator("td").nth(0).inner_text()
    assert (
        row.locator("td").nth(1).locator(".badge").first.inner_text()
        == by_key[("case-03", "qwen2.5-7b", "none")].outcome
    )
    assert log.errors == []


def test_one_model_has_no_model_column(opened: tuple[Page, PageLog]) -> None:
    page, log = opened
    assert page.locator("#case-table thead th").all_inner_texts()[:2] == ["case", "prompt"]
    assert page.locator("#filter-model").count() == 0
    assert log.errors == []


def test_the_cost_table_aligns_text_left_and_figures_right(
    module_page: tuple[Page, PageLog], pytester: pytest.Pytester
) -> None:
    """A live run against the fake server: its "What the answers cost" table, as the browser lays it out."""
    from tests.fakeserver import FakeServer

    pytester.makefile(".yaml", **{"cases/basic": "template: en\ncases:\n  - {id: a, numbers: ['13.8', '13.11']}\n"})
    with FakeServer(models=("fake-model",)) as fake:
        pytester.runpytest_inprocess("-p", "no:cacheprovider", "--llm-endpoint", fake.url, "--llm-html", "r.html")
    page, _ = module_page
    page.goto((pytester.path / "r.html").as_uri())
    heads = page.locator("#cost-table thead th").all_inner_texts()
    aligns = (
        page.locator("#cost-table tbody tr")
        .first.locator("td")
        .evaluate_all("cells => cells.map(c => getComputedStyle(c).textAlign)")
    )
    shown = dict(zip(heads, aligns, strict=True))
    assert shown["prompt"] == shown["model"] == "left", shown
    assert {shown[name] for name in heads[2:]} == {"right"}, shown
