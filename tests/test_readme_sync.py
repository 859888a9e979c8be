"""README.zh-CN.md mirrors README.md: the same sections in the same order, the same options, ini keys and variables,
and, section by section, the same code (inline spans and fenced blocks: commands, options, outputs and paths are
never translated, only the prose and the comments in code are).

When README.md changes, these tests fail saying what is missing in which file and where it goes, e.g.
``README.zh-CN.md, section '## 用例文件' (for README.md's '## Case files', line 160): missing `order` (README.md line
175)``. Mend the Chinese file (translate the new prose, copy the code as it is), and for a new or renamed heading add
its row to HEADINGS below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "README.md"
CHINESE = ROOT / "README.zh-CN.md"

#: Every heading of README.md (level and text, as written) and its counterpart in README.zh-CN.md, in order.
HEADINGS: list[tuple[str, str]] = [
    ("# pytest-llmcmp", "# pytest-llmcmp"),
    ("## The two commands", "## 两条命令"),
    ("## Asking a real model", "## 询问真实模型"),
    ("## Real recordings: SmolLM2-135M on a CPU", "## 真实录制：CPU 上的 SmolLM2-135M"),
    ("## Case files", "## 用例文件"),
    ("### Which YAML files are case files", "### 哪些 YAML 文件是用例文件"),
    ("### Importing cases from CSV and JSONL", "### 从 CSV 和 JSONL 导入用例"),
    ("## Judging answers", "## 判定回答"),
    ("### Structured answers: `--llm-answer-format json`", "### 结构化回答：`--llm-answer-format json`"),
    ("### Hooks", "### 钩子"),
    ("## Record and replay", "## 录制与回放"),
    ("## Your own tests: the `llm` fixture", "## 你自己的测试：`llm` fixture"),
    ("## What the answers cost", "## 回答的成本"),
    ("## CI test reports (JUnit XML)", "## CI 测试报告（JUnit XML）"),
    ("## Gating prompt changes in pull requests", "## 在拉取请求中把关提示词改动"),
    ("## Deciding a pull request", "## 判决一个拉取请求"),
    ("## Comparing models", "## 比较模型"),
    ("## Options", "## 选项"),
    ("## Distributed runs", "## 分布式运行"),
    ("## Performance", "## 性能"),
    ("## Reliability", "## 可靠性"),
    ("### The API key, and other secrets", "### API 密钥及其他机密"),
    ("### Limits", "### 限制"),
    ("## Project layout", "## 项目结构"),
]

FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")
INLINE_CODE = re.compile(r"`([^`]+)`")
# A comment in a fenced block: '#' after a blank (or at the start) and followed by a blank or the end of the line.
COMMENT = re.compile(r"(^|\s)#(\s.*)?$")


@dataclass
class Section:
    heading: str  # "## Case files"
    line: int  # line number of the heading (1-based; 0 for the text before the first heading)
    prose: list[tuple[int, str]] = field(default_factory=list)  # (line, text) outside code fences
    blocks: list[tuple[int, list[str]]] = field(default_factory=list)  # (line of the fence, lines of the block)

    def spans(self) -> dict[str, int]:
        """Each inline code span of the section and the line it first appears on."""
        found: dict[str, int] = {}
        text = "\n".join(line for _, line in self.prose)
        starts = [number for number, _ in self.prose]
        for match in INLINE_CODE.finditer(text):
            # A span may go on over a line break (Markdown reads it as a blank).
            span = " ".join(match.group(1).split())
            found.setdefault(span, starts[text.count("\n", 0, match.start())])
        return found


def sections(path: Path) -> list[Section]:
    parsed = [Section("(before the title)", 0)]
    block: list[str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):
            if block is None:
                block = []
                parsed[-1].blocks.append((number, block))
            else:
                block = None
            continue
        if block is not None:
            block.append(line)
            continue
        heading = HEADING.match(line)
        if heading:
            parsed.append(Section(f"{heading.group(1)} {heading.group(2)}", number))
        else:
            parsed[-1].prose.append((number, line))
    return parsed


def without_comments(lines: list[str]) -> list[str]:
    kept = [COMMENT.sub("", line).rstrip() for line in lines]
    return [line for line in kept if line]


def where(section: Section) -> str:
    return f"{CHINESE.name}, section '{section.heading}' (line {section.line})"


def heading_problems(english: list[Section], chinese: list[Section]) -> list[str]:
    mapping = dict(HEADINGS)
    problems = []
    english_headings = [section.heading for section in english[1:]]
    chinese_headings = [section.heading for section in chinese[1:]]
    previous = "the title"
    for section in english[1:]:
        if section.heading not in mapping:
            problems.append(
                f"README.md has the heading '{section.heading}' (line {section.line}) that HEADINGS in "
                f"tests/test_readme_sync.py does not know: translate the section into README.zh-CN.md after "
                f"'{previous}' and add the row ('{section.heading}', '<its Chinese heading>')"
            )
        previous = mapping.get(section.heading, previous)
    for english_heading, chinese_heading in HEADINGS:
        if english_heading not in english_headings:
            problems.append(
                f"HEADINGS has '{english_heading}', which README.md no longer has: remove or rename the row"
            )
        if chinese_heading not in chinese_headings:
            problems.append(
                f"README.zh-CN.md lacks the heading '{chinese_heading}' (the counterpart of README.md's "
                f"'{english_heading}')"
            )
    expected = [mapping[heading] for heading in english_headings if heading in mapping]
    if not problems and chinese_headings != expected:
        problems.append(
            "README.zh-CN.md's headings are not in README.md's order:\n  expected: "
            + " | ".join(expected)
            + "\n  found:    "
            + " | ".join(chinese_headings)
        )
    return problems


def name_problems(english: Path, chinese: Path, what: str, pattern: str) -> list[str]:
    found = {}
    for path in (english, chinese):
        names: dict[str, int] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for name in re.findall(pattern, line):
                names.setdefault(name.rstrip("-_"), number)
        found[path] = names
    return [
        f"{missing_in.name}: the {what} {name} is missing ({present_in.name} names it at line {line})"
        for present_in, missing_in in ((english, chinese), (chinese, english))
        for name, line in sorted(found[present_in].items())
        if name not in found[missing_in]
    ]


def paired(english: list[Section], chinese: list[Section]) -> list[tuple[Section, Section]]:
    by_heading = {section.heading: section for section in chinese}
    mapping = dict(HEADINGS)
    return [
        (section, by_heading[mapping[section.heading]])
        for section in english
        if section.heading in mapping and mapping[section.heading] in by_heading
    ]


def span_problems(english: list[Section], chinese: list[Section]) -> list[str]:
    problems = []
    for ours, theirs in paired(english, chinese):
        english_spans, chinese_spans = ours.spans(), theirs.spans()
        missing = [
            f"`{span}` (README.md line {line})" for span, line in english_spans.items() if span not in chinese_spans
        ]
        extra = [f"`{span}` (line {line})" for span, line in chinese_spans.items() if span not in english_spans]
        if missing:
            problems.append(
                f"{where(theirs)}, the counterpart of README.md's '{ours.heading}' (line {ours.line}), lacks "
                + ", ".join(missing)
            )
        if extra:
            problems.append(
                f"{where(theirs)} has code that README.md's '{ours.heading}' (line {ours.line}) has not: "
                + ", ".join(extra)
                + " (changed or removed in README.md, or added by the translation)"
            )
    return problems


def block_problems(english: list[Section], chinese: list[Section]) -> list[str]:
    problems = []
    for ours, theirs in paired(english, chinese):
        english_blocks = [(line, without_comments(block)) for line, block in ours.blocks]
        chinese_blocks = [(line, without_comments(block)) for line, block in theirs.blocks]
        if len(english_blocks) != len(chinese_blocks):
            at_lines = ", ".join(str(number) for number, _ in english_blocks)
            problems.append(
                f"{where(theirs)} has {len(chinese_blocks)} code blocks, README.md's '{ours.heading}' "
                f"(line {ours.line}) has {len(english_blocks)} (at lines {at_lines})"
            )
            continue
        for (english_line, english_block), (chinese_line, chinese_block) in zip(
            english_blocks, chinese_blocks, strict=True
        ):
            if english_block != chinese_block:
                first = next(
                    (i for i, pair in enumerate(zip(english_block, chinese_block, strict=False)) if pair[0] != pair[1]),
                    min(len(english_block), len(chinese_block)),
                )
                want = english_block[first] if first < len(english_block) else "(end of block)"
                got = chinese_block[first] if first < len(chinese_block) else "(end of block)"
                problems.append(
                    f"{CHINESE.name} line {chinese_line}: the code block differs from README.md line {english_line} "
                    f"(section '{ours.heading}') in its line {first + 1} (comments aside):\n"
                    f"  README.md:       {want}\n  README.zh-CN.md: {got}\n"
                    "  copy the block from README.md (its comments may be translated)"
                )
    return problems


NAMES = [
    ("option", r"--llm-[a-z0-9-]+"),
    ("ini key", r"\bllm_[a-z0-9_]+"),
    ("environment variable", r"\b(?:LLMCMP|OPENAI)_[A-Z0-9_]+"),
]


def test_both_readmes_have_the_same_sections_in_the_same_order() -> None:
    problems = heading_problems(sections(ENGLISH), sections(CHINESE))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("what", "pattern"), NAMES, ids=[what for what, _ in NAMES])
def test_both_readmes_name_the_same_options_ini_keys_and_variables(what: str, pattern: str) -> None:
    problems = name_problems(ENGLISH, CHINESE, what, pattern)
    assert not problems, "\n".join(problems)
    assert re.search(pattern, ENGLISH.read_text(encoding="utf-8"))  # the pattern does find them


def test_every_section_has_the_same_inline_code() -> None:
    """Commands, options, values, outputs and paths written as `code` are the same, section by section."""
    problems = span_problems(sections(ENGLISH), sections(CHINESE))
    assert not problems, "\n".join(problems)


def test_every_section_has_the_same_code_blocks_but_for_comments() -> None:
    """Fenced blocks are copied as they are (outputs are real); only comments after '#' may be translated."""
    problems = block_problems(sections(ENGLISH), sections(CHINESE))
    assert not problems, "\n".join(problems)


def test_each_readme_links_to_the_other_near_its_top() -> None:
    for path, other in ((ENGLISH, CHINESE), (CHINESE, ENGLISH)):
        top = "\n".join(path.read_text(encoding="utf-8").splitlines()[:5])
        assert f"]({other.name})" in top, f"{path.name}: no link to {other.name} in its first 5 lines"


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (full-width too), blanks become hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("path", [ENGLISH, CHINESE], ids=lambda path: path.name)
def test_links_to_sections_point_at_headings_of_the_same_file(path: Path) -> None:
    anchors = {slug(section.heading.lstrip("# ")) for section in sections(path)[1:]}
    links = re.findall(r"\]\(#([^)]+)\)", path.read_text(encoding="utf-8"))
    assert links
    broken = sorted({link for link in links if link not in anchors})
    assert not broken, f"{path.name}: links to sections that do not exist: {broken}; anchors: {sorted(anchors)}"


def test_slug_is_githubs() -> None:
    assert slug("Real recordings: SmolLM2-135M on a CPU") == "real-recordings-smollm2-135m-on-a-cpu"
    assert slug("真实录制：CPU 上的 SmolLM2-135M") == "真实录制cpu-上的-smollm2-135m"
    assert slug("The API key, and other secrets") == "the-api-key-and-other-secrets"


def test_the_checks_say_what_is_missing_in_which_file_and_where(tmp_path: Path) -> None:
    """README.md edited as the coordinator will: a new `ask: order` kind in the case files' text and YAML, a new
    option, a new section; the Chinese file untouched. Every check names what is missing, in which file, where."""
    text = ENGLISH.read_text(encoding="utf-8")
    edited = text.replace(
        "    ask: smaller                  # larger (default) | smaller: the largest / smallest of the list\n",
        "    ask: smaller                  # larger (default) | smaller: the largest / smallest of the list\n"
        '  - numbers: ["3", "1", "2"]\n    ask: order\n',
    ).replace(
        "Equal values (`1.10` vs `1.1`) expect the answer `equal`.",
        "Equal values (`1.10` vs `1.1`) expect the answer `equal`; `ask: order` asks for the list sorted.",
    )
    edited = edited.replace(
        "## Distributed runs", "## Sorting lists\n\n`--llm-order-strict` too.\n\n## Distributed runs"
    )
    assert edited.count("ask: order") == text.count("ask: order") + 2  # both edits made
    english = tmp_path / "README.md"
    english.write_text(edited, encoding="utf-8")
    ours, theirs = sections(english), sections(CHINESE)
    headings = heading_problems(ours, theirs)
    assert headings == [
        "README.md has the heading '## Sorting lists' (line "
        + str(edited.splitlines().index("## Sorting lists") + 1)
        + ") that HEADINGS in tests/test_readme_sync.py does not know: translate the section into README.zh-CN.md "
        "after '## 选项' and add the row ('## Sorting lists', '<its Chinese heading>')"
    ]
    spans = span_problems(ours, theirs)
    assert len(spans) == 1
    assert spans[0].startswith("README.zh-CN.md, section '## 用例文件' (line ")
    assert "the counterpart of README.md's '## Case files'" in spans[0]
    told = next(number for number, line in enumerate(edited.splitlines(), start=1) if "`ask: order` asks" in line)
    assert spans[0].endswith(f"lacks `ask: order` (README.md line {told})")
    blocks = block_problems(ours, theirs)
    assert len(blocks) == 1
    assert "(section '## Case files') in its line 11" in blocks[0]
    assert '  README.md:         - numbers: ["3", "1", "2"]' in blocks[0]
    options = name_problems(english, CHINESE, *NAMES[0])
    assert options == [
        "README.zh-CN.md: the option --llm-order-strict is missing (README.md names it at line "
        + str(edited.splitlines().index("`--llm-order-strict` too.") + 1)
        + ")"
    ]
