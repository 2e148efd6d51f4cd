"""train/adapt.py (search) and the C `gcsim adapt --search` tune the same scalers: a tiny
paper-linear model records its target statistics, its scalers are disturbed, and both
implementations adapt it to paper-cubic by moment matching and then two passes of the
coordinate search on the loss of the same windows. Pass: both make the same number of loss
evaluations (the same decisions), their final losses agree within 1e-5 relative (C runs in
float32, Python in float64) and the scalers within 1e-4 relative to their magnitude, as the
moment-matching test asks; and the search lowered the loss. A text one token short of a
window and its target is refused in one line naming the file, and nothing is written. Pass 1
then pass 2 resumed from its output (--max-iter 0 --search-from 2) gives the scalers of the
two-pass run (1e-6 relative)."""
import os
import re
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
B, T, W, PASSES = 2, 96, 3, 2
torch.set_num_threads(2)
text = b"".join(b"the %d cells of row %d hold %d volts; " % (i, i * 7 % 13, i * i % 97) for i in range(40))
ids = np.frombuffer(text, np.uint8).astype(np.int64)
assert ids.size > W * T
x = torch.from_numpy(ids[:B * T].reshape(B, T))
xs = torch.from_numpy(ids[:W * T].reshape(W, T))
ys = torch.from_numpy(ids[1:W * T + 1].reshape(W, T))
m = tiny_linear_with_targets(31, x)
with tempfile.TemporaryDirectory() as d:
    src = os.path.join(d, "lin")
    checkpoint.save_checkpoint(src, m, torch.float32)
    with open(os.path.join(d, "text.txt"), "wb") as f:
        f.write(text)

    def run(model, dst, *extra):
        return subprocess.run(
            [gcsim, "adapt", "--model", model, "--text", os.path.join(d, "text.txt"),
             "--attention", "paper-cubic", "--tokenizer", "bytes", "--batch", str(B), "--ctx",
             str(T), "--search-windows", str(W), "--out", os.path.join(d, dst)] + list(extra),
            capture_output=True, text=True)
    r = run(src, "c", "--search", str(PASSES))
    if r.returncode:
        sys.exit("gcsim adapt --search failed: " + r.stderr.strip())
    out = r.stdout
    rc1 = run(src, "p1", "--search", "1").returncode
    rc2 = run(os.path.join(d, "p1"), "p2", "--max-iter", "0", "--search", "1",
              "--search-from", "2").returncode
    resumed = None if rc1 or rc2 else checkpoint.load_safetensors(
        os.path.join(d, "p2", "model.safetensors"))[0]
    short = os.path.join(d, "short.txt")
    with open(short, "wb") as f:
        f.write(text[:T])
    bad = subprocess.run([gcsim, "adapt", "--model", src, "--text", short, "--attention",
                          "paper-cubic", "--tokenizer", "bytes", "--batch", "1", "--ctx", str(T),
                          "--search", "1", "--out", os.path.join(d, "bad")],
                         capture_output=True, text=True)
    err = bad.stderr.strip().splitlines()
    refused = (bad.returncode != 0 and len(err) == 1 and short in err[0]
               and not os.path.exists(os.path.join(d, "bad")))
    print("short text: exit %d, %r" % (bad.returncode, err))
    got, _ = checkpoint.load_safetensors(os.path.join(d, "c", "model.safetensors"))
    py = checkpoint.load_checkpoint(src, torch.float64, attention="paper-cubic")
adapt.adapt(py, x)
start = adapt.calibration_loss(py, xs, ys)
evals, loss = adapt.search(py, xs, ys, PASSES)
c_start = float(re.search(r"calibration loss ([0-9.]+)", out).group(1))
c_evals, c_loss = max((int(e), float(l)) for l, e in
                      re.findall(r"loss ([0-9.]+) after (\d+) evaluations", out))
worst, resume_err = 0.0, float("inf") if resumed is None else 0.0
for n, t in M.hf_state(py).items():
    if ".hw." in n and ("_scale" in n or "_bias" in n):
        e = ((got[n].double() - t).abs() / t.abs().clamp(min=0.1)).max().item()
        worst = max(worst, e)
        if resumed is not None:
            resume_err = max(resume_err, ((resumed[n].double() - got[n].double()).abs() /
                                          got[n].double().abs().clamp(min=0.1)).max().item())
print("python: loss %.6f -> %.6f in %d evaluations" % (start, loss, evals))
print("gcsim:  loss %.6f -> %.6f in %d evaluations" % (c_start, c_loss, c_evals))
print("largest scaler difference %.3g (tol 1e-4)" % worst)
print("pass 1, then pass 2 resumed vs one two-pass run: %.3g (tol 1e-6)" % resume_err)
ok = (refused and resume_err <= 1e-6 and evals == c_evals and abs(c_loss - loss) <= 1e-5 * loss and worst <= 1e-4
      and loss < start - 1e-3)
sys.exit(0 if ok else 1)
