#!/bin/bash
# GPU call 1 (≤ 10 min, one H100): data, (1) softmax, (2) linear fine-tune, (5a) linear from
# scratch (both eager, 100 s: the equal-budget comparison), then a short torch.compile probe
# of paper-cubic. Results under $OUT (≤ 8 files). (2) was redone compiled in call 2.
source "$(dirname "$0")/device_start.sh" call1
nvidia-smi --query-gpu=name,memory.total --format=csv
$PY -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)"
bash train/recipes/1_softmax.sh || echo "STAGE 1 FAILED"
COMPILE= BUDGET=100 EVAL_EVERY=100 bash train/recipes/2_linear_ft.sh || echo "STAGE 2 FAILED"
COMPILE= BUDGET=100 EVAL_EVERY=100 bash train/recipes/5a_linear_scratch.sh || echo "STAGE 5a FAILED"
echo "elapsed $SECONDS s"
if [ "$SECONDS" -lt 470 ]; then timeout 90 $PY train/recipes/probe_compile.py || echo "probe failed"; fi
for r in 1_softmax 2_linear_ft; do cp $RUNS/$r/bf16/model.safetensors "$OUT/$r.safetensors" || true; done
tar -C $RUNS -czf "$OUT/runs_small.tar.gz" --exclude='*.safetensors' --exclude='train_state.pt' . || true
echo "done $SECONDS s"
