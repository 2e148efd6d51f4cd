"""train/adapt.py and the C `gcsim adapt` adapt the same checkpoint to the same scalers:
a tiny paper-linear model records its target statistics (train/model.py), is written as a
checkpoint, and both implementations adapt it to paper-cubic on the same calibration batch
(the first B x T bytes of a text). Pass: scalers agree within 1e-4 relative to their
magnitude, both converge, iteration counts within 1."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.environ.get("GCSIM_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "train"))
import adapt  # noqa: E402
import checkpoint  # noqa: E402
import model as M  # noqa: E402
from tiny_adapt_model import tiny_linear_with_targets  # noqa: E402

gcsim = os.environ.get("GCSIM") or sys.argv[1]
B, T = 2, 96
torch.set_num_threads(2)
text = bytes(range(32, 127)) * 8
x = torch.from_numpy(np.frombuffer(text[:B * T], np.uint8).astype(np.int64).reshape(B, T))
m = tiny_linear_with_targets(21, x)
with tempfile.TemporaryDirectory() as d:
    src = os.path.join(d, "lin")
    checkpoint.save_checkpoint(src, m, torch.float32)
    with open(os.path.join(d, "text.txt"), "wb") as f:
        f.write(text)
    r = subprocess.run([gcsim, "adapt", "--model", src, "--text", os.path.join(d, "text.txt"),
                        "--attention", "paper-cubic", "--tokenizer", "bytes", "--batch", str(B),
                        "--ctx", str(T), "--out", os.path.join(d, "c")], capture_output=True, text=True)
    if r.returncode:
        sys.exit("gcsim adapt failed: " + r.stderr.strip())
    c_iters = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    got, _ = checkpoint.load_safetensors(os.path.join(d, "c", "model.safetensors"))
    py = checkpoint.load_checkpoint(src, torch.float64, attention="paper-cubic")
hist = adapt.adapt(py, x)
want = M.hf_state(py)
worst = 0.0
for n, t in want.items():
    if ".hw." in n and ("_scale" in n or "_bias" in n):
        e = ((got[n].double() - t).abs() / t.abs().clamp(min=0.1)).max().item()
        worst = max(worst, e)
print("python: %d iterations, final max moment error %.2e" % (len(hist), hist[-1]))
print("gcsim adapt (last lines):\n  " + "\n  ".join(c_iters[-3:]))
print("largest scaler difference %.3g (tol 1e-4)" % worst)
sys.exit(0 if worst <= 1e-4 and hist[-1] <= 1e-4 else 1)
