#!/bin/bash
# GPU call 3 (≤ 10 min, one H100): the two controls again, compiled, with weights kept so that
# `gcsim ppl` can score them on WikiText-2: (5a) paper-linear from scratch with a longer budget
# than stage 2 (does it leave the bigram plateau?), (5b) paper-cubic straight from (1) with
# stage 4's budget. (1) is the shipped softmax model.
export PYTHONUNBUFFERED=1 PY="${PY:-python3}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"; cd "$ROOT"
OUT="${OUT:-train/out}"; mkdir -p "$OUT"
export DATA="${DATA:-train/shards}" RUNS="${RUNS:-train/runs}" SOFTMAX="$ROOT/data/models/bytes-5x256-softmax" COMPILE=--compile EVAL_EVERY=250
exec > >(tee "$OUT/call3.log") 2>&1
$PY train/data.py build --corpus train/corpus_xz --out $DATA
left() { echo $(( 570 - SECONDS )); }
BUDGET=${B5A:-280} bash train/recipes/5a_linear_scratch.sh || echo "STAGE 5a FAILED"
B5=140; [ $(( $(left) - 60 )) -lt $B5 ] && B5=$(( $(left) - 60 ))
BUDGET=$B5 bash train/recipes/5b_cubic_from_softmax.sh || echo "STAGE 5b FAILED"
for r in 5a_linear_scratch 5b_cubic_from_softmax; do
  mkdir -p "$OUT/$r"
  cp $RUNS/$r/bf16/model.safetensors $RUNS/$r/bf16/config.json $RUNS/$r/loss.json "$OUT/$r/" || true
done
echo "done $SECONDS s"
