"""What CI test reports (JUnit XML: GitLab, Jenkins, GitHub test tabs) show of each item (face: pytest's junitxml).

Every case item carries its verdict, choice, expected answer, model, prompt and sample verdicts as pytest
``user_properties``, which ``--junitxml`` writes as ``<property>`` elements. A failing case that only the session's
gate judges (a regression under ``--llm-gate significant``, a failure under ``--llm-min-accuracy``) is reported to
pytest as ``xfail``, which JUnit XML calls ``skipped``: in the XML it is written as the ``<failure>`` it is, its
message saying what decides the run and its text the case's (question, expected, choice, answer), as a failing
case's. Known failures (failed in the baseline too) stay ``skipped``, as pytest writes
every expected failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pytest

    from .results import CaseResult

#: The property naming why a failing item is gated: ``regression`` or ``accuracy``.
GATE_PROPERTY: Final = "gated"


def judgement_properties(result: CaseResult, model: str | None) -> list[tuple[str, object]]:
    """What was judged: ``verdict`` (one sample's verdict, else ``k/n correct``), ``choice``, ``expected``,
    ``model`` (as shown: ``Runner.shown_model``, without the API keys) and ``prompt`` (each ``llm.compare`` of a
    test of the ``llm`` fixture carries these)."""
    samples = result.samples
    correct = sum(s.verdict == "correct" for s in samples)
    verdict = samples[0].verdict if len(samples) == 1 else f"{correct}/{len(samples)} correct"
    choices = ", ".join("(none)" if s.choice is None else s.choice for s in samples)
    return [
        ("verdict", verdict),
        ("choice", choices),
        ("expected", result.expected),
        ("model", model or ""),
        ("prompt", result.prompt),
    ]


def case_properties(result: CaseResult, model: str | None) -> list[tuple[str, object]]:
    """A case item's properties: :func:`judgement_properties`, ``sample_verdicts`` and ``outcome``."""
    return [
        *judgement_properties(result, model),
        ("sample_verdicts", ", ".join(s.verdict for s in result.samples)),
        ("outcome", result.outcome),
    ]


def gated_as_failure(config: pytest.Config, report: pytest.TestReport) -> None:
    """In the JUnit XML being written, a gated item's ``<skipped type="pytest.xfail">`` becomes ``<failure>``."""
    if report.when != "call" or not report.skipped or not hasattr(report, "wasxfail"):
        return
    gated = dict(report.user_properties).get(GATE_PROPERTY)
    if gated is None:
        return
    from _pytest.junitxml import bin_xml_escape, xml_key

    xml: Any = config.stash.get(xml_key, None)
    if xml is None:
        return
    reporter = xml.node_reporter(report)
    for index in range(len(reporter.nodes) - 1, -1, -1):
        node = reporter.nodes[index]
        if node.tag == "skipped" and node.get("type") == "pytest.xfail":
            import xml.etree.ElementTree as ET

            what = "a regression" if gated == "regression" else "a failure gated by accuracy"
            message = f"{what}: {str(report.wasxfail).removeprefix('reason: ')}"
            failure = ET.Element("failure", message=bin_xml_escape(message))
            # The case's text (question, expected, choice, answer: the item's report), after what decides the run.
            failure.text = bin_xml_escape(f"{message}\n\n{report.longrepr}" if report.longrepr else message)
            reporter.nodes[index] = failure
            xml.stats["skipped"] -= 1
            xml.stats["failure"] += 1
            return
