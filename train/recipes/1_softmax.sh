#!/bin/bash
# (1) softmax GPT-2 from scratch (the software model).
source "$(dirname "$0")/common.sh"
"$PY" "$TRAIN/train.py" --data "$DATA" --out "$RUNS/1_softmax" --attention softmax $MODEL_ARGS \
  --batch "${B:-32}" --lr "${LR:-2e-3}" --warmup "${WARMUP:-200}" --steps "${STEPS:-20000}" \
  --budget-seconds "${BUDGET:-200}" --eval-every "${EVAL_EVERY:-500}" $EVAL_ARGS \
  ${COMPILE---compile} --export-bf16 "$RUNS/1_softmax/bf16" "$@"
