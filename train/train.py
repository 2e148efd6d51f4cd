"""Train or fine-tune the GPT-2 of train/model.py on token shards (train/data.py).

AdamW (β = 0.9, 0.95; weight decay on matrices only), linear warm-up then cosine decay to
min_lr, gradient clipping at 1, bf16 autocast on CUDA (the analog attention itself runs in
float32), float32 or float64 on the CPU. One invocation runs at most --max-seconds, then
writes a checkpoint; `--resume` continues from the run folder (same step, optimizer, data
RNG). Paper-linear training records the target statistics (EMA 0.1 of each scaler output's
per-head mean and std) unless --no-record-targets.

Run folder (--out): model.safetensors + config.json (float32, GPT-2 names), train_state.pt,
loss.json (the curve: step, tokens, train loss, lr, seconds; val loss and bits per token at
each evaluation; `reached_target_at` = first periodic evaluation (--eval-tokens tokens) with
val loss ≤ --target-loss, which must come from the same evaluation: recipes/common.sh passes
the software model's last periodic value).
For byte-level data bits per token are bits per byte (the boundary token counts as a byte).

Example:  python3 train/train.py --data train/shards --out train/runs/softmax \\
              --attention softmax --steps 3000 --batch 32 --lr 2e-3
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoint import load_checkpoint, portable_path, save_checkpoint  # noqa: E402
from data import Shards  # noqa: E402
from model import GPT, default_config  # noqa: E402


def recorded_args(a):
    """The arguments as the loss curve records them, paths made portable."""
    paths = ("data", "out", "init", "cell_h5", "export_bf16")
    return {k: portable_path(v) if k in paths else v for k, v in vars(a).items()}


def progress(step, elapsed, a):
    """fraction of the schedule done: by steps, or by seconds when --budget-seconds is set."""
    p = step / a.steps
    if a.budget_seconds:
        p = max(p, elapsed / a.budget_seconds)
    return min(1.0, p)


def lr_at(step, elapsed, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = progress(step, elapsed, a)
    p0 = a.warmup / a.steps
    frac = min(1.0, max(0.0, (p - p0) / max(1e-9, 1 - p0)))
    return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * frac))


def make_optimizer(model, a):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 and ".hw." not in n else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": a.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    kw = {"fused": True} if a.device.startswith("cuda") else {}
    try:
        return torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.95), eps=1e-8, **kw)
    except (TypeError, RuntimeError):
        return torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.95), eps=1e-8)


def autocast(device):
    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


@torch.no_grad()
def evaluate(model, shards, T, max_tokens, batch, device):
    """Mean cross-entropy (nats per token) over sequential windows of the split."""
    was = model.training
    model.eval()
    tot, n, xs, ys = 0.0, 0, [], []

    def flush():
        nonlocal tot, n
        x = torch.from_numpy(np.stack(xs)).to(device)
        y = torch.from_numpy(np.stack(ys)).to(device)
        with autocast(device):
            _, loss = model(x, y)
        tot += loss.item() * y.numel()
        n += y.numel()
        xs.clear()
        ys.clear()
    for x, y in shards.sequential(T, max_tokens):
        xs.append(x)
        ys.append(y)
        if len(xs) == batch:
            flush()
    if xs:
        flush()
    model.train(was)
    return tot / max(n, 1)


def build_model(a):
    dtype = {"float32": torch.float32, "float64": torch.float64}[a.dtype]
    over = {}
    for k in ("attention", "window", "checkpoint_attn", "lambda_per_token", "cell_h5"):
        v = getattr(a, k, None)
        if v is not None:
            over[k] = v
    if a.resume and os.path.exists(os.path.join(a.out, "config.json")):
        return load_checkpoint(a.out, dtype, **over), True
    if a.init:
        return load_checkpoint(a.init, dtype, **over), False
    cfg = default_config(vocab_size=a.vocab, n_ctx=a.ctx, n_layer=a.n_layer, n_head=a.n_head,
                         n_embd=a.n_embd, gelu=a.gelu, **over)
    model = GPT(cfg).to(dtype)
    model.reset_parameters(seed=a.seed)
    return model, False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--init", help="checkpoint folder to start from (weights only)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--attention", choices=["softmax", "softmax-swa", "paper-linear", "paper-cubic", "calibrated"])
    ap.add_argument("--window", type=int)
    ap.add_argument("--lambda-per-token", dest="lambda_per_token", type=float)
    ap.add_argument("--cell-h5", dest="cell_h5")
    ap.add_argument("--checkpoint-attn", dest="checkpoint_attn", action="store_const", const=True)
    ap.add_argument("--n-layer", type=int, default=6)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--gelu", default="tanh", choices=["tanh", "erf"])
    ap.add_argument("--steps", type=int, default=1000, help="total steps of the schedule")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr", type=float, default=None, help="default lr/10")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--max-seconds", type=float, default=540.0, help="this invocation's wall-clock limit")
    ap.add_argument("--budget-seconds", type=float, default=None,
                    help="schedule length in training seconds (whichever of --steps and this ends first)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-tokens", type=int, default=1 << 18)
    ap.add_argument("--final-eval-tokens", type=int, default=1 << 20)
    ap.add_argument("--target-loss", type=float, default=None)
    ap.add_argument("--no-record-targets", action="store_true")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--export-bf16", default=None, help="also write a bf16 copy here at the end")
    a = ap.parse_args(argv)
    if a.min_lr is None:
        a.min_lr = a.lr / 10
    torch.manual_seed(a.seed)
    if a.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    model, resumed = build_model(a)
    model.to(a.device)
    cfg = model.cfg
    T = min(a.ctx, cfg["n_ctx"])
    record = cfg["attention"] == "paper-linear" and not a.no_record_targets
    if cfg["attention"] == "calibrated":
        from calibrated import attach
        attach(model, cfg["cell_h5"], cfg.get("seconds_per_token"))
    train, val = Shards(a.data, "train"), Shards(a.data, "val")
    opt = make_optimizer(model, a)
    elapsed0 = 0.0
    step, rng = 0, None
    curve = {"config": cfg, "args": recorded_args(a), "points": [], "evals": []}
    state_path = os.path.join(a.out, "train_state.pt")
    if resumed and os.path.exists(state_path):
        try:
            st = torch.load(state_path, map_location=a.device, weights_only=False)
        except TypeError:
            st = torch.load(state_path, map_location=a.device)
        opt.load_state_dict(st["opt"])
        step = st["step"]
        elapsed0 = st.get("elapsed", 0.0)
        rng = np.random.default_rng()
        rng.bit_generator.state = st["rng"]
        with open(os.path.join(a.out, "loss.json")) as f:
            curve = json.load(f)
        print("resumed at step %d" % step, file=sys.stderr)
    if rng is None:
        rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    fwd = model
    if a.compile:
        try:
            fwd = torch.compile(model)
        except Exception as e:  # compile is an optimisation only
            print("torch.compile unavailable (%s); eager" % e, file=sys.stderr)
    for hw in model.hw_modules():
        hw.record_targets = record

    def save():
        save_checkpoint(a.out, model, torch.float32, {"step": step})
        torch.save({"opt": opt.state_dict(), "step": step, "rng": rng.bit_generator.state,
                    "elapsed": train_seconds()},
                   state_path + ".tmp")
        os.replace(state_path + ".tmp", state_path)
        with open(os.path.join(a.out, "loss.json.tmp"), "w") as f:
            json.dump(curve, f)
        os.replace(os.path.join(a.out, "loss.json.tmp"), os.path.join(a.out, "loss.json"))

    def do_eval(tokens):
        te = time.time()
        for hw in model.hw_modules():
            hw.record_targets = False
        vl = evaluate(model, val, T, tokens, a.batch, a.device)
        for hw in model.hw_modules():
            hw.record_targets = record
        e = {"step": step, "tokens": step * a.batch * T, "val_loss": vl, "val_bits": vl / math.log(2),
             "eval_tokens": tokens}
        curve["evals"].append(e)
        # only periodic evaluations (same tokens as the target's) can reach the target
        if a.target_loss is not None and vl <= a.target_loss and tokens == a.eval_tokens \
                and curve.get("reached_target_at") is None:
            curve["reached_target_at"] = step
        print("eval step %d val %.4f (%.4f bits/token)" % (step, vl, vl / math.log(2)), file=sys.stderr)
        eval_seconds[0] += time.time() - te
        return vl

    t0 = time.time()
    eval_seconds = [0.0]

    def train_seconds():
        return elapsed0 + time.time() - t0 - eval_seconds[0]
    model.train()
    if step == 0 and a.eval_every > 0:
        do_eval(a.eval_tokens)
    def done():
        return progress(step, train_seconds(), a) >= 1.0
    while not done():
        lr = lr_at(step, train_seconds(), a)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = train.batch(a.batch, T, rng)
        x = torch.from_numpy(x).to(a.device, non_blocking=True)
        y = torch.from_numpy(y).to(a.device, non_blocking=True)
        try:
            with autocast(a.device):
                _, loss = fwd(x, y)
        except Exception as e:
            if fwd is model:
                raise
            print("compiled forward failed (%s); eager" % str(e).splitlines()[0][:200], file=sys.stderr)
            fwd = model
            with autocast(a.device):
                _, loss = fwd(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 10 == 0 or done():
            lv = loss.item()
            el = train_seconds()
            curve["points"].append({"step": step, "tokens": step * a.batch * T, "train_loss": lv,
                                    "lr": lr, "grad_norm": float(gn), "seconds": el})
            if step % 50 == 0:
                print("step %d/%d loss %.4f lr %.2e %.1f s" % (step, a.steps, lv, lr, el), file=sys.stderr)
        if a.eval_every > 0 and step % a.eval_every == 0 and not done():
            do_eval(a.eval_tokens)
        if time.time() - t0 > a.max_seconds:
            print("time limit: checkpoint at step %d" % step, file=sys.stderr)
            break
    finished = done()
    if finished:
        vl = do_eval(a.final_eval_tokens)
        curve["final"] = {"step": step, "val_loss": vl, "val_bits_per_token": vl / math.log(2),
                          "tokens_seen": step * a.batch * T}
    save()
    if a.export_bf16 and finished:
        save_checkpoint(a.export_bf16, model, torch.bfloat16, {"step": step})
    print(json.dumps({"out": a.out, "step": step, "final": curve.get("final")}))


if __name__ == "__main__":
    main()
