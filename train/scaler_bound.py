"""How much of the paper-cubic gap can per-head scalers close at all?

Moment matching (adapt.py, PAPER.md §4) sets the 8 scalers per head from two moments per
stream. This experiment asks what better values of those same scalers would give, starting
from the moment-matched model, by one of two methods:
  --method train   trains only the scalers (Adam on the language-model loss, the linear
                   model's surrogate gradient; every other weight frozen) on random windows of
                   the calibration text: uses gradients, so an upper bound for adaptation;
  --method search  gradient-free coordinate search (adapt.search, `gcsim adapt --search`) on
                   the loss of the first --search-windows windows of the calibration text.
Reports the held-out loss of the linear model, the copied weights, moment matching and the
chosen method, with the recovered fraction of the gap.

Usage: python3 train/scaler_bound.py --init RUN_LINEAR --data SHARDS --calib FILE
                                    [--method train|search] [--steps 300] [--lr 3e-3]
                                    [--passes 2] [--search-windows 64] [--eval-tokens N]
                                    [--out F.json] [--save DIR]
FILE is raw bytes of training text (byte-level models): its first 4 x 1024 bytes are the
moment-matching batch, and its windows of 1024 the data the scalers are fitted on. SHARDS
gives the held-out split (val). --save writes the fitted model as a checkpoint (for gcsim ppl).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adapt as A  # noqa: E402
from checkpoint import load_checkpoint, portable_path, save_checkpoint  # noqa: E402
from data import Shards  # noqa: E402
from train import evaluate  # noqa: E402

STREAMS = ("q", "k", "v", "o")


def scalers(model):
    return {s + p: torch.stack([getattr(h, s + p).detach().clone() for h in model.hw_modules()])
            for s in STREAMS for p in ("_scale", "_bias")}


def train_scalers(model, xs, ys, steps, lr):
    """Adam on the scalers only; returns their number."""
    for p in model.parameters():
        p.requires_grad_(False)
    hw = [p for h in model.hw_modules() for p in h.parameters()]
    for p in hw:
        p.requires_grad_(True)
    opt = torch.optim.Adam(hw, lr=lr)
    g = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, xs.shape[0], (8,), generator=g)
        _, loss = model(xs[idx], ys[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return sum(p.numel() for p in hw)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--attention", default="paper-cubic")
    ap.add_argument("--method", default="train", choices=["train", "search"])
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--search-windows", type=int, default=64)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-tokens", type=int, default=1 << 30)
    ap.add_argument("--out", default=None)
    ap.add_argument("--save", default=None)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args(argv)
    dev, T = a.device, 1024
    val = Shards(a.data, "val")
    raw = np.fromfile(a.calib, dtype=np.uint8).astype(np.int64)
    W = (raw.size - 1) // T
    if W < 4:
        sys.exit("scaler_bound: %s holds fewer than 4 x %d bytes" % (a.calib, T))
    xs = torch.from_numpy(raw[:W * T].reshape(W, T)).to(dev)
    ys = torch.from_numpy(raw[1:W * T + 1].reshape(W, T)).to(dev)

    def held_out(m):
        return evaluate(m, val, T, a.eval_tokens, 8, dev)

    res = {"init": os.path.basename(os.path.normpath(a.init)), "attention": a.attention,
           "calib_windows": W, "method": a.method}
    res.update({"steps": a.steps, "lr": a.lr} if a.method == "train" else
               {"passes": a.passes, "search_windows": min(a.search_windows, W)})
    res["linear"] = held_out(load_checkpoint(a.init, torch.float32,
                                             attention="paper-linear").to(dev))
    model = load_checkpoint(a.init, torch.float32, attention=a.attention).to(dev)
    res["copied"] = held_out(model)
    A.adapt(model, xs[:4])
    res["moment_matched"] = held_out(model)
    matched = scalers(model)
    if a.method == "train":
        res["n_scalers"] = train_scalers(model, xs, ys, a.steps, a.lr)
    else:
        res["per_pass"] = []

        def on_pass(p, loss):
            res["per_pass"].append({"pass": p, "calibration_loss": loss,
                                    "held_out": held_out(model)})
            print(json.dumps(res["per_pass"][-1]), flush=True)
        res["loss_evaluations"], _ = A.search(model, xs[:a.search_windows],
                                              ys[:a.search_windows], a.passes, on_pass=on_pass)
    # the search has just scored its last pass on the held-out split
    res["scalers_fitted"] = (res["per_pass"][-1]["held_out"] if res.get("per_pass")
                             else held_out(model))
    trained = scalers(model)
    res["change"] = {}
    for n in matched:   # scales as ratios, biases as differences (volts for k and v)
        d = trained[n] / matched[n] if n.endswith("scale") else trained[n] - matched[n]
        res["change"][n] = {"mean": d.mean().item(), "min": d.min().item(),
                            "max": d.max().item()}
    gap = res["copied"] - res["linear"]
    for k in ("moment_matched", "scalers_fitted"):
        res[k + "_recovery"] = (res["copied"] - res[k]) / gap
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    if a.save:
        save_checkpoint(a.save, model.cpu(), torch.float32,
                        {"adapted_from": portable_path(a.init), "scalers": a.method})


if __name__ == "__main__":
    main()
