#!/bin/bash
# (5b) control: paper-cubic fine-tuned straight from (1), no linear stage, no adaptation;
# same batch, learning rate and time budget as (4).
source "$(dirname "$0")/common.sh"
"$PY" "$TRAIN/train.py" --data "$DATA" --out "$RUNS/5b_cubic_from_softmax" --init "${INIT:-$SOFTMAX}" \
  --attention paper-cubic $MODEL_ARGS --target-loss "$(target_loss "$SOFTMAX")" \
  --batch "${B:-16}" --lr "${LR:-3e-4}" --warmup "${WARMUP:-20}" --steps "${STEPS:-20000}" \
  --budget-seconds "${BUDGET:-140}" --eval-every "${EVAL_EVERY:-250}" $EVAL_ARGS ${COMPILE---compile} \
  --export-bf16 "$RUNS/5b_cubic_from_softmax/bf16" "$@"
