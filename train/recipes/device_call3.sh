#!/bin/bash
# GPU call 3 (≤ 10 min, one H100): the two controls again, compiled, with weights kept so that
# `gcsim ppl` can score them on WikiText-2: (5a) paper-linear from scratch with a longer budget
# than stage 2 (does it leave the bigram plateau?), (5b) paper-cubic straight from (1) with
# stage 4's budget. (1) is the shipped softmax model.
source "$(dirname "$0")/device_start.sh" call3
export SOFTMAX="$ROOT/data/models/bytes-5x256-softmax" COMPILE=--compile EVAL_EVERY=250
BUDGET=${B5A:-280} bash train/recipes/5a_linear_scratch.sh || echo "STAGE 5a FAILED"
B5=140; [ $(( $(left) - 60 )) -lt $B5 ] && B5=$(( $(left) - 60 ))
BUDGET=$B5 bash train/recipes/5b_cubic_from_softmax.sh || echo "STAGE 5b FAILED"
bring_back 5a_linear_scratch 5b_cubic_from_softmax
echo "done $SECONDS s"
