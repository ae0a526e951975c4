"""The default bundle on real captures from elsewhere (../shared/captures-public),
labelled by their origin in MANIFEST.tsv, not by us (issue 4, point 10):
benign flows flagged stay at or below 1 % without re-baselining, and the
volumetric attacks and the DNS tunnel raise alerts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import PUBLIC_DIR, REPO

pytestmark = pytest.mark.skipif(not (PUBLIC_DIR / "MANIFEST.tsv").exists(),
                                reason="../shared/captures-public not present")


@pytest.fixture(scope="module")
def evaluation():
    binary = os.environ.get("FLOWSENTRY_BIN", str(REPO / ".build" / "release" / "flowsentry"))
    if not os.path.exists(binary):
        pytest.skip("flowsentry binary not built")
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "evaluate_public.py"), "--bin", binary, "--json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_benign_flows_flagged_at_most_one_percent(evaluation):
    s = evaluation["summary"]
    assert s["benign_flows"] >= 20
    assert s["benign_flagged"] <= 0.01 * s["benign_flows"], evaluation["captures"]


@pytest.mark.parametrize("capture", ["atk_ddos_synflood_spoofed.pcap", "atk_scan_masscan_tcp_0-1000.pcap",
                                     "atk_dnstunnel_iodine.pcap"])
def test_floods_scans_and_tunnels_from_elsewhere_are_flagged(evaluation, capture):
    row = next(c for c in evaluation["captures"] if c["capture"] == capture)
    assert row["flows"] > 0
    assert row["flagged"] >= 0.9 * row["flows"], row
