# Shared settings of the recipes (source it). Everything can be overridden from the
# environment, e.g. a CPU smoke run: MODEL_ARGS="--n-layer 1 --n-embd 64 --n-head 1 --ctx 128".
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TRAIN="$(dirname "$HERE")"
PY="${PY:-python3}"
DATA="${DATA:-$TRAIN/shards}"          # built by train/data.py build
RUNS="${RUNS:-$TRAIN/runs}"
# byte-level demo family: vocab 256, context 1024, head dim 64, 5 x 256 (4,276,992 parameters,
# 8.6 MB in bf16)
MODEL_ARGS="${MODEL_ARGS:---n-layer 5 --n-head 4 --n-embd 256 --ctx 1024 --vocab 256 --gelu tanh}"
# periodic evaluations use the first EVAL_TOKENS tokens of the validation split, the final one
# all of it (671,012 bytes); --target-loss compares like with like (periodic with periodic)
EVAL_TOKENS="${EVAL_TOKENS:-131072}"
EVAL_ARGS="${EVAL_ARGS:---eval-tokens $EVAL_TOKENS --final-eval-tokens 1048576}"
mkdir -p "$RUNS"
# the software model's loss to reach (for --target-loss): TARGET if set, else the last periodic
# evaluation of run $1 on EVAL_TOKENS tokens
target_loss() {
  if [ -n "${TARGET:-}" ]; then echo "$TARGET"; return; fi
  "$PY" -c "import json,sys; e=[x for x in json.load(open(sys.argv[1]))['evals'] if x['eval_tokens']==int(sys.argv[2])]; print(e[-1]['val_loss'])" "$1/loss.json" "$EVAL_TOKENS"
}
SOFTMAX="${SOFTMAX:-$RUNS/1_softmax}"
