"""Results of a run: per-sample verdicts, per-case outcomes, summaries and the results JSON (schema 1).

This module is pure domain code (no pytest, no network). The results JSON is a contract that users'
scripts and the baseline comparison of later runs read, so :meth:`RunResults.to_json` and
:meth:`RunResults.load` are the only places that know its shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from .atomic import write_atomically

__all__ = [
    "SCHEMA",
    "TRUNCATED",
    "VERDICTS",
    "CaseResult",
    "Outcome",
    "PassRule",
    "PromptInfo",
    "ResultsFileError",
    "RunResults",
    "SampleResult",
    "Verdict",
    "accuracy_of",
    "format_percent",
    "judge",
    "parse_accuracy",
]

Verdict = Literal["correct", "wrong", "unparsed", "error"]
Outcome = Literal["pass", "fail"]

#: Every verdict, in the order reports list them.
VERDICTS: tuple[Verdict, ...] = ("correct", "wrong", "unparsed", "error")
_OUTCOMES: tuple[Outcome, ...] = ("pass", "fail")


def judge(choice: str | None, expected: str) -> Verdict:
    """The verdict on one extracted choice: ``"unparsed"`` for ``None``, else exactly ``correct`` or ``wrong`` (no
    partial credit, whatever the question kind)."""
    if choice is None:
        return "unparsed"
    return "correct" if choice == expected else "wrong"


#: The reason of an ``unparsed`` sample whose answer was cut off (``finish_reason: length``) before a verdict.
TRUNCATED = "truncated"

#: The version of the results JSON written by this module; :meth:`RunResults.load` accepts only it.
SCHEMA = 1
#: A results file larger than this is refused (a suite of 100,000 cases with long answers stays far below).
MAX_RESULTS_BYTES = 256 * 1024 * 1024
_CONTRACT_KEYS = frozenset({"schema", "model", "endpoint", "prompts", "settings", "cases", "summary"})


class ResultsFileError(Exception):
    """A results file that cannot be read: missing, not JSON, another schema, or malformed.

    ``str(error)`` is one line that names the file.
    """


def accuracy_of(passed: int, total: int) -> float | None:
    """Share of passed cases, or ``None`` when there is nothing to measure."""
    return passed / total if total else None


def format_percent(accuracy: float | None, digits: int = 1) -> str:
    """``0.615`` -> ``"61.5%"``; ``None`` -> ``"–"`` (no cases)."""
    if accuracy is None:
        return "–"
    return f"{accuracy * 100:.{digits}f}%"


_ACCURACY_TEXT = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%?)\s*")


def parse_accuracy(text: str) -> float:
    """Parse a minimum accuracy as users write it: ``"0.7"``, ``"70%"`` or ``"70"``; returns a fraction.

    A bare number above 1 is read as a percentage, since an accuracy above 100% means nothing.
    Raises :class:`ValueError` with one sentence on anything else.
    """
    match = _ACCURACY_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(f"accuracy {text!r} is not a number like 0.7 or 70%")
    value = float(match.group(1))
    if match.group(2) or value > 1:
        value /= 100
    if value > 1:
        raise ValueError(f"accuracy {text!r} is above 100%")
    return value


def _require(mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in mapping:
        raise ValueError(f"{where} has no {key!r}")
    value = mapping[key]
    if not isinstance(value, kind):
        raise ValueError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _optional(mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any, where: str) -> Any:
    value = mapping.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise ValueError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _string_list(mapping: Mapping[str, Any], key: str, where: str, *, required: bool) -> list[str]:
    value = _require(mapping, key, list, where) if required else _optional(mapping, key, list, [], where)
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}: {key!r} must be a list of strings")
    return list(value)


@dataclass(frozen=True)
class Cost:
    """What one answer cost: its token counts (``prompt_tokens``, ``completion_tokens``) when the server gave them,
    and its latency in seconds (live, or as recorded in the cassette)."""

    usage: dict[str, int] | None = None
    latency: float | None = None


@dataclass(slots=True)  # one per answer / per item of a run: no __dict__ each
class SampleResult:
    """One answer of the model to one case: the text, the choice extracted from it and the verdict."""

    answer: str | None
    choice: str | None
    verdict: Verdict
    contradiction: bool = False
    error: str | None = None
    #: Why the model stopped, as its response said (``"stop"``; ``"length"``: cut off by max_tokens).
    finish_reason: str | None = None
    #: How the judge decided, or why it could not (:data:`TRUNCATED`, ``"hedge"``, ...): a short tag.
    reason: str = ""
    #: The passage of the answer that decided the choice, as written in it; empty without a choice.
    evidence: str = ""
    #: Token counts of the answer, ``{"prompt_tokens": N, "completion_tokens": M}``, when the server gave them.
    usage: dict[str, int] | None = None
    #: Seconds the answer took (live), or took when it was recorded (replay); ``None`` when unknown.
    latency: float | None = None

    @property
    def truncated(self) -> bool:
        """Unparsed because the answer was cut off before it gave a verdict."""
        return self.verdict == "unparsed" and self.reason == TRUNCATED

    def to_json(self) -> dict[str, Any]:
        """The sample as it appears in the results JSON."""
        return {
            "answer": self.answer,
            "choice": self.choice,
            "verdict": self.verdict,
            "contradiction": self.contradiction,
            "error": self.error,
            "finish_reason": self.finish_reason,
            "reason": self.reason,
            "evidence": self.evidence,
            "usage": self.usage,
            "latency": self.latency,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SampleResult:
        """Read a sample; raises :class:`ValueError` when a field is missing or of the wrong type."""
        where = "sample"
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} is not an object")
        verdict = _require(data, "verdict", str, where)
        if verdict not in VERDICTS:
            raise ValueError(f"{where}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
        return cls(
            answer=_optional(data, "answer", str, None, where),
            choice=_optional(data, "choice", str, None, where),
            verdict=cast(Verdict, verdict),
            contradiction=bool(_optional(data, "contradiction", bool, False, where)),
            error=_optional(data, "error", str, None, where),
            finish_reason=_optional(data, "finish_reason", str, None, where),
            reason=_optional(data, "reason", str, "", where) or "",
            evidence=_optional(data, "evidence", str, "", where) or "",
            usage=_usage(data, where),
            latency=_latency(data, where),
        )


def _usage(data: Mapping[str, Any], where: str) -> dict[str, int] | None:
    usage = _optional(data, "usage", dict, None, where)
    if usage is None:
        return None
    if not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in usage.items()):
        raise ValueError(f"{where}: 'usage' must map names to token counts")
    return dict(usage)


def _latency(data: Mapping[str, Any], where: str) -> float | None:
    latency = _optional(data, "latency", (int, float), None, where)
    if latency is None:
        return None
    if isinstance(latency, bool) or latency < 0:
        raise ValueError(f"{where}: 'latency' must be a number of seconds")
    return float(latency)


@dataclass(slots=True)
class CaseResult:
    """The result of one case under one prompt: every sample and the outcome the pass rule gave."""

    id: str
    nodeid: str
    file: str
    prompt: str
    numbers: list[str]
    ask: str
    question: str
    tags: list[str]
    expected: str
    samples: list[SampleResult]
    outcome: Outcome
    #: The model that answered (additive to schema 1; several models in one run are told apart by it).
    model: str | None = None

    @property
    def flaky(self) -> bool:
        """Some samples were correct and some were not: the model is unsure of this case."""
        if len(self.samples) < 2:  # one sample is right or wrong (most runs: asked for every case's every tally)
            return False
        correct = sum(sample.verdict == "correct" for sample in self.samples)
        return 0 < correct < len(self.samples)

    @property
    def passed(self) -> bool:
        """Whether the case passed under the run's pass rule."""
        return self.outcome == "pass"

    @property
    def key(self) -> tuple[str, str]:
        """``(case id, prompt name)``: what identifies this result across runs."""
        return (self.id, self.prompt)

    def to_json(self) -> dict[str, Any]:
        """The case as it appears in the results JSON."""
        return {
            "id": self.id,
            "nodeid": self.nodeid,
            "file": self.file,
            "prompt": self.prompt,
            "numbers": list(self.numbers),
            "ask": self.ask,
            "question": self.question,
            "tags": list(self.tags),
            "expected": self.expected,
            "outcome": self.outcome,
            "samples": [sample.to_json() for sample in self.samples],
            **({"model": self.model} if self.model is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseResult:
        """Read a case; raises :class:`ValueError` naming the case when a field is missing or wrong.

        Only the contract's fields (``id``, ``prompt``, ``numbers``, ``ask``, ``expected``,
        ``outcome``, ``samples``) are required, so hand-written or older baselines still load.
        """
        if not isinstance(data, Mapping):
            raise ValueError("a case is not an object")
        case_id = _require(data, "id", str, "a case")
        where = f"case {case_id!r}"
        outcome = _require(data, "outcome", str, where)
        if outcome not in _OUTCOMES:
            raise ValueError(f"{where}: outcome {outcome!r} is neither 'pass' nor 'fail'")
        raw_samples = _require(data, "samples", list, where)
        try:
            samples = [SampleResult.from_json(sample) for sample in raw_samples]
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        return cls(
            id=case_id,
            nodeid=_optional(data, "nodeid", str, "", where),
            file=_optional(data, "file", str, "", where),
            prompt=_require(data, "prompt", str, where),
            numbers=_string_list(data, "numbers", where, required=True),
            ask=_require(data, "ask", str, where),
            question=_optional(data, "question", str, "", where),
            tags=_string_list(data, "tags", where, required=False),
            expected=_require(data, "expected", str, where),
            samples=samples,
            outcome=cast(Outcome, outcome),
            model=_optional(data, "model", str, None, where),
        )


_K_OF_N = re.compile(r"([0-9]+)\s*/\s*([0-9]+)")


@dataclass(frozen=True)
class PassRule:
    """How many of a case's samples must be correct for the case to pass.

    - ``all``: every sample is correct (the default; with one sample, the sample decides);
    - ``majority``: more than half of the samples are correct;
    - ``any``: at least one sample is correct;
    - ``k/N`` (e.g. ``4/5``): at least *k* of exactly *N* samples are correct. *N* must equal the
      number of samples asked (``--llm-samples``); check that once with :meth:`check_samples`
      when the run is configured, since :meth:`decide` refuses a different number of verdicts.

    Only ``correct`` counts: a ``wrong``, ``unparsed`` or ``error`` sample never helps a case pass.
    """

    kind: Literal["all", "majority", "any", "k/N"]
    k: int = 0
    n: int = 0

    @classmethod
    def parse(cls, text: str) -> PassRule:
        """Read ``all``, ``majority``, ``any`` or ``k/N``; raises :class:`ValueError` with one sentence."""
        cleaned = text.strip().lower()
        if cleaned in ("all", "majority", "any"):
            return cls(kind=cast(Literal["all", "majority", "any"], cleaned))
        match = _K_OF_N.fullmatch(cleaned)
        if match is None:
            raise ValueError(f"pass rule {text!r} is not one of 'all', 'majority', 'any' or 'k/N' (like '4/5')")
        k, n = int(match.group(1)), int(match.group(2))
        if n < 1:
            raise ValueError(f"pass rule {text!r} needs N of at least 1 sample")
        if not 1 <= k <= n:
            raise ValueError(f"pass rule {text!r} needs k between 1 and N ({n})")
        return cls(kind="k/N", k=k, n=n)

    def __str__(self) -> str:
        return f"{self.k}/{self.n}" if self.kind == "k/N" else self.kind

    def check_samples(self, samples: int) -> None:
        """Raise :class:`ValueError` (one sentence) when this rule cannot judge ``samples`` per case."""
        if samples < 1:
            raise ValueError(f"the number of samples must be at least 1, not {samples}")
        if self.kind == "k/N" and samples != self.n:
            raise ValueError(f"pass rule '{self}' needs --llm-samples {self.n}, not {samples}")

    def needed(self, samples: int) -> int:
        """How many correct samples out of ``samples`` make a case pass."""
        if self.kind == "all":
            return samples
        if self.kind == "majority":
            return samples // 2 + 1
        if self.kind == "any":
            return 1
        return self.k

    def decide(self, verdicts: Sequence[Verdict]) -> Outcome:
        """``"pass"`` when enough of ``verdicts`` are ``correct``; a case with no samples fails."""
        if not verdicts:
            return "fail"
        if self.kind == "k/N" and len(verdicts) != self.n:
            raise ValueError(f"pass rule '{self}' judges {self.n} samples, got {len(verdicts)}")
        correct = sum(verdict == "correct" for verdict in verdicts)
        return "pass" if correct >= self.needed(len(verdicts)) else "fail"


@dataclass
class PromptInfo:
    """Where a prompt came from: its file and the SHA-256 of its bytes (``None`` for the prompt ``none``)."""

    path: str | None
    sha256: str | None

    def to_json(self) -> dict[str, Any]:
        """The prompt as it appears in the results JSON."""
        return {"path": self.path, "sha256": self.sha256}


def _tally(cases: Iterable[CaseResult]) -> dict[str, Any]:
    total = passed = flaky = 0
    for case in cases:
        total += 1
        passed += case.passed
        flaky += case.flaky
    return {
        "total": total,
        "passed": passed,
        "failed": total - passed,
        "accuracy": accuracy_of(passed, total),
        "flaky": flaky,
    }


@dataclass
class RunResults:
    """Everything one run produced; what ``--llm-results`` writes and ``--llm-baseline`` reads."""

    model: str | None
    endpoint: str | None
    prompts: dict[str, PromptInfo]
    settings: dict[str, Any]
    cases: list[CaseResult] = field(default_factory=list)
    #: Top-level keys added to the results JSON after the contract's (schema 1 grows only by adding):
    #: ``complete``, ``statistics``, ``comparison``, ``baseline``, ``gate``, ``not_recorded``. Never read back.
    extra: dict[str, Any] = field(default_factory=dict)

    def prompt_names(self) -> list[str]:
        """Prompt names in declaration order, then any prompt only the cases mention, by name."""
        names = list(self.prompts)
        names += sorted({case.prompt for case in self.cases} - set(names))
        return names

    def model_names(self) -> list[str]:
        """Every model a case names, sorted (several: a comparison of models; a one-model run has one)."""
        return sorted({case.model for case in self.cases if case.model is not None})

    def for_model(self, model: str) -> RunResults:
        """The results of one model (a case that names none counts as the run's ``model``)."""
        cases = [case for case in self.cases if (case.model or self.model) == model]
        return RunResults(model, self.endpoint, self.prompts, self.settings, cases)

    def tag_names(self) -> list[str]:
        """Every tag used by a case, sorted."""
        return sorted({tag for case in self.cases for tag in case.tags})

    def sorted_cases(self) -> list[CaseResult]:
        """Cases in a stable order (case id, prompt, node id), whatever order workers finished in."""
        return sorted(self.cases, key=lambda case: (case.id, case.prompt, case.model or "", case.nodeid))

    def summary(self) -> dict[str, Any]:
        """Counts and accuracies: overall, per prompt, per tag and prompt, and sample verdicts per prompt.

        ``accuracy`` is ``passed / total`` or ``None`` when there are no cases.
        """
        overall = _tally(self.cases)
        del overall["flaky"]
        names = self.prompt_names()
        by_prompt: dict[str, list[CaseResult]] = {name: [] for name in names}
        verdicts: dict[str, dict[str, int]] = {name: dict.fromkeys(VERDICTS, 0) for name in names}
        truncated: dict[str, int] = dict.fromkeys(names, 0)
        by_tag: dict[str, dict[str, list[CaseResult]]] = {}
        for case in self.cases:
            by_prompt[case.prompt].append(case)
            for sample in case.samples:
                verdicts[case.prompt][sample.verdict] += 1
                truncated[case.prompt] += sample.truncated
            # A tag listed twice on one case still counts the case once.
            for tag in dict.fromkeys(case.tags):
                by_tag.setdefault(tag, {}).setdefault(case.prompt, []).append(case)
        tags: dict[str, dict[str, dict[str, Any]]] = {}
        for tag in sorted(by_tag):
            tags[tag] = {}
            for name in names:
                if name in by_tag[tag]:
                    tally = _tally(by_tag[tag][name])
                    tags[tag][name] = {key: tally[key] for key in ("total", "passed", "accuracy")}
        summary = {
            **overall,
            "prompts": {name: _tally(by_prompt[name]) for name in names},
            "tags": tags,
            "verdicts": verdicts,
            "truncated": truncated,
        }
        models = self.model_names()
        if len(models) > 1:  # additive: each model's counts, overall and per prompt
            summary["models"] = {model: self._model_summary(model, names) for model in models}
        return summary

    def _model_summary(self, model: str, names: Sequence[str]) -> dict[str, Any]:
        cases = [case for case in self.cases if case.model == model]
        tally = _tally(cases)
        del tally["flaky"]
        tally["prompts"] = {name: _tally([c for c in cases if c.prompt == name]) for name in names}
        return tally

    def to_json(self) -> dict[str, Any]:
        """The results JSON (schema 1), cases sorted so that two runs diff cleanly."""
        return {
            "schema": SCHEMA,
            "model": self.model,
            "endpoint": self.endpoint,
            "prompts": {name: info.to_json() for name, info in self.prompts.items()},
            "settings": dict(self.settings),
            "cases": [case.to_json() for case in self.sorted_cases()],
            "summary": self.summary(),
            **({"models": models} if len(models := self.model_names()) > 1 else {}),
            **{key: value for key, value in self.extra.items() if key not in _CONTRACT_KEYS},
        }

    def write(self, path: Path) -> None:
        """Write the results JSON atomically: readers see the old file or the new one, never half of one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, self.to_text().encode("utf-8"))

    def to_text(self) -> str:
        """The results JSON, as :meth:`write` writes it (always encodable as UTF-8)."""
        data = self.to_json()
        text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (a model answer cut mid-character) cannot be UTF-8; \u escapes can.
            text = json.dumps(data, ensure_ascii=True, indent=1, allow_nan=False) + "\n"
        return text

    @classmethod
    def from_json(cls, data: Any) -> RunResults:
        """Build results from parsed JSON; raises :class:`ValueError` (one sentence) on anything malformed."""
        if not isinstance(data, Mapping):
            raise ValueError("the top level is not a JSON object")
        schema = data.get("schema")
        if schema != SCHEMA:
            raise ValueError(f"schema {schema!r} is not supported (this version reads schema {SCHEMA})")
        raw_prompts = _optional(data, "prompts", Mapping, {}, "the results")
        prompts: dict[str, PromptInfo] = {}
        for name, info in raw_prompts.items():
            where = f"prompt {name!r}"
            if not isinstance(info, Mapping):
                raise ValueError(f"{where} is not an object")
            prompts[name] = PromptInfo(
                path=_optional(info, "path", str, None, where),
                sha256=_optional(info, "sha256", str, None, where),
            )
        raw_cases = _require(data, "cases", list, "the results")
        return cls(
            model=_optional(data, "model", str, None, "the results"),
            endpoint=_optional(data, "endpoint", str, None, "the results"),
            prompts=prompts,
            settings=dict(_optional(data, "settings", Mapping, {}, "the results")),
            cases=[CaseResult.from_json(case) for case in raw_cases],
        )

    @classmethod
    def load(cls, path: Path) -> RunResults:
        """Read a results file; raises :class:`ResultsFileError` with one line naming the file."""
        from .safefiles import read_regular

        try:
            text = read_regular(path, MAX_RESULTS_BYTES).decode("utf-8")
        except FileNotFoundError:
            raise ResultsFileError(f"{path}: results file not found") from None
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise ResultsFileError(f"{path}: cannot read results file: {reason}") from None

        def refuse_constant(name: str) -> float:
            raise ValueError(f"{name} is not a valid JSON number")

        try:
            data = json.loads(text, parse_constant=refuse_constant)
        except ValueError as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ResultsFileError(f"{path}: not valid JSON: {message}") from None
        try:
            return cls.from_json(data)
        except ValueError as error:
            raise ResultsFileError(f"{path}: {error}") from None
