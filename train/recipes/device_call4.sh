#!/bin/bash
# GPU call 4 (≤ 10 min, one H100): the pipeline's (2) -> (3) -> (4) again with a longer stage 2
# (270 s instead of 160 s: its held-out loss was still falling), so that the linear model gets
# closer to (1) and the cubic models follow from it. (1) is the shipped softmax model.
source "$(dirname "$0")/device_start.sh" call4
export SOFTMAX="$ROOT/data/models/bytes-5x256-softmax" COMPILE=--compile EVAL_EVERY=250
BUDGET=${B2:-270} bash train/recipes/2_linear_ft.sh || echo "STAGE 2 FAILED"
INIT=$RUNS/2_linear_ft bash train/recipes/3_adapt.sh || echo "STAGE 3 FAILED"
B4=150; [ $(( $(left) - 45 )) -lt $B4 ] && B4=$(( $(left) - 45 ))
BUDGET=$B4 bash train/recipes/4_cubic_ft.sh || echo "STAGE 4 FAILED"
bring_back 2_linear_ft 4_cubic_ft
cp $RUNS/3_adapt_cubic/adapt.json "$OUT/3_adapt_cubic.json" || true
echo "done $SECONDS s"
