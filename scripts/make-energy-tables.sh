#!/usr/bin/env bash
# Energy tables of the full-size Spiking-DeepLab and Spiking-FCN (64x64, width 1) from the spike rates of
# trained checkpoints (the paper's Tables 4 / 5 layout, the formula per layer): src/train/README.md quotes them.
#
#   bash scripts/make-energy-tables.sh            (~35 min on 2 CPU cores: wasm backend + ORT kernels)
#
# 1. 12 synthetic urban sequences x 10 s (seed 2024, 128x96: the first 12 of make-demo-model.sh's 36; train
#    split = the first 9) and make-demo-model.sh's validation set (shared, made once);
# 2. short BPTT runs of both full-size models (scripts/energy-deeplab.json, ~15 min, and
#    scripts/energy-fcn.json, ~20 min): frames mode, T 4, batch 4, class-weighted cross-entropy;
# 3. evstream report on the DeepLab run: its evaluation on the validation set and --energy-full with both
#    trained checkpoints (--energy-checkpoint): rates measured on 32 validation samples.
# The checkpoints (16 MB / 54 MB) stay in the work directory; they are not part of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
EV="node bin/evstream.js"
WORK="${DEMO_WORK:-${TMPDIR:-/tmp}/evstream-demo-model}"
mkdir -p "$WORK"
[ -f "$WORK/sim-urban/manifest.json" ] || $EV simulate --seed 2024 --sequences 12 --seconds 10 --size 128x96 --scene urban --out "$WORK/sim-urban"
[ -f "$WORK/sim-urban-val/manifest.json" ] || $EV simulate --seed 3030 --sequences 2 --seconds 2.5 --size 128x96 --scene urban --out "$WORK/sim-urban-val"
for arch in deeplab fcn; do
  rm -rf "$WORK/energy-$arch"
  $EV train --config "scripts/energy-$arch.json" --data "$WORK/sim-urban" --val "$WORK/sim-urban-val" --out "$WORK/energy-$arch"
done
$EV report "$WORK/energy-deeplab" --data "$WORK/sim-urban-val" --split all --energy-full --energy-data "$WORK/sim-urban-val" --energy-samples 32 \
  --energy-checkpoint "$WORK/energy-deeplab/best.safetensors" "$WORK/energy-fcn/best.safetensors"
echo "tables: $WORK/energy-deeplab/report.md (section 'Energy of the full-size models'), numbers in report.json"
