#!/usr/bin/env bash
# Re-makes the default bundle rules/flowsentry.fsb from the lab captures with
# the recipe in scripts/train-recipe.sh (training pool and options).
# Usage: scripts/train-default.sh [MODEL_VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/train-recipe.sh
swift build -c release --static-swift-stdlib --product flowsentry >/dev/null
caps=(); labs=()
for c in "${train_captures[@]}"; do caps+=("captures/$c.pcap"); labs+=("captures/$c.labels.csv"); done
.build/release/flowsentry train --captures "${caps[@]}" --labels "${labs[@]}" \
  --out rules/flowsentry.fsb "${train_flags[@]}" --model-version "${1:-flowsentry-ml-1.5}"
