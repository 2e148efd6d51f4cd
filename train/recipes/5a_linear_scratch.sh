#!/bin/bash
# (5a) control: paper-linear from scratch, same batch and time budget as (2)
# (device_call1.sh ran both eager for 100 s: data/models/controls/).
source "$(dirname "$0")/common.sh"
"$PY" "$TRAIN/train.py" --data "$DATA" --out "$RUNS/5a_linear_scratch" \
  --attention paper-linear $MODEL_ARGS --target-loss "$(target_loss "$SOFTMAX")" \
  --batch "${B:-16}" --lr "${LR:-2e-3}" --warmup "${WARMUP:-100}" --steps "${STEPS:-20000}" \
  --budget-seconds "${BUDGET:-160}" --eval-every "${EVAL_EVERY:-250}" $EVAL_ARGS ${COMPILE---compile} \
  --export-bf16 "$RUNS/5a_linear_scratch/bf16" "$@"
