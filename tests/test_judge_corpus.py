"""The judge against the blind, hand-labelled corpus of tests/data/judge (see its README).

These are floors, not targets: the figures the README reports, measured by bench/judge_agreement.py, less a
point of slack. A change of the judge that loses agreement or passes a wrong answer on any set fails here; one
that gains should raise the floor in the same commit. Only totals are asserted, so a failure says which set
slid, never which sealed answer.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "judge"

# set: (minimum agreement, most false passes, most false passes on labels nobody marked doubtful)
FLOORS = {
    "tune/styles": (0.99, 0, 0),
    # Lowered in session 6 by the coordinator's convention "X and Y are both Z" (Z no option) = equal, which both
    # labellers of this half read unclear on 12 rows (94.5% before; equal-104-1, "6.200 and 6.2 are both 18",
    # becomes a false pass); see tests/data/judge/README.md
    # Session 8: convention c relabels shared-prefix-203-4::stepwise (unclear): 92.7% -> 93.0% (357/384, 1)
    # Session 9 (judge8, "both are equal to 23" said of the options): 93.0% -> 93.2% (1)
    "tune/smollm2": (0.93, 1, 1),
    # round-1/2 sealed sets, measured many times and retired to tuning (tests/data/judge/README.md)
    "retired/styles": (0.98, 0, 0),  # session 7: 97.7% -> 98.8%
    # session 6: 85.0% (3 false passes) -> 87.9% (0); session 7: 88.4%; session 8: 87.9% -> 88.4% ("these three")
    "retired/smollm2": (0.88, 0, 0),
    "retired/fresh": (0.99, 0, 0),  # session 6: 96.6% (3) -> 99.0% (0); session 9 (judge8, fresh-053): 99.5%
    # written and labelled blind on 2026-12-02 by others, tuned on since (their once-sealed halves, now retired, below)
    # Lowered in session 7 by the coordinator's conventions a (a tie of the largest between options of one value,
    # stated as the answer, is equal: s2c-052 becomes a false pass against its doubtful label unclear) and b (a
    # conclusion contradicting the verdict just before it is unclear: s2c-195, s2c-235): 97.3% (1) -> 94.7% (2)
    # Session 8: the rows contradicting conventions a/b relabelled to them (README): 94.7% (2) -> 98.7% (0)
    # Session 8, the judge: 98.7% -> 99.3% (s2c-211, "否。" replying to the case's question)
    "tune/styles2": (0.99, 0, 0),
    "tune/live2": (0.945, 0, 0),
    # corpus3, written and labelled blind elsewhere (2026-12-02): its tuning half, tuned on (94.6% before, 98.0% after)
    # session 7: 99.3% (convention b reads s3-022 and s3-209 as their labels do); session 8: 100% (s3-139, "Smaller.")
    "tune/styles3": (0.995, 0, 0),
    # real SmolLM2 answers (82.2% before, 88.9% after; 97.8% after session 6; 95.6% in session 7 by convention b alone:
    # r3-021, r3-086 conclude against the verdict stated first, and their labels take the conclusion)
    # Session 8: r3-021, r3-086 relabelled unclear (convention b): 95.6% -> 97.8%
    "tune/live3": (0.975, 0, 0),
    # corpus4's tuning half (written blind elsewhere, 2026-12-02): 87.0% (1 false pass) on arrival, 95.0% (0) after
    # lowered in session 7 by conventions a (s4-054, a false pass against its doubtful label unclear) and b (s4-029,
    # s4-273, s4-316 conclude against the verdict just before, their labels take the conclusion): 95.0% (0) -> 93.2% (1)
    # Session 8: s4-054 (a), s4-029, s4-273, s4-316 (b) relabelled to the conventions: 93.2% (1) -> 95.7% (0)
    # Session 8, the judge: 95.7% -> 97.5% ("X是Y的10倍", an apology correcting, "in the middle" by elimination)
    "tune/styles4": (0.975, 0, 0),
    # corpus4's real SmolLM2 answers (two labellers): 90.0% on arrival (coordinator), 92.3% at its arrival here, 94.6%
    "tune/live4": (0.935, 0, 0),
    # corpus5's tuning half (written blind elsewhere, 2026-12-02, two labellers), measured on arrival before any change
    # for it: 92.9% (1 false pass) with the judge of main 0f700e7, 94.9% (0) with this session's conventions a-e;
    # 99.4% (0) after the rules its misses showed
    "tune/styles5": (0.99, 0, 0),
    # corpus6's tuning half (handed out by the coordinator in session 8, written blind elsewhere by corpus5's
    # conventions; copied unchanged): measured on arrival before any change for it: 87.3% (0 false passes) on this
    # branch, 85.8% (0) with main 3f66313; after: 94.0% (0)
    # Session 9 (judge8: decimal commas, French/Spanish/Russian/Japanese words, rank tables): 94.0% (0) -> 99.3% (0)
    "tune/styles6": (0.99, 0, 0),
    # their once-sealed halves, measured in totals at the end of that session, retired to tuning since
    # session 6: 94.0% -> 96.0%; lowered in session 7 by convention b alone (s2c-029, s2c-137): 95.3%
    # Session 8: s2c-199 (a), s2c-029 (b) relabelled to the conventions: 95.3% (1) -> 96.7% (0)
    "retired/styles2": (0.97, 0, 0),  # session 8, the judge: 96.7% -> 97.3% (s2c-273, "Yes.")
    "retired/live2": (0.89, 0, 0),  # session 6: 84.1% (1) -> 88.6% (0); session 7: 89.8%
    # corpus3's sealed halves and fresh3 (240 written answers, sealed whole), measured only by the coordinator, before
    # and after the tuning on corpus3's other half: styles3 93.4% -> 96.0%, live3 87.8% -> 88.9% (finish_reason
    # passed), fresh3 92.5% (2 false passes) -> 93.3% (1)
    # session 7 (coordinator, totals only, after corpus5's tuning): styles3 96.7% -> 98.0% (0), live3 91.1%, fresh3
    # 93.3% (1 false pass) -> 95.0% (0)
    "sealed/styles3": (0.97, 0, 0),
    "sealed/live3": (0.9, 0, 0),
    "sealed/fresh3": (0.94, 0, 0),
    # corpus4's sealed halves and fresh4 (240 typical written answers, sealed whole), measured only by the coordinator
    # (session 6), on main 4cb1b4b -> after the tuning on corpus4's other halves: styles4 84.9% (1 false pass) ->
    # 85.5% (1), live4 87.7% (0) -> 90.0% (0), fresh4 96.7% (0) -> 96.7% (0)
    # session 7 (after corpus5's tuning): styles4 85.5% (1) -> 86.2% (0), live4 90.0% (0), fresh4 96.7% -> 97.1% (0)
    "sealed/styles4": (0.855, 0, 0),
    "sealed/live4": (0.895, 0, 0),
    "sealed/fresh4": (0.965, 0, 0),
    # corpus5 (session 7): styles5's sealed half (split5.py, seed 20261207) and fresh5 (240 typical written answers,
    # sealed whole), both labelled again blind by a second person; measured only by the coordinator, on main 0f700e7
    # -> after the tuning on styles5's other half: styles5 93.8% (0) -> 95.1% (0), fresh5 94.2% (2) -> 97.1% (0)
    "sealed/styles5": (0.945, 0, 0),
    "sealed/fresh5": (0.965, 0, 0),
    # corpus6 (session 8): styles6's sealed half (split6.py, seed 20261208), fresh6 (240 typical written answers) and
    # live6 (300 real SmolLM2-135M answers, two labellers), sealed whole; measured only by the coordinator, on main
    # 3f66313 -> after the session's judge (tuned on styles6's other half): styles6 87.7% (0) -> 89.7% (0), fresh6
    # 96.2% (0) -> 96.2% (0), live6 91.3% (2 false passes, 1 on a label not doubtful) -> 91.3% (2, 1): live6's two
    # false passes are open (issue 12 asks for none)
    "sealed/styles6": (0.895, 0, 0),
    "sealed/fresh6": (0.96, 0, 0),
    # corpus7 (session 9), each sealed WHOLE (split7.py), two labellers each: styles7 (280 written, hard forms), fresh7
    # (240 typical written) and live7 (300 real SmolLM2-135M answers); measured only by the coordinator, on main
    # 5bb820a -> after the session's judge (tuned on tune/ and retired/ only): styles7 88.9% (1 false pass) -> 90.0%
    # (1), fresh7 94.6% (1) -> 94.6% (1), live7 88.7% (2) -> 89.0% (2); every false pass on a label marked doubtful.
    # They miss issue 12's goal (97%, none). Retired to tuning by the coordinator at the start of session 10 after
    # their two measurements (before and after session 9): their misses may be read; corpus8 is sealed in their place.
    "retired/styles7": (0.895, 1, 0),
    "retired/fresh7": (0.945, 1, 0),
    # corpus8 (session 10), sealed WHOLE (split8.py): fresh8 (240 typical written answers, another writer, 49 family
    # groups) and styles8 (280 hard forms by another new writer, 72 family groups);
    # measured only by the coordinator, on main 95c683e -> after the session's judge: fresh8 97.9% (0) -> 97.9% (0),
    # styles8 91.8% (0) -> 91.8% (0)
    "sealed/fresh8": (0.975, 0, 0),
    "sealed/styles8": (0.915, 0, 0),
    # Session 10: the two rules of v21-* (an option said not to be another; "among these"): 89.0% -> 89.7% (2, 0)
    "retired/live7": (0.895, 2, 0),
    # retired to tuning by the coordinator at the start of session 9 after its two measurements (before and after
    # session 8): its two false passes may be read; corpus7's live7 (new real answers) is sealed in its place
    # Session 9 (judge8): 91.3% (2 false passes, 1 on a label not doubtful) -> 93.7% (0, 0)
    "retired/live6": (0.935, 0, 0),
}
# sets smaller than the 150 answers every other set has
SIZES = {
    "tune/live2": 88,
    "retired/live2": 88,
    "tune/styles3": 149,
    "tune/live3": 90,
    "tune/styles4": 161,
    "tune/live4": 130,
    "tune/styles5": 156,
    "tune/styles6": 134,
    "sealed/styles3": 151,
    "sealed/live3": 90,
    "sealed/styles4": 159,
    "sealed/live4": 130,
    "sealed/styles5": 144,
    "sealed/styles6": 146,
}


# set with a second labeller's file: (minimum agreement on the rows both labellers agree on, most false passes there)
CONSENSUS_FLOORS = {
    # lowered by the "both Z" convention (see FLOORS): 97.3% (0) before, 93.5% (1) after
    "tune/smollm2": (0.93, 1),
    "tune/live4": (0.935, 0),  # labellers agree on 129 of 130
    # labellers agree on 153 of 156 (kappa 0.974); on arrival 94.8% (1 false pass) on main 0f700e7, 95.4% (0) here
    "tune/styles5": (0.99, 0),  # 99.3% (0) after
    "sealed/styles5": (0.945, 0),  # labellers agree on 142 of 144; 95.1% (0) after (main 0f700e7: 93.8%)
    "sealed/fresh5": (0.965, 0),  # labellers agree on all 240; 97.1% (0) after (main 0f700e7: 94.2%, 2 false passes)
    # lowered by the "both Z" convention (see FLOORS): 91.0% (1 false pass) before, 88.7% (0) after
    "retired/smollm2": (0.88, 0),
    "sealed/live4": (0.925, 0),  # labellers agree on 126 of 130; 90.5% (0) on main 4cb1b4b -> 92.9% (0)
    # corpus6 (session 8), main 3f66313 -> after: labellers agree on 143 of 146 (kappa 0.971): 89.5% -> 90.2% (0);
    # on all 240 of fresh6: 96.2% -> 96.2% (0); on 292 of live6's 300 (kappa 0.942): 91.8% (2) -> 91.8% (2)
    "sealed/styles6": (0.9, 0),
    "sealed/fresh6": (0.96, 0),
    # corpus7 (session 9), main 5bb820a -> after: styles7's labellers agree on 278 of 280 (kappa 0.990): 88.8% (1) ->
    # 89.9% (1); fresh7's on 239 of 240 (kappa 0.994): 94.6% (1) -> 94.6% (1); live7's on 295 of 300 (kappa 0.960):
    # 89.2% (1) -> 89.5% (1)
    "retired/styles7": (0.895, 1),  # retired in session 10 (see FLOORS)
    "retired/fresh7": (0.945, 1),
    "retired/live7": (0.89, 1),
    "retired/live6": (0.94, 0),  # retired in session 9 (see FLOORS); judge8: 91.8% (2) -> 94.2% (0)
}
SECOND = DATA / "second"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("judge_agreement", ROOT / "bench" / "judge_agreement.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("judge_agreement", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_agreement_with_blind_labels_keeps_its_floor(name: str) -> None:
    bench = _bench()
    entries = bench.load_set(DATA / f"{name}.yaml")
    assert len(entries) >= SIZES.get(name, 150)
    minimum, most_false_passes, most_sure_false_passes = FLOORS[name]
    total, _, _ = bench.measure(entries, without_doubtful=False)
    sure, _, _ = bench.measure(entries, without_doubtful=True)
    assert total.agree / total.total >= minimum, total.line(name)
    assert total.false_pass <= most_false_passes, total.line(name)
    assert sure.false_pass <= most_sure_false_passes, sure.line(name + " (no doubtful)")


def test_the_sets_are_what_the_readme_says() -> None:
    bench = _bench()
    sizes = {name: len(bench.load_set(DATA / f"{name}.yaml")) for name in FLOORS}
    assert sizes["tune/styles"] + sizes["retired/styles"] == 500
    assert sizes["tune/smollm2"] + sizes["retired/smollm2"] == 591
    assert sizes["retired/fresh"] == 208
    assert sizes["tune/styles2"] == 150
    assert sizes["tune/live2"] == 88
    assert sizes["tune/styles3"] == 149
    assert sizes["tune/live3"] == 90
    assert sizes["tune/styles2"] + sizes["retired/styles2"] == 300
    assert sizes["tune/live2"] + sizes["retired/live2"] == 176
    assert sizes["tune/styles3"] + sizes["sealed/styles3"] == 300
    assert sizes["tune/live3"] + sizes["sealed/live3"] == 180
    assert sizes["sealed/fresh3"] == 240
    assert sizes["tune/styles4"] == 161
    assert sizes["tune/live4"] == 130
    assert sizes["tune/styles4"] + sizes["sealed/styles4"] == 320
    assert sizes["tune/live4"] + sizes["sealed/live4"] == 260
    assert sizes["sealed/fresh4"] == 240
    assert sizes["tune/styles5"] + sizes["sealed/styles5"] == 300
    assert sizes["sealed/fresh5"] == 240
    assert sizes["tune/styles5"] == 156
    assert sizes["tune/styles6"] + sizes["sealed/styles6"] == 280
    assert sizes["sealed/fresh6"] == 240
    assert sizes["retired/live6"] == 300
    assert (sizes["retired/styles7"], sizes["retired/fresh7"], sizes["retired/live7"]) == (280, 240, 300)
    assert (sizes["sealed/fresh8"], sizes["sealed/styles8"]) == (240, 280)
    for name in FLOORS:
        for entry in bench.load_set(DATA / f"{name}.yaml"):
            assert entry["label"] in [*entry["numbers"], "equal", "unclear"], entry["id"]


@pytest.mark.parametrize("name", sorted(CONSENSUS_FLOORS))
def test_agreement_on_the_labellers_consensus_keeps_its_floor(name: str) -> None:
    bench = _bench()
    entries = bench.load_set(DATA / f"{name}.yaml")
    second = bench.load_second(SECOND, name)
    assert second is not None, f"no second labels for {name}"
    assert {entry["id"] for entry in entries} == set(second), "the second labeller labelled every row"
    minimum, most_false_passes = CONSENSUS_FLOORS[name]
    labellers = bench.compare_labellers(entries, second)
    consensus = labellers.consensus
    assert labellers.rows == len(entries)
    assert consensus.total == labellers.labels_agree > len(entries) // 2
    assert consensus.agree / consensus.total >= minimum, consensus.line(name + " (consensus)")
    assert consensus.false_pass <= most_false_passes, consensus.line(name + " (consensus)")


def test_second_labels_are_rows_of_their_sets() -> None:
    bench = _bench()
    files = sorted(SECOND.glob("*/*.yaml"))
    assert files, "no second labels"
    for path in files:
        name = f"{path.parent.name}/{path.stem}"
        entries = {entry["id"]: entry for entry in bench.load_set(DATA / f"{name}.yaml")}
        for row in bench.load_set(path):
            assert row["id"] in entries, f"{path}: {row['id']}"
            assert str(row["label"]) in [*entries[row["id"]]["numbers"], "equal", "unclear"], f"{path}: {row['id']}"
