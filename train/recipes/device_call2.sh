#!/bin/bash
# GPU call 2 (≤ 10 min, one H100): (2) linear fine-tune again with torch.compile and a longer
# budget, (3) adaptation to paper-cubic, (4) paper-cubic fine-tune, (5b) paper-cubic straight
# from (1). (1) comes from call 1 as bf16 in train/carry/1_softmax (carried).
source "$(dirname "$0")/device_start.sh" call2
export SOFTMAX="$ROOT/train/carry/1_softmax" COMPILE=--compile EVAL_EVERY=250
BUDGET=160 bash train/recipes/2_linear_ft.sh || { echo "STAGE 2 FAILED: using call 1's"; mkdir -p $RUNS; cp -r train/carry/2_linear_ft_call1 $RUNS/2_linear_ft; }
INIT=$RUNS/2_linear_ft bash train/recipes/3_adapt.sh || echo "STAGE 3 FAILED"
B4=140; [ $(( $(left) / 2 - 20 )) -lt $B4 ] && B4=$(( $(left) / 2 - 20 ))
BUDGET=$B4 bash train/recipes/4_cubic_ft.sh || echo "STAGE 4 FAILED"
B5=$B4; [ $(( $(left) - 30 )) -lt $B5 ] && B5=$(( $(left) - 30 ))
BUDGET=$B5 bash train/recipes/5b_cubic_from_softmax.sh || echo "STAGE 5b FAILED"
for r in 2_linear_ft 4_cubic_ft 5b_cubic_from_softmax; do cp $RUNS/$r/bf16/model.safetensors "$OUT/$r.safetensors" || true; done
tar -C $RUNS -czf "$OUT/runs_small.tar.gz" --exclude='*.safetensors' --exclude='train_state.pt' . || true
echo "done $SECONDS s"
