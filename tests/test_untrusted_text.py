"""Untrusted text in the Markdown and HTML reports: shown, never obeyed.

Model answers come from a cassette a pull request controls; tags from a case file, prompt names from a file name. A
real session (the fake server answering with hostile text) writes the reports; the Markdown is rendered by GitHub's own
renderer (cmark-gfm, as a pull-request comment is), the HTML is parsed, and both are checked for what a reader would
get: the same table layout, no link, no markup, no hidden or reordered text.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from pytest_llmcmp.terminal import printable
from tests.fakeserver import FakeServer, correct_answer

cmarkgfm = pytest.importorskip("cmarkgfm")

# Everything pytest_llmcmp.terminal calls unsafe to show, written out here again (independently) to check the files.
RAW_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")

LONG_WORD = "9" * 6000
# One answer each for cases 4 to 8 (a Markdown cell shows the first 200 characters of an answer).
HOSTILE_ANSWERS = [
    "| injected | columns |\n| --- | --- |\n# a heading\n> a quote\n`code` and ``more``",
    "<img src=x onerror=alert(1)> <b>bold</b> <!-- hidden comment\n[click here](javascript:alert(1)) ![i](http://e.x/i)",
    "https://evil.example/login www.evil.example mail a@evil.example, ping @octocat\n"
    "</script><script>alert(1)</script>",
    "ansi \x1b[31mred\x1b[0m nul \x00 del \x7f c1 \x85 ls \u2028 ps \u2029 end\n"
    "rtl \u202eevil\u202c isolate \u2066x\u2069 tags \U000e0041\U000e0042",
    "~~struck~~ *em* _em_ $math$ \\ backslash &amp; &#60;\n" + LONG_WORD,
]
HOSTILE_TAGS = ["a|b", "`t`", "<!--x-->", "[t](javascript:alert(1))", "@octocat", "rtl\u202eevil", "esc\x1b[2J"]
HOSTILE_PROMPT = "p|`x`<b>#"


def hostile_answer(request: dict[str, Any]) -> str:
    for k, answer in enumerate(HOSTILE_ANSWERS, start=4):
        if f" {k}.8" in request["messages"][-1]["content"]:
            return answer
    return correct_answer(request)


def yaml_string(text: str) -> str:
    return json.dumps(text)  # JSON strings are YAML double-quoted strings (with \u escapes for the controls)


@pytest.fixture
def reports(pytester: pytest.Pytester) -> dict[str, str]:
    """Record a suite whose cases 4 to 8 get hostile answers, against a baseline in which they passed (regressions,
    so the answers are shown in the Markdown); return the written Markdown, HTML and terminal output."""
    tags = ", ".join(yaml_string(tag) for tag in HOSTILE_TAGS)
    lines = ["template: en", "cases:"]
    lines += [f'  - {{id: c_{i}+x, numbers: ["{i}.8", "{i}.11"], tags: [{tags}]}}' for i in range(1, 9)]
    pytester.makefile(".yaml", **{"cases/suite": "\n".join(lines) + "\n"})
    (pytester.path / f"{HOSTILE_PROMPT}.md").write_text("Answer briefly.\n", encoding="utf-8")
    # max_tokens none: the 6,000-character word reaches the reports whole (the fake server cuts at max_tokens)
    args = [
        "-p",
        "no:cacheprovider",
        "--llm-prompt",
        f"{HOSTILE_PROMPT}.md",
        "--llm-samples",
        "2",
        "--llm-max-tokens",
        "none",
    ]
    with FakeServer(answer=hostile_answer) as fake:
        first = pytester.runpytest_inprocess(*args, "--llm-endpoint", fake.url, "--llm-results", "head.json")
    first.assert_outcomes(passed=3, failed=5)
    data = json.loads((pytester.path / "head.json").read_text(encoding="utf-8"))
    for case in data["cases"]:
        case["outcome"] = "pass"
    (pytester.path / "base.json").write_text(json.dumps(data), encoding="utf-8")
    result = pytester.runpytest_inprocess(
        *args, "--llm-baseline", "base.json", "--llm-report", "r.md", "--llm-html", "r.html", "--llm-gate", "report"
    )
    result.stdout.fnmatch_lines(["*0 improved, 5 regressed*"])
    return {
        "markdown": (pytester.path / "r.md").read_text(encoding="utf-8"),
        "html": (pytester.path / "r.html").read_text(encoding="utf-8"),
        "terminal": result.stdout.str(),
    }


class Elements(HTMLParser):
    """Every start tag with its attributes, every comment, the text, and the cells of each table row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []
        self.text: list[str] = []
        self.rows: list[int] = []  # cells per row, in document order
        self.tables: list[list[int]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("td", "th"):
            self.tables[-1][-1] += 1
        elif tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parsed(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    elements.close()
    return elements


def github_comment(markdown: str) -> Elements:
    """The Markdown as GitHub renders a pull-request comment (cmark-gfm with its extensions; raw HTML passed, as
    GitHub does before its sanitizer: what the report itself lets through is what is checked)."""
    from cmarkgfm.cmark import Options

    return parsed(cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE))


def test_markdown_renders_untrusted_text_as_text_in_the_same_layout(reports: dict[str, str]) -> None:
    markdown = reports["markdown"]
    assert not RAW_UNSAFE.findall(markdown)  # nothing reorders, hides or moves text in the file itself
    rendered = github_comment(markdown)
    # Only the report's own markup: no link, image, script, comment or injected element.
    own = {"h2", "h3", "p", "strong", "sub", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "br"}
    own |= {"details", "summary"}
    assert {tag for tag, _ in rendered.tags} <= own, {tag for tag, _ in rendered.tags} - own
    assert not rendered.comments
    assert not [attrs for tag, attrs in rendered.tags if any(name not in ("align",) for name, _ in attrs)]
    # Every table keeps its columns: no row has more (or fewer) cells than its header.
    assert rendered.tables
    for table in rendered.tables:
        assert len(set(table)) == 1, table
    text = "".join(rendered.text)
    # The hostile answer is there, verbatim but for the escapes a reader can see (and a cut).
    for shown in ("| injected | columns |", "# a heading", "&gt; a quote"[4:], "`code` and ``more``"):
        assert shown in text
    assert "<img src=x onerror=alert(1)> <b>bold</b> <!-- hidden comment" in text
    assert "[click here](javascript:alert(1))" in text
    assert "https://evil.example/login www.evil.example" in text
    assert "\\x1b[31mred\\x1b[0m nul \\x00 del \\x7f c1 \\x85 ls \\u2028 ps \\u2029" in text
    assert "rtl \\u202eevil\\u202c isolate \\u2066x\\u2069 tags \\U000e0041\\U000e0042" in text
    assert "~~struck~~ *em* _em_ $math$ \\ backslash &amp; &#60;" in text
    # GitHub would mention @octocat and link an e-mail address: a zero-width space after "@" stops both.
    assert "@octocat" not in text
    assert "@\u200boctocat" in text
    assert "a@\u200bevil.example" in text
    # Tags and the prompt name too.
    assert f"| {printable('rtl' + chr(0x202E) + 'evil')}" not in markdown  # escaped, not raw
    assert "[t](javascript:alert(1))" in text
    assert "esc\\x1b[2J" in text
    assert "p|`x`<b>#" in text
    # A 6,000-character word is cut in its cell: no line of the comment is longer than a few hundred characters.
    assert LONG_WORD not in markdown
    assert max(len(line) for line in markdown.splitlines()) < 2000


def test_html_shows_untrusted_text_as_text_in_attributes_and_in_the_embedded_data(reports: dict[str, str]) -> None:
    html = reports["html"]
    assert not RAW_UNSAFE.findall(html)
    page = parsed(html)
    assert not page.comments
    # Only the report's two scripts (the data and the code): the answer's </script> did not end the data block.
    assert [attrs for tag, attrs in page.tags if tag == "script"] == [
        [("type", "application/json"), ("id", "llmcmp-data")],
        [],
    ]
    assert not [tag for tag, _ in page.tags if tag in ("img", "iframe", "object", "embed", "a")]
    assert not [name for _, attrs in page.tags for name, _ in attrs if name.startswith("on")]
    # The hostile tags reach attributes (data-tag, title) whole, escaped, as one attribute value each.
    values = [value for _, attrs in page.tags for name, value in attrs if name == "data-tag"]
    for tag in HOSTILE_TAGS:
        assert printable(tag) in values
    data = json.loads(page.scripts[0])
    answers = {s["answer"] for case in data["cases"] for s in case["samples"]}
    for answer in HOSTILE_ANSWERS:
        assert printable(answer) in answers  # every other character as the model sent it
    assert printable(HOSTILE_PROMPT) in data["prompts"]
    text = "".join(page.text)
    assert "rtl\\u202eevil" in text
    assert "esc\\x1b[2J" in text


def test_the_terminal_uses_the_same_escapes(reports: dict[str, str]) -> None:
    terminal = reports["terminal"]
    assert not RAW_UNSAFE.findall(terminal.replace("\n", "").replace("\t", ""))
    assert "rtl\\u202eevil" in terminal


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),  # OSC 52 writes the clipboard
        ("a\u202eb", "a\\u202eb"),
        ("\U000e0049\U000e0047", "\\U000e0049\\U000e0047"),  # tag characters: invisible "IG"
        ("keep\ttab\nand newline", "keep\ttab\nand newline"),
        ("emoji 👍 and 中文", "emoji 👍 and 中文"),
    ],
)
def test_printable_is_one_definition_for_all_three(text: str, shown: str) -> None:
    from pytest_llmcmp.reports.html import escape
    from pytest_llmcmp.reports.markdown import escape_markdown

    assert printable(text) == shown
    assert escape(text) == shown  # nothing else for HTML to escape in these
    cell = github_comment(f"| {escape_markdown(text)} |\n| :-- |\n")
    assert "".join(cell.text).strip() == shown.replace("\n", "")  # a newline is a <br> in a cell


