"""Moment-matching adaptation (PAPER.md §4 step 2): no gradients.

Copy a paper-linear model (with its recorded target statistics μ*, σ*) into a nonlinear one
(paper-cubic, or calibrated) and set the per-head scalers so that each scaler output
(q′ = a_q q + b_q, k′, v′ before their clamps, and the head output y = a_o O + b_o) has
the recorded per-head mean and standard deviation on one fixed calibration batch.

Iteration n = 0, 1, ... (at most 100):
  run the nonlinear model on the batch; measure μ, σ of every scaler output (all layers, heads,
  one forward pass, population std over batch × time × head dimension);
  stop if max |μ − μ*| and max |σ − σ*| are both < 1e-4;
  r = 1 − 0.9 · min(n, 50) / 50                    (relaxation, 1 → 0.1 over 50 iterations)
  a ← (1 − r) a + r · a σ*/σ,   b ← (1 − r) b + r · (b + μ* − μ)   (all scalers at once).
The C `gcsim adapt` implements the same steps; tests compare the two.

Optional second stage, still without gradients (`search`, `--search PASSES`; not in PAPER.md):
two moments per stream cannot see how the nonlinear read distorts the attention, so a
coordinate search then tunes the same scalers on the language-model loss of the calibration
windows (mean cross-entropy of every next token). Layer by layer, stream by stream (k, v, o,
q), head by head, it tries scale a(1 + ds) then a(1 - ds), and bias b + db then b - db,
keeping the first that lowers the loss (strictly); ds and db halve after each pass (start
0.08 and 0.02). The C `gcsim adapt --search` does the same.

Usage: python3 train/adapt.py --init RUN_LINEAR --data SHARDS --out RUN_ADAPTED
                              [--attention paper-cubic] [--batch 8] [--ctx 1024]
                              [--search PASSES] [--search-windows 64]
The search windows are random windows of the training shards (seed + 1).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoint import load_checkpoint, portable_path, save_checkpoint  # noqa: E402

SCALERS = ("q", "k", "v", "o")
MAX_ITERS, RELAX_ITERS, R_START, R_END, TOL = 100, 50, 1.0, 0.1, 1e-4
SEARCH_DS, SEARCH_DB, SEARCH_ORDER = 0.08, 0.02, ("k", "v", "o", "q")


def relaxation(n):
    return R_START + (R_END - R_START) * min(n, RELAX_ITERS) / RELAX_ITERS


@torch.no_grad()
def measure(model, x):
    """Forward once; → list over layers of (mean (4,H), std (4,H)) as float64."""
    hws = model.hw_modules()
    for hw in hws:
        hw.measure, hw.record_targets = True, False
    model(x)
    out = [(hw.moments[0].double(), hw.moments[1].double()) for hw in hws]
    for hw in hws:
        hw.measure = False
    return out


@torch.no_grad()
def adapt(model, x, max_iters=MAX_ITERS, tol=TOL, log=None):
    """Adapt `model` (nonlinear, with target_mean/target_std loaded) in place on batch x (B,T).
    Returns the list of per-iteration max errors."""
    model.eval()
    hist = []
    for n in range(max_iters):
        moms = measure(model, x)
        err = 0.0
        for hw, (m, s) in zip(model.hw_modules(), moms):
            err = max(err, (m - hw.target_mean.double()).abs().max().item(),
                      (s - hw.target_std.double()).abs().max().item())
        hist.append(err)
        if log:
            log("adapt: iteration %d max moment error %.3e" % (n, err))
        if err < tol:
            break
        r = relaxation(n)
        for hw, (m, s) in zip(model.hw_modules(), moms):
            for row, name in enumerate(SCALERS):
                a = getattr(hw, name + "_scale")
                b = getattr(hw, name + "_bias")
                mu_t, sd_t = hw.target_mean[row].double(), hw.target_std[row].double()
                ad, bd = a.double(), b.double()
                ratio = torch.where(s[row] > 0, sd_t / s[row].clamp(min=1e-30), torch.ones_like(sd_t))
                a_new = (1 - r) * ad + r * ad * ratio
                b_new = (1 - r) * bd + r * (bd + mu_t - m[row])
                a.copy_(a_new.to(a.dtype))
                b.copy_(b_new.to(b.dtype))
    return hist


def calibration_loss(model, xs, ys, chunk=8):
    """Mean next-token cross-entropy over every position of the windows xs → ys (W, T)."""
    tot = 0.0
    for i in range(0, xs.shape[0], chunk):
        logits = model(xs[i:i + chunk])
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]).double(),
                               ys[i:i + chunk].reshape(-1), reduction="sum").item()
    return tot / ys.numel()


@torch.no_grad()
def search(model, xs, ys, passes, ds=SEARCH_DS, db=SEARCH_DB, on_pass=None, log=None):
    """Coordinate search of the scalers on the loss of (xs, ys), in place (see the top of
    this file). on_pass(p, loss) after each pass. Returns (loss evaluations, final loss)."""
    model.eval()
    evals, best = 1, calibration_loss(model, xs, ys)
    if log:
        log("search: start loss %.6f" % best)
    for p in range(passes):
        for hw in model.hw_modules():
            for s in SEARCH_ORDER:
                for h in range(hw.q_scale.numel()):
                    for kind in ("_scale", "_bias"):
                        par = getattr(hw, s + kind)
                        old = par[h].item()
                        cands = ((old * (1 + ds), old * (1 - ds)) if kind == "_scale"
                                 else (old + db, old - db))
                        for cand in cands:
                            par[h] = cand
                            cur = calibration_loss(model, xs, ys)
                            evals += 1
                            if cur < best:
                                best, old = cur, par[h].item()
                                break
                        par[h] = old
        if log:
            log("search: pass %d loss %.6f (%d evaluations)" % (p + 1, best, evals))
        if on_pass:
            on_pass(p + 1, best)
        ds, db = ds / 2, db / 2
    return evals, best


def calibration_batch(data, B, T, seed):
    from data import Shards
    x, _ = Shards(data, "train").batch(B, T, np.random.default_rng(seed))
    return torch.from_numpy(x)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True, help="paper-linear checkpoint with target statistics")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--attention", default="paper-cubic", choices=["paper-cubic", "calibrated", "paper-linear"])
    ap.add_argument("--cell-h5", default=None)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--search", type=int, default=0, help="passes of the coordinate search (0: none)")
    ap.add_argument("--search-windows", type=int, default=64)
    ap.add_argument("--eval-tokens", type=int, default=0, help="val loss before/after on this many tokens")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    a = ap.parse_args(argv)
    dtype = {"float32": torch.float32, "float64": torch.float64}[a.dtype]
    over = {"attention": a.attention}
    if a.cell_h5:
        over["cell_h5"] = a.cell_h5
    model = load_checkpoint(a.init, dtype, **over).to(a.device)
    if a.attention == "calibrated":
        from calibrated import attach
        attach(model, a.cell_h5, model.cfg.get("seconds_per_token"))
    if not any(hw.target_count.item() > 0 for hw in model.hw_modules()):
        sys.exit("adapt: %s has no target statistics (train it as paper-linear first)" % a.init)
    x = calibration_batch(a.data, a.batch, min(a.ctx, model.cfg["n_ctx"]), a.seed).to(a.device)
    result = {"init": portable_path(a.init), "attention": a.attention, "batch": [a.batch, x.shape[1]]}
    if a.eval_tokens:
        from data import Shards
        from train import evaluate
        val = Shards(a.data, "val")
        result["val_loss_before"] = evaluate(model, val, x.shape[1], a.eval_tokens, a.batch, a.device)
    hist = adapt(model, x, log=lambda s: print(s, file=sys.stderr))
    result["iterations"] = len(hist)
    result["max_error"] = hist
    if a.search:
        from data import Shards
        xs, ys = Shards(a.data, "train").batch(a.search_windows, x.shape[1],
                                               np.random.default_rng(a.seed + 1))
        xs, ys = torch.from_numpy(xs).to(a.device), torch.from_numpy(ys).to(a.device)
        result["search_passes"] = []
        result["search_evaluations"], result["search_loss"] = search(
            model, xs, ys, a.search, log=lambda s: print(s, file=sys.stderr),
            on_pass=lambda p, loss: result["search_passes"].append(loss))
    if a.eval_tokens:
        result["val_loss_after"] = evaluate(model, val, x.shape[1], a.eval_tokens, a.batch, a.device)
        result["val_bits_after"] = result["val_loss_after"] / math.log(2)
    save_checkpoint(a.out, model, torch.float32, {"adapted_from": portable_path(a.init)})
    tmp = os.path.join(a.out, "adapt.json.tmp-%d" % os.getpid())
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, os.path.join(a.out, "adapt.json"))
    print(json.dumps({k: v for k, v in result.items() if k != "max_error"}))


if __name__ == "__main__":
    main()
