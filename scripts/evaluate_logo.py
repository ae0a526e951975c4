#!/usr/bin/env python3
"""Leave-one-group-out evaluation of the default training recipe.

For every group of the training pool (scripts/train-recipe.sh), a bundle is
trained with the recipe on every other group and scored on the group left
out; nothing of the left-out group is ever trained on. A group is a capture
(`--group-by capture`: a lab run with its own addresses, hosts, netem and,
for the broad benign captures, its own randomisation) or a scenario across
all captures (`--group-by scenario`: a tool, e.g. masscan or hydra-ssh, whose
rows are taken out of every capture's training labels). Flows are never split
at random.

Before each fold trains, `check_no_leak` verifies that no labelled flow
(5-tuple and first packet time) of the left-out group is on the training
side, whatever file it came from; a leaking split stops the run.

Reported, pooled over folds and per fold: per class the left-out flows, how
many the fold's bundle put over its threshold (the models alone before and after the evidence gate, and models
or a behaviour verdict), how many it named with the right class, and the
benign false-positive rate, each with a Wilson 95 % interval.

Usage:
  scripts/evaluate_logo.py [--group-by capture|scenario] [--only G1,G2] [--jobs N]
                           [--keep DIR] [--json OUT] [--bin PATH]
Each fold trains once (about 1-2 minutes on this machine's kind); all folds of
the default pool take about 15-25 minutes with --jobs 2.
"""
import argparse
import collections
import concurrent.futures
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import evaluate_lab  # noqa: E402  (replay + label matching)


class LeakError(Exception):
    """A left-out group's capture or flow is also on the training side."""