@pytest.mark.browser
@pytest.mark.slow
def test_the_html_report_shows_hostile_answers_as_visible_text_in_a_browser(
    reports: dict[str, str], pytester: pytest.Pytester
) -> None:
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    events: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: (events.append("dialog " + dialog.message), dialog.dismiss()))
            page.on("pageerror", lambda error: events.append(f"error {error}"))
            page.on(
                "request", lambda request: events.append(request.url) if not request.url.startswith("file:") else None
            )
            page.goto((pytester.path / "r.html").as_uri())
            page.wait_for_load_state("load")
            shown = page.locator("#case-table pre.answer").all_text_contents()  # the rows are collapsed
            title = page.title()
            images = page.locator("img").count()
        finally:
            browser.close()
    assert events == []  # no alert, no script error, no request for the <img> of an answer
    assert images == 0
    assert "pwned" not in title
    joined = "\n".join(shown)
    assert "rtl \\u202eevil\\u202c isolate \\u2066x\\u2069 tags \\U000e0041\\U000e0042" in joined
    assert "<img src=x onerror=alert(1)> <b>bold</b> <!-- hidden comment" in joined
    assert "</script><script>alert(1)</script>" in joined
    assert not RAW_UNSAFE.findall(joined.replace("\n", "").replace("\t", ""))
