"""The gate's policy: from a paired comparison to the decision a reviewer reads, in one line.

Pure domain code. Three modes (``--llm-gate``):

- ``strict``: any case that went from pass to fail fails the run (``--llm-max-regressions N`` turns that
  into "more than N");
- ``significant`` (the default): the run fails when the new side is worse with a one-sided exact p-value
  under ``--llm-alpha``, when its net change is a drop of more than ``--llm-max-drop`` points, or when
  there are more than ``--llm-max-regressions`` regressions;
- ``report``: the comparison never fails the run; it is still computed and written.

In every mode a regression of a critical case (``critical: true``, or a tag of ``--llm-must-pass``)
fails the run, and a comparison that misses recordings, or an interrupted run, is not decided at all:
the run fails and says why.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .baseline import Change, Comparison, Gate
from .stats import PairedTest, format_p, paired_test
from .words import plural

__all__ = [
    "DEFAULT_MODE",
    "MODES",
    "THRESHOLDS_ONLY",
    "Decision",
    "GatePolicy",
    "PromptDecision",
    "RunStatus",
    "combine",
    "decide",
    "regressed_item_fails",
]

MODES = ("strict", "significant", "report")
#: Why ``significant``: see README, "Deciding a pull request" (a prompt edit flips cases both ways).
DEFAULT_MODE = "significant"


@dataclass(frozen=True)
class GatePolicy:
    """The settings of the gate (``--llm-gate``, ``--llm-alpha``, ``--llm-max-drop``, ``--llm-max-regressions``)."""

    mode: str = DEFAULT_MODE
    alpha: float = 0.05
    max_drop: float = 0.0  # points of accuracy
    max_regressions: int | None = None


def regressed_item_fails(policy: GatePolicy, critical: bool) -> bool:
    """Whether the item of a regressed case fails by itself (else it is reported, and the session decides)."""
    return critical or (policy.mode == "strict" and policy.max_regressions is None)


@dataclass
class PromptDecision:
    """The comparison of one prompt's paired cases, and why it fails the gate (``""`` when it does not)."""

    prompt: str
    test: PairedTest
    failure: str = ""

    def describe(self) -> str:
        t = self.test
        name = "McNemar" if t.test == "exact McNemar test" else "sign test"
        text = (
            f"{self.prompt} {t.net:+d} net ({t.improved} improved, {t.regressed} regressed), "
            f"{name} p = {format_p(t.p_two_sided)}"
        )
        return f"{text} — {self.failure}" if self.failure else text


@dataclass
class Decision:
    """What the gate decided: ``state`` and the one line that says it and why."""

    state: Literal["passed", "failed", "undecided"]
    line: str
    mode: str
    prompts: list[PromptDecision] = field(default_factory=list)
    critical: list[Change] = field(default_factory=list)
    #: the accuracy thresholds (``--llm-min-accuracy``) this decision includes, see :func:`combine`
    thresholds: list[Gate] = field(default_factory=list)
    #: what the comparison alone decided (``None``: no comparison, only thresholds)
    comparison_state: str | None = None

    @property
    def ok(self) -> bool:
        return self.state == "passed"

    @property
    def failed_thresholds(self) -> list[Gate]:
        return [gate for gate in self.thresholds if not gate.ok]

    def to_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "mode": self.mode,
            "line": self.line,
            "prompts": {p.prompt: {**p.test.to_json(), "failure": p.failure or None} for p in self.prompts},
            "critical_regressions": [f"{change.id} [{change.prompt}]" for change in self.critical],
            "comparison_state": self.comparison_state,
            "thresholds": [{"name": g.name, "ok": g.ok, "message": g.message} for g in self.thresholds],
        }


def _fmt_points(value: float) -> str:
    return f"{value:g}"


def _failure(test: PairedTest, policy: GatePolicy) -> str:
    mode = policy.mode
    if mode == "report":
        return ""
    limit = policy.max_regressions
    if mode == "strict":
        if limit is None and test.regressed:
            return f"{test.regressed} regressed and the gate is strict"
        if limit is not None and test.regressed > limit:
            return f"{test.regressed} regressed, more than --llm-max-regressions {limit}"
        return ""
    reasons = []
    if test.p_worse < policy.alpha:
        reasons.append(f"worse: one-sided p = {format_p(test.p_worse)} < alpha {policy.alpha:g}")
    if test.net_points < -policy.max_drop - 1e-9:
        allowed = _fmt_points(policy.max_drop)
        reasons.append(f"a drop of {-test.net_points:.1f} points, more than --llm-max-drop {allowed}")
    if limit is not None and test.regressed > limit:
        reasons.append(f"{test.regressed} regressed, more than --llm-max-regressions {limit}")
    return "; ".join(reasons)


