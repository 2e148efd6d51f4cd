#!/bin/bash
# (2) paper-linear fine-tuned from (1); records the target statistics of every scaler.
source "$(dirname "$0")/common.sh"
"$PY" "$TRAIN/train.py" --data "$DATA" --out "$RUNS/2_linear_ft" --init "${INIT:-$SOFTMAX}" \
  --attention paper-linear $MODEL_ARGS --target-loss "$(target_loss "$SOFTMAX")" \
  --batch "${B:-16}" --lr "${LR:-6e-4}" --warmup "${WARMUP:-50}" --steps "${STEPS:-20000}" \
  --budget-seconds "${BUDGET:-160}" --eval-every "${EVAL_EVERY:-250}" $EVAL_ARGS ${COMPILE---compile} \
  --export-bf16 "$RUNS/2_linear_ft/bf16" "$@"
