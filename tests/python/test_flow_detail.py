"""outputs.flow_detail / --flow-detail (issue 21, point 3): the levels change
what flow records carry, never what is scored or alerted."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import LAB_DIR


@pytest.mark.parametrize("detail", ["full", "features", "summary"])
def test_levels_change_records_not_alerts(tmp_path, flowsentry_bin, detail):
    cap = LAB_DIR / "demo.pcap"
    runs = {}
    for d in ("full", detail):
        flows, alerts = tmp_path / f"{d}.flows.json", tmp_path / f"{d}.alerts.json"
        for f in (flows, alerts):
            f.unlink(missing_ok=True)
        subprocess.run([flowsentry_bin, "replay", str(cap), "--flows", str(flows), "--alerts", str(alerts),
                        "--flow-detail", d], check=True, capture_output=True, timeout=300)
        runs[d] = ([json.loads(l) for l in open(flows)], [json.loads(l) for l in open(alerts)])
    full_flows, full_alerts = runs["full"]
    flows, alerts = runs[detail]
    assert len(flows) == len(full_flows) > 100
    for r, f in zip(flows, full_flows):
        assert ("features" in r) == (detail != "summary")
        assert ("sequence" in r) == (detail == "full" and "sequence" in f)
        assert r["flow_id"] == f["flow_id"] and r["flow"] == f["flow"] and r.get("ml") == f.get("ml")
    strip = lambda a: {k: v for k, v in a.items() if k != "timestamp"}
    assert [strip(a) for a in alerts] == [strip(a) for a in full_alerts]
    if detail == "summary":
        size = lambda rs: sum(len(json.dumps(r)) for r in rs)
        assert size(flows) < size(full_flows) / 2


def test_bad_level_is_a_usage_error(flowsentry_bin):
    r = subprocess.run([flowsentry_bin, "replay", str(LAB_DIR / "demo.pcap"), "--flows", "/dev/null",
                        "--flow-detail", "tiny"], capture_output=True, text=True)
    assert r.returncode == 64 and "flow-detail" in r.stderr


def test_unscored_summary_records_are_the_features_records_less_features_and_behaviour(tmp_path, flowsentry_bin):
    # Unscored at summary detail the replay keeps no behaviour table (nothing
    # reads its values): every other field must be what the features level,
    # which keeps it, writes. Captures with logins, web attacks and beacons.
    for cap in ("attack-bruteforce-web.pcap", "behaviour-slow.pcap", "demo.pcap"):
        recs = {}
        for d in ("features", "summary"):
            flows = tmp_path / f"{cap}.{d}.json"
            subprocess.run([flowsentry_bin, "replay", str(LAB_DIR / cap), "--no-score", "--flows", str(flows),
                            "--flow-detail", d], check=True, capture_output=True, timeout=300)
            recs[d] = [json.loads(l) for l in open(flows)]
        assert len(recs["summary"]) == len(recs["features"]) > 100
        assert any("behaviour" in r for r in recs["features"])
        for s, f in zip(recs["summary"], recs["features"]):
            assert "behaviour" not in s and "features" not in s
            assert s == {k: v for k, v in f.items() if k not in ("features", "behaviour")}
