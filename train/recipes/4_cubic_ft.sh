#!/bin/bash
# (4) paper-cubic fine-tuned from the adapted model (3) (surrogate gradient: linear model).
source "$(dirname "$0")/common.sh"
"$PY" "$TRAIN/train.py" --data "$DATA" --out "$RUNS/4_cubic_ft" --init "${INIT:-$RUNS/3_adapt_cubic}" \
  --attention paper-cubic $MODEL_ARGS --target-loss "$(target_loss "$SOFTMAX")" \
  --batch "${B:-16}" --lr "${LR:-3e-4}" --warmup "${WARMUP:-20}" --steps "${STEPS:-20000}" \
  --budget-seconds "${BUDGET:-140}" --eval-every "${EVAL_EVERY:-250}" $EVAL_ARGS ${COMPILE---compile} \
  --export-bf16 "$RUNS/4_cubic_ft/bf16" "$@"
