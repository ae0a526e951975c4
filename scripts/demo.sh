#!/usr/bin/env bash
# Installs what is missing, builds FlowSentry in release mode, and replays the
# bundled demo capture with the bundled model: flow records to
# out/demo-flows.json, alerts to out/demo-alerts.json, then shows the alerts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --static-swift-stdlib --product flowsentry
capture=captures/demo.pcap
[ -f "$capture" ] || capture=$(ls captures/*.pcap | head -1)
mkdir -p out
rm -f out/demo-flows.json out/demo-alerts.json   # the sensor appends, never truncates
.build/release/flowsentry replay "$capture" --flows out/demo-flows.json --alerts out/demo-alerts.json
echo
echo "$(wc -l < out/demo-flows.json) flow records in out/demo-flows.json, $(wc -l < out/demo-alerts.json) alerts in out/demo-alerts.json:"
.build/release/flowsentry alerts out/demo-alerts.json
