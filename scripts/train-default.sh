#!/usr/bin/env bash
# Re-makes the default bundle rules/flowsentry.fsb from the lab captures.
# mixed-3 and demo are held out entirely (docs/model-card.md evaluates on them).
# Seed 11: of seeds 7, 11 and 23, the best validation recall at FPR 1e-3 (docs/model-card.md, 1.3 and 1.4).
# --behaviour-dropout 0.5: the beh_* inputs are hidden on half the training rows (docs/features.md).
# --max-per-class 12000: attack-udpflood adds ~5,000 dos training flows; under the
# default cap of 6,000 the dos sample dropped most slowloris flows (docs/model-card.md).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product flowsentry >/dev/null
train=(attack-bruteforce-web attack-dos attack-scan attack-tunnel-c2 attack-udpflood benign-1 benign-2 benign-3 mixed-1 mixed-2)
caps=(); labs=()
for c in "${train[@]}"; do caps+=("captures/$c.pcap"); labs+=("captures/$c.labels.csv"); done
.build/release/flowsentry train --captures "${caps[@]}" --labels "${labs[@]}" \
  --out rules/flowsentry.fsb --epochs 40 --patience 8 --seed 11 --max-per-class 12000 --max-novelty-weight 0 --behaviour-dropout 0.5 --model-version "${1:-flowsentry-ml-1.4}"
