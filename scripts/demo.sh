#!/usr/bin/env bash
# Installs what is missing, builds FlowSentry in release mode, and replays the
# bundled demo capture, writing flow records to out/demo-flows.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product flowsentry
capture=captures/demo.pcap
[ -f "$capture" ] || capture=$(ls captures/*.pcap | head -1)
mkdir -p out
.build/release/flowsentry replay "$capture" --flows out/demo-flows.json
echo "flow records: out/demo-flows.json ($(wc -l < out/demo-flows.json) flows); first one:"
head -1 out/demo-flows.json | cut -c1-400
