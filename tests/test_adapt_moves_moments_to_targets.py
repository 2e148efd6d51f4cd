"""`gcsim adapt` moves the moments of every scaler output to their targets within 100
iterations on a random model, and writes a checkpoint that loads again.

usage: test_adapt_moves_moments_to_targets.py TOOL VARIANT TARGETS
  TOOL: the test_gpt2_logits executable; VARIANT: the analog variant adapted; TARGETS:
  "checkpoint" (targets stored in the model) or a source variant recorded on the same batch.
Checks: the run says it converged (all moments within 1e-4) in at most 100 iterations, the
error after the last iteration is below a tenth of the first; the independent float64
reference, run with the written scalers on the calibration batch, measures moments within
2e-3 of the targets (float32 vs float64 and the analog quantisers); the written checkpoint
gives the reference's logits (1e-4) and keeps the targets.
"""
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_gpt2_ref as ref  # noqa: E402

GCSIM = ref.env("GCSIM")
DATA = ref.env("GCSIM_DATA")
TOOL, VARIANT, TARGETS = sys.argv[1], sys.argv[2], sys.argv[3]
T = 128
failures = 0


def expect(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


L, NH = 2, 2
cfg, w = ref.random_model(5, L, NH, 128, 512, 256, hw=True, targets=(TARGETS == "checkpoint"))
if TARGETS == "checkpoint":
    # reachable targets: the moments of the reference with perturbed scalers
    w2 = dict(w)
    rng = np.random.default_rng(9)
    for l in range(L):
        for s in ref.HW:
            w2[f"h.{l}.attn.hw.{s}_scale"] = w[f"h.{l}.attn.hw.{s}_scale"] * rng.uniform(0.7, 1.3, NH)
            w2[f"h.{l}.attn.hw.{s}_bias"] = w[f"h.{l}.attn.hw.{s}_bias"] + rng.uniform(-.05, .05, NH)
text = os.path.join(DATA, "text", "tinyshakespeare_input.txt")
batch = np.frombuffer(open(text, "rb").read()[:T], np.uint8).astype(np.int64)

if TARGETS == "checkpoint":
    st = {}
    ref.forward(cfg, ref.stored_values(w2, "F32"), batch, VARIANT, stats=st)
    for l in range(L):
        w[f"h.{l}.attn.hw.target_mean"] = np.stack([st[(l, s)][0] for s in ref.HW])
        w[f"h.{l}.attn.hw.target_std"] = np.stack([st[(l, s)][1] for s in ref.HW])

with tempfile.TemporaryDirectory() as d:
    md, out = os.path.join(d, "model"), os.path.join(d, "adapted")
    ref.write_model_dir(md, cfg, w)
    r = ref.run([GCSIM, "adapt", "--model", md, "--text", text, "--tokenizer", "bytes",
                 "--attention", VARIANT, "--targets", TARGETS, "--batch", "1", "--ctx", str(T),
                 "--out", out])
    errs = [max(float(a), float(b)) for a, b in
            re.findall(r"max \|mean - target\| (\S+)  max \|std - target\| (\S+)", r.stdout)]
    m = re.search(r"converged after (\d+) iterations", r.stdout)
    print("\n".join(r.stdout.splitlines()[:3] + ["..."] + r.stdout.splitlines()[-3:]))
    expect(m is not None and int(m.group(1)) <= 100,
           f"converged within 100 iterations ({m.group(1) if m else 'no'}; errors "
           f"{errs[0]:.3g} -> {errs[-1]:.3g})")
    expect(len(errs) >= 2 and errs[-1] < 0.1 * errs[0] and errs[-1] < 1e-4,
           "the largest moment error falls below 1e-4 and a tenth of the start")

    a = ref.read_safetensors(os.path.join(out, "model.safetensors"))
    expect(all(k in a for k in w), "the written checkpoint holds every input tensor name")
    seen = {k: v.astype(np.float64) for k, v in a.items()}
    if TARGETS == "checkpoint":
        tm = np.stack([w[f"h.{l}.attn.hw.target_mean"] for l in range(L)])
        ts = np.stack([w[f"h.{l}.attn.hw.target_std"] for l in range(L)])
    else:
        src = {}
        ref.forward(cfg, ref.stored_values(w, "F32"), batch, TARGETS, stats=src)
        tm = np.stack([np.stack([src[(l, s)][0] for s in ref.HW]) for l in range(L)])
        ts = np.stack([np.stack([src[(l, s)][1] for s in ref.HW]) for l in range(L)])
    got_tm = np.stack([seen[f"h.{l}.attn.hw.target_mean"] for l in range(L)])
    expect(np.max(np.abs(got_tm - tm)) < 1e-4, f"targets stored (max diff "
           f"{np.max(np.abs(got_tm - tm)):.2g})")
    st = {}
    want = ref.forward(cfg, seen, batch, VARIANT, stats=st).numpy()
    mm = np.stack([np.stack([st[(l, s)][0] for s in ref.HW]) for l in range(L)])
    ss = np.stack([np.stack([st[(l, s)][1] for s in ref.HW]) for l in range(L)])
    dev = max(np.max(np.abs(mm - tm)), np.max(np.abs(ss - ts)))
    expect(dev < 2e-3, f"reference moments with the adapted scalers within {dev:.2g} of the "
           "targets (tol 2e-3)")
    np.save(os.path.join(d, "tok.npy"), batch.astype(np.uint32))
    ref.run([TOOL, out, os.path.join(d, "tok.npy"), VARIANT, os.path.join(d, "o.npy")])
    e = ref.rel_err(np.load(os.path.join(d, "o.npy"))[0], want)
    expect(e <= 1e-4, f"adapted checkpoint reloads: logits max rel err {e:.3g} (tol 1e-4)")
sys.exit(1 if failures else 0)
