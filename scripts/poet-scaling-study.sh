#!/usr/bin/env bash
# The scaling study behind muse-poet-zh v2 (see its model card): three sizes, one
# constant-learning-rate run each (after a 40-step warmup), evaluated on v1's held-out
# poems every 100 steps, so each run gives the loss at 0.4, 0.8, 1.2 and 1.6 M tokens.
# Needs .muse-cache/poet-v2/ from scripts/build-poet-corpus.ts. Runs the three at once,
# one thread each, niced (a shared 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
C=.muse-cache/poet-v2
run() { # name n_layer n_head n_embd
  OMP_NUM_THREADS=1 nice -n 10 node bin/muse.js train --config configs/muse-poet-zh-v2.json \
    --corpus $C/train.jsonl --val-corpus $C/heldout.jsonl --out runs/study-$1 --overwrite --json --no-progress \
    --model.n_layer "$2" --model.n_head "$3" --model.n_embd "$4" \
    --maxIters 400 --lrDecayIters 400 --warmupIters 40 --minLr 0.002 --evalInterval 100 --evalIters 20 --logInterval 50 \
    > runs/study-$1.jsonl 2> runs/study-$1.err
}
mkdir -p runs
run S 4 4 128 & run M 4 4 192 & run L 6 8 256 & wait