def decide(
    comparison: Comparison,
    policy: GatePolicy,
    critical: Collection[str] = (),
    rule: str = "all",
    not_recorded: int = 0,
    record_command: str | None = None,
    interrupted: str | None = None,
) -> Decision:
    """Decide the gate on ``comparison``.

    ``critical`` holds the ids of the cases that must never regress; ``not_recorded`` counts this run's
    cases that could not be replayed (their comparison is not made, and the gate does not decide);
    ``interrupted`` says why the run stopped early, if it did. ``rule`` (the pass rule) is accepted for callers
    and not used: every case's outcome was already decided by it.
    """
    prompts: list[PromptDecision] = []
    for name in _prompts(comparison):
        pairs = [pair for pair in comparison.pairs if pair[1].prompt == name]
        test = paired_test(pairs)
        prompts.append(PromptDecision(name, test, _failure(test, policy)))
    criticals = [change for change in comparison.regressions if change.id in critical]
    tail = plural(len(criticals), "critical regression")
    if criticals:
        shown = ", ".join(f"{change.id} [{change.prompt}]" for change in criticals[:3])
        tail += f" ({shown}{' …' if len(criticals) > 3 else ''}): a critical case must never regress"
    body = "; ".join(p.describe() for p in prompts) or "no case was compared"
    mode = f"({policy.mode}{f', alpha {policy.alpha:g}' if policy.mode == 'significant' else ''})"
    if interrupted is not None:
        return Decision("undecided", f"gate not decided: the run was interrupted ({interrupted})", policy.mode, prompts)
    if not_recorded:
        cases = "case has" if not_recorded == 1 else "cases have"
        how = f"; record them with: {record_command}" if record_command else ""
        return Decision(
            "undecided",
            f"gate not decided: {not_recorded} {cases} no recording, so they cannot be compared "
            f"(a pull request must carry its recordings){how}",
            policy.mode,
            prompts,
            criticals,
        )
    failed = bool(criticals) or any(p.failure for p in prompts)
    if policy.mode == "report" and not criticals:
        return Decision("passed", f"gate report only: {body}; {tail}", policy.mode, prompts, criticals)
    state: Literal["passed", "failed"] = "failed" if failed else "passed"
    return Decision(state, f"gate {state} {mode}: {body}; {tail}", policy.mode, prompts, criticals)


#: ``Decision.mode`` of a decision made by thresholds alone (no comparison in the run).
THRESHOLDS_ONLY = "thresholds"


def combine(decision: Decision | None, thresholds: Sequence[Gate]) -> Decision | None:
    """The run's one decision: the comparison's (``decision``, if any) and the accuracy thresholds together.

    A failed threshold fails a comparison that passed (its line starts ``gate failed`` and names the threshold);
    a comparison not decided stays not decided, its line naming the failed thresholds too. Without a comparison
    the thresholds alone decide (``mode`` :data:`THRESHOLDS_ONLY`); with neither there is nothing to decide.
    """
    gates = list(thresholds)
    failed = [gate for gate in gates if not gate.ok]
    if decision is None:
        if not gates:
            return None
        shown = failed or gates
        state: Literal["passed", "failed"] = "failed" if failed else "passed"
        line = f"gate {state}: " + "; ".join(gate.message for gate in shown)
        return Decision(state, line, THRESHOLDS_ONLY, thresholds=gates)
    combined = Decision(
        decision.state,
        decision.line,
        decision.mode,
        decision.prompts,
        decision.critical,
        thresholds=gates,
        comparison_state=decision.state,
    )
    if not failed:
        return combined
    tail = f"; {plural(len(failed), 'threshold')} failed: " + "; ".join(gate.message for gate in failed)
    if decision.state == "passed":
        head, body = decision.line.split(": ", 1)
        head = "gate failed (report)" if decision.mode == "report" else head.replace("gate passed", "gate failed", 1)
        combined.state = "failed"
        combined.line = f"{head}: {body}{tail}"
    else:
        combined.line = decision.line + tail
    return combined


def _prompts(comparison: Comparison) -> Sequence[str]:
    names = [name for name, (_, after) in comparison.accuracy.items() if after is not None]
    seen = {pair[1].prompt for pair in comparison.pairs}
    return [name for name in names if name in seen] + sorted(seen - set(names))


@dataclass
class RunStatus:
    """How the run ended, for the headline of every report: it must say what the exit status says."""

    ok: bool  # the exit status is 0
    interrupted: str | None = None  # why the run stopped early (Ctrl-C, SIGTERM, -x, --maxfail), if it did
    ran: int = 0  # cases that ran (judged, or found without a recording)
    selected: int = 0  # cases this run selected
    not_recorded: int = 0
    record_command: str | None = None
    decision: Decision | None = None
    #: A replay of every recorded model where some lack recordings: which, and the ways out (one line).
    partial_models: str | None = None
    #: ``--llm-baseline`` holds no results of a model of this run: which, and how to make one (one line).
    baseline_note: str | None = None

    def headline(self) -> str:
        """``"interrupted (…): 41 of 400 cases ran; the results are incomplete"``, or ``""`` for a complete run."""
        if self.interrupted is None:
            return ""
        return f"interrupted ({self.interrupted}): {self.ran} of {self.selected} cases ran; the results are incomplete"

    def recording_line(self) -> str:
        """The closing line about cases without a recording (``""`` when there are none)."""
        if not self.not_recorded:
            return ""
        cases = "case has" if self.not_recorded == 1 else "cases have"
        how = f"; record them with: {self.record_command}" if self.record_command else ""
        return f"{self.not_recorded} {cases} no recording (skipped, not judged){how}"

    def to_json(self) -> dict[str, object]:
        return {
            "complete": self.interrupted is None,
            "interrupted": self.interrupted,
            "selected": self.selected,
            "ran": self.ran,
        }
