"""C GPT-2 logits match the independent float64 PyTorch reference (test_gpt2_ref.py).

usage: test_gpt2_matches_torch.py TOOL VARIANT [--shape tiny|124m] [--dtype F32|F16|BF16]
                                  [--prefix] [--gelu gelu_new|gelu]
TOOL is the test_gpt2_logits executable. Checks, for one attention variant:
  - parallel-mode logits within 1e-4 relative (max |C - ref| / max |ref|) of the reference,
  - streaming decode logits within 1e-4 relative of the same reference,
  - a batch of two sequences gives each sequence's own logits.
--tol changes the tolerance. The analog quantisers are discontinuous: at GPT-2-124M size some
inputs fall within float32 rounding (~1e-6 of a step) of a quantiser boundary, so a float32
implementation and the float64 reference round a few of them differently (a 1-layer, 12-head
probe at T = 256 first differs at exactly the row whose readout is 4.9e-6 steps from a
boundary). The full-size analog check therefore uses a tolerance that bounds the effect of
those flips (measured 0.05 after 12 layers), not 1e-4.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_gpt2_ref as ref  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("tool")
ap.add_argument("variant")
ap.add_argument("--shape", default="tiny")
ap.add_argument("--dtype", default="F32")
ap.add_argument("--prefix", action="store_true")
ap.add_argument("--gelu", default="gelu_new")
ap.add_argument("--seed", type=int, default=7)
ap.add_argument("--tol", type=float, default=1e-4)
args = ap.parse_args()
TOL = args.tol

analog = args.variant.startswith("paper")
if args.shape == "tiny":
    cfg, w = ref.random_model(args.seed, 2, 2, 128, 512, 256, args.gelu, hw=analog)
    T = 150
else:  # GPT-2 124M shape
    cfg, w = ref.random_model(args.seed, 12, 12, 768, 50257, 1024, args.gelu, hw=analog)
    T = 256
rng = np.random.default_rng(args.seed + 1)
tokens = rng.integers(0, cfg["vocab_size"], (2, T)).astype(np.uint32)

with tempfile.TemporaryDirectory() as d:
    md = os.path.join(d, "model")
    ref.write_model_dir(md, cfg, w, args.dtype, "transformer." if args.prefix else "")
    np.save(os.path.join(d, "tok.npy"), tokens)
    out, stream = os.path.join(d, "out.npy"), os.path.join(d, "stream.npy")
    ref.run([args.tool, md, os.path.join(d, "tok.npy"), args.variant, out, stream])
    got = np.load(out)
    got_stream = np.load(stream)

seen = ref.stored_values(w, args.dtype)
worst = 0.0
for b in range(2):
    want = ref.forward(cfg, seen, tokens[b], args.variant).numpy()
    e = ref.rel_err(got[b], want)
    print(f"{args.variant} {args.shape} {args.dtype} sequence {b}: parallel max rel err {e:.3g}"
          f" (tol {TOL})")
    worst = max(worst, e)
    if b == 0:
        es = ref.rel_err(got_stream, want)
        print(f"{args.variant} {args.shape} {args.dtype}: streaming max rel err {es:.3g} "
              f"(tol {TOL})")
        worst = max(worst, es)
sys.exit(0 if worst <= TOL else 1)
