"""The leave-one-group-out protocol (scripts/evaluate_logo.py): folds never
put a flow of the left-out group on the training side, a leaking split is
refused, and the Wilson intervals are right. No training here: the folds are
checked as built, and the one full run is documented in docs/model-card.md."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import evaluate_logo as logo  # noqa: E402

CAPTURES = ROOT / "captures"
SMALL = ["benign-1", "demo", "mixed-2"]


def pool(names=SMALL):
    return [(n, str(CAPTURES / f"{n}.pcap"), str(CAPTURES / f"{n}.labels.csv")) for n in names]


def test_capture_folds_leave_each_capture_out_entirely():
    folds = logo.make_folds(pool(), "capture")
    assert [f.name for f in folds] == SMALL
    for f in folds:
        logo.check_no_leak(f)
        train_files = {p for p, _ in f.train}
        assert str(CAPTURES / f"{f.name}.pcap") not in train_files
        assert len(f.train) == len(SMALL) - 1


def test_scenario_folds_take_the_scenario_out_of_every_training_capture():
    folds = {f.name: f for f in logo.make_folds(pool(), "scenario")}
    # hydra-ssh runs in demo only, c2 in both demo and mixed-2
    assert {"hydra-ssh", "c2", "background"} <= set(folds)
    c2 = folds["c2"]
    logo.check_no_leak(c2)
    assert {Path(p).stem for p, _ in c2.test} == {"demo", "mixed-2"}
    assert all(r["scenario"] != "c2" for _, rows in c2.train for r in rows)
    assert sum(len(rows) for _, rows in c2.test) == sum(
        1 for _, _, lab in pool() for r in logo.read_rows(lab) if r["scenario"] == "c2")


def test_a_split_with_a_left_out_row_in_training_is_refused():
    f = logo.make_folds(pool(), "scenario", only={"c2"})[0]
    pcap, rows = f.test[0]
    # put one left-out row back on the training side
    f.train = [(p, r + ([rows[0]] if p == pcap else [])) for p, r in f.train]
    with pytest.raises(logo.LeakError, match="1 left-out flows"):
        logo.check_no_leak(f)


def test_the_left_out_capture_under_another_name_is_refused(tmp_path):
    copy = tmp_path / "demo-copy.pcap"
    shutil.copy(CAPTURES / "demo.pcap", copy)
    shutil.copy(CAPTURES / "demo.labels.csv", tmp_path / "demo-copy.labels.csv")
    p = pool() + [("demo-copy", str(copy), str(tmp_path / "demo-copy.labels.csv"))]
    fold = logo.make_folds(p, "capture", only={"demo"})[0]
    with pytest.raises(logo.LeakError, match="demo-copy"):
        logo.check_no_leak(fold)


def test_wilson_intervals_match_newcombes_table():
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score interval)
    for k, n, lo, hi in [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                         (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)]:
        a, b = logo.wilson(k, n)
        assert (round(a, 4), round(b, 4)) == (lo, hi)
    assert logo.wilson(0, 0) == (0.0, 1.0)


def test_the_recipe_is_read_from_train_recipe_sh():
    names, flags = logo.recipe()
    assert "benign-1" in names and "mixed-3" not in names and "demo" not in names
    assert flags[flags.index("--seed") + 1].isdigit()
    assert all((CAPTURES / f"{n}.pcap").exists() for n in names)


def test_named_right_counts_the_class_each_alert_names():
    """A flow alerted by a behaviour verdict is named by that verdict's class; a
    gated model verdict names nothing; a flow over the threshold under another
    class is flagged but not named right."""
    flows = [
        # (label, models before the gate, after it, flagged in all, class named)
        ("bruteforce", False, False, True, "bruteforce"),  # a refused-login series
        ("bruteforce", True, False, False, "bruteforce"),  # gated, nothing alerted
        ("bruteforce", True, True, True, "webattack"),     # alerted under another class
        ("bruteforce", True, True, True, "bruteforce"),
    ]
    t = logo.tally(flows)["bruteforce"]
    assert (t["flows"], t["ungated"], t["models"], t["with_behaviour"], t["named"]) == (4, 3, 2, 3, 2)
