#!/bin/bash
# (3) moment-matching adaptation of (2) to paper-cubic (and to a calibrated cell if CELL_H5 is set).
source "$(dirname "$0")/common.sh"
CTX="${CTX:-1024}"
"$PY" "$TRAIN/adapt.py" --init "${INIT:-$RUNS/2_linear_ft}" --data "$DATA" --out "$RUNS/3_adapt_cubic" \
  --attention paper-cubic --batch "${B:-8}" --ctx "$CTX" --eval-tokens "${ADAPT_EVAL:-262144}" "$@"
if [ -n "${CELL_H5:-}" ]; then
  "$PY" "$TRAIN/adapt.py" --init "${INIT:-$RUNS/2_linear_ft}" --data "$DATA" --out "$RUNS/3_adapt_calibrated" \
    --attention calibrated --cell-h5 "$CELL_H5" --batch "${B:-8}" --ctx "$CTX" --eval-tokens "${ADAPT_EVAL:-262144}" "$@"
fi