def recipe():
    """(training pool capture names, train flags) from scripts/train-recipe.sh."""
    out = subprocess.run(["bash", "-c", f'source "{HERE}/train-recipe.sh"; '
                          'printf "%s\\n" "${train_captures[@]}"; echo --; printf "%s\\n" "${train_flags[@]}"'],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    cut = out.index("--")
    return [x for x in out[:cut] if x], [x for x in out[cut + 1:] if x]


def wilson(k, n, z=1.959963984540054):
    """Wilson score interval for k successes of n (Wilson 1927); (lo, hi), or (0, 1) when n == 0."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def flow_key(row):
    """A labelled flow: unordered 5-tuple and its first packet time (µs)."""
    a = (row["src_ip"], int(row["src_port"] or 0))
    b = (row["dst_ip"], int(row["dst_port"] or 0))
    return (int(row["proto"]),) + ((a, b) if a <= b else (b, a)) + (round(float(row["first_ts"]) * 1e6),)


def read_rows(labels):
    with open(labels, newline="") as f:
        return list(csv.DictReader(f))


class Fold:
    """One split: training (capture, label rows) pairs and the left-out (capture, label rows) pairs."""

    def __init__(self, name, train, test):
        self.name = name
        self.train = train    # [(pcap, rows)]
        self.test = test      # [(pcap, rows)]


def check_no_leak(fold):
    """Raises LeakError when a labelled flow of the left-out group is also a training row.

    `flowsentry train` learns only flows that match a label row, so the
    training side is exactly its label rows. A flow is its unordered 5-tuple
    and first packet time, so the same capture under another name, or the
    same rows in another group, is caught as well as a shared row."""
    train_keys = {}
    for pcap, rows in fold.train:
        for r in rows:
            train_keys.setdefault(flow_key(r), pcap)
    leaked = [(flow_key(r), pcap) for pcap, rows in fold.test for r in rows if flow_key(r) in train_keys]
    if leaked:
        key, pcap = leaked[0]
        raise LeakError(f"fold {fold.name}: {len(leaked)} left-out flows are also training rows, "
                        f"e.g. {key} of {pcap} in {train_keys[key]}")


def make_folds(pool, group_by, only=()):
    """pool: [(name, pcap, labels)]. Returns [Fold]."""
    data = [(name, pcap, read_rows(labels)) for name, pcap, labels in pool]
    folds = []
    if group_by == "capture":
        for name, pcap, rows in data:
            if only and name not in only:
                continue
            train = [(p, r) for n, p, r in data if n != name]
            folds.append(Fold(name, train, [(pcap, rows)]))
    else:
        scenarios = sorted({(r["label"], r["scenario"]) for _, _, rows in data for r in rows})
        for label, scen in scenarios:
            if only and scen not in only:
                continue
            train, test = [], []
            for _, p, rows in data:
                keep = [r for r in rows if r["scenario"] != scen]
                out = [r for r in rows if r["scenario"] == scen]
                train.append((p, keep))
                if out:
                    test.append((p, out))
            folds.append(Fold(scen, train, test))
    return folds


def write_labels(rows, path):
    cols = list(rows[0].keys()) if rows else ["src_ip", "src_port", "dst_ip", "dst_port", "proto", "first_ts",
                                              "last_ts", "packets", "bytes", "label", "scenario"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def run_fold(fold, flags, binary, workdir, reuse=False):
    """Trains the fold's bundle and scores its left-out flows. Returns one
    tuple per matched left-out flow: (label, the models' verdict over the
    threshold before the evidence gate, after it, over the threshold in all
    (models or a behaviour verdict), the class the record names: the
    models' or, for a behaviour verdict, its class)."""
    check_no_leak(fold)
    d = os.path.join(workdir, fold.name)
    os.makedirs(d, exist_ok=True)
    caps, labs = [], []
    for i, (p, rows) in enumerate(fold.train):
        if not rows:
            continue
        lp = os.path.join(d, f"train-{i}.labels.csv")
        write_labels(rows, lp)
        caps.append(p)
        labs.append(lp)
    bundle = os.path.join(d, "fold.fsb")
    cmd = [binary, "train", "--captures", *caps, "--labels", *labs, "--out", bundle, *flags,
           "--model-version", f"logo-{fold.name}"]
    p = subprocess.run(cmd, capture_output=True, text=True) if not (reuse and os.path.exists(bundle)) else None
    if p is not None and p.returncode != 0:
        raise RuntimeError(f"fold {fold.name}: train failed: {p.stderr.strip()[-500:]}")
    flows = []
    for pcap, rows in fold.test:
        index = collections.defaultdict(list)
        for r in rows:
            key = (r["src_ip"], int(r["src_port"] or 0), r["dst_ip"], int(r["dst_port"] or 0), int(r["proto"]))
            index[key].append((float(r["first_ts"]), float(r["last_ts"]), r["label"], r["scenario"]))
        for f in evaluate_lab.score(binary, bundle, pcap):
            m = evaluate_lab.match(index, f)
            if m is None:
                continue
            ml = f.get("ml", {})
            gated = "unsupported_class" in ml
            by_models = ml.get("source") != "behaviour" and ml.get("score", 0) >= ml.get("threshold", 1)
            cls = ml.get("unsupported_class") or ml.get("class")
            flows.append((m[0], by_models or gated, by_models and not gated, evaluate_lab.over_threshold(ml), cls))
    return flows


def tally(flows):
    """Per class: flows; over the threshold by the models before and after
    the evidence gate; in all (after the gate, or a behaviour verdict);
    named right as alerted (the models' class after the gate, or the
    behaviour verdict's class)."""
    out = collections.defaultdict(lambda: {"flows": 0, "ungated": 0, "models": 0, "with_behaviour": 0, "named": 0})
    for label, ungated, kept, over_all, cls in flows:
        t = out[label]
        t["flows"] += 1
        t["ungated"] += ungated
        t["models"] += kept
        t["with_behaviour"] += over_all
        t["named"] += over_all and cls == label
    return dict(out)


def summarise(results):
    pooled = collections.defaultdict(collections.Counter)
    for flows in results.values():
        for label, c in tally(flows).items():
            pooled[label].update(c)
    rows = []
    for label in sorted(pooled, key=lambda x: (x != "benign", x)):
        c = pooled[label]
        n = c["flows"]
        k = c["models"]
        lo, hi = wilson(k, n)
        kb = c["with_behaviour"]
        lob, hib = wilson(kb, n)
        rows.append({"class": label, "flows": n, "ungated": c["ungated"], "models": k, "models_rate": k / n if n else 0,
                     "models_ci": [lo, hi], "with_behaviour": kb, "with_behaviour_rate": kb / n if n else 0,
                     "with_behaviour_ci": [lob, hib], "named": c["named"]})
    return rows


def print_table(results, rows):
    print("| fold | class | flows | models, no gate | models | with behaviour | named right |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for fold, flows in results.items():
        for label, c in sorted(tally(flows).items()):
            print(f"| {fold} | {label} | {c['flows']} | {c['ungated']} | {c['models']} | {c['with_behaviour']} | {c['named']} |")
    print()
    print("Pooled over folds (benign: false-positive rate; attacks: recall), Wilson 95 % intervals:")
    print("| class | flows | models, no gate | models | rate [95 % CI] | with behaviour | rate [95 % CI] | named right |")
    print("|---|---:|---:|---:|---|---:|---|---:|")
    for r in rows:
        print(f"| {r['class']} | {r['flows']} | {r['ungated']} | {r['models']} | {r['models_rate']:.4f} "
              f"[{r['models_ci'][0]:.4f}, {r['models_ci'][1]:.4f}] | {r['with_behaviour']} | "
              f"{r['with_behaviour_rate']:.4f} [{r['with_behaviour_ci'][0]:.4f}, {r['with_behaviour_ci'][1]:.4f}] | "
              f"{r['named']} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--group-by", choices=["capture", "scenario"], default="capture")
    ap.add_argument("--only", default="", help="comma list of groups to leave out (default: every group)")
    ap.add_argument("--captures", default="", help="comma list of pool captures (default: the recipe's pool)")
    ap.add_argument("--jobs", type=int, default=1, help="folds trained at once")
    ap.add_argument("--keep", help="directory for the fold bundles (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="score with the bundles already in --keep DIR (same "
                                                          "pool, recipe and flags) instead of training them again")
    ap.add_argument("--json", help="write the per-fold and pooled counts here")
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "flowsentry"))
    ap.add_argument("--flags", default="", help="extra train options (after the recipe's)")
    a = ap.parse_args()
    names, flags = recipe()
    flags += a.flags.split()
    if a.captures:
        names = [x for x in a.captures.split(",") if x]
    pool = [(n, os.path.join(ROOT, "captures", n + ".pcap"), os.path.join(ROOT, "captures", n + ".labels.csv"))
            for n in names]
    only = {x for x in a.only.split(",") if x}
    folds = make_folds(pool, a.group_by, only)
    if not folds:
        sys.exit(f"no group matches --only {a.only}")
    workdir = a.keep or tempfile.mkdtemp(prefix="fs-logo-")
    os.makedirs(workdir, exist_ok=True)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        futures = {ex.submit(run_fold, f, flags, a.bin, workdir, a.reuse and bool(a.keep)): f.name for f in folds}
        for fut in concurrent.futures.as_completed(futures):
            results[futures[fut]] = fut.result()
            print(f"fold {futures[fut]} done", file=sys.stderr, flush=True)
    results = {f.name: results[f.name] for f in folds}
    rows = summarise(results)
    print_table(results, rows)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"group_by": a.group_by, "flags": flags, "pooled": rows,
                       "folds": {k: tally(v) for k, v in results.items()}, "flows": results}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
