"""Copy a finished run into data/models/NAME with a model card (README.md), a thinned loss
curve (loss.json: every --every-th training point, every evaluation) and the bf16 checkpoint.

usage: python3 train/ship.py --ckpt RUN/bf16 --loss RUN/loss.json --out data/models/NAME
                             --title "..." --chain "..." [--target 1.0944] [--extra FILE.json]
The card's numbers come from loss.json; `--target` recomputes `reached_target_at` from the
periodic evaluations (the software model's last periodic value on the same tokens).
"""
import argparse
import json
import math
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoint import load_safetensors  # noqa: E402

DATA_NOTE = (
    "Byte-level tokens (vocab 256: UTF-8 bytes; token 0 = document boundary, emitted before "
    "each document, replacing the `<|endoftext|>` separator line) of the shared corpus "
    "(`../shared/data/corpus`: wikipedia_en_2015, gutenberg, brown, kjv_bible; 120.9 M training "
    "bytes) built by `train/data.py build`. Held-out slice: document n of each file with "
    "n % 100 == 50 (41 documents, 671,012 bytes), never trained on. No evaluation set "
    "(WikiText, LAMBADA, tiny Shakespeare) was used.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--loss", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", required=True)
    ap.add_argument("--chain", required=True, help="how this model was made (markdown)")
    ap.add_argument("--target", type=float, default=None)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--extra", action="append", default=[], help="more JSON files to copy beside")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for f in ("model.safetensors", "config.json"):
        shutil.copyfile(os.path.join(a.ckpt, f), os.path.join(a.out, f))
    for f in a.extra:
        shutil.copyfile(f, os.path.join(a.out, os.path.basename(f)))
    with open(a.loss) as f:
        c = json.load(f)
    c["points"] = c["points"][::a.every] + ([c["points"][-1]] if len(c["points"]) % a.every != 1 else [])
    per = [e for e in c["evals"] if e["eval_tokens"] == c["args"]["eval_tokens"]]
    if a.target is not None:
        c["args"]["target_loss"] = a.target
        hit = [e["step"] for e in per if e["val_loss"] <= a.target]
        c["reached_target_at"] = hit[0] if hit else None
    with open(os.path.join(a.out, "loss.json"), "w") as f:
        json.dump(c, f, separators=(",", ":"))
    t, meta = load_safetensors(os.path.join(a.out, "model.safetensors"))
    n_params = sum(v.numel() for k, v in t.items() if ".hw." not in k)
    cfg, args, fin = c["config"], c["args"], c["final"]
    size = os.path.getsize(os.path.join(a.out, "model.safetensors"))
    best = min(per, key=lambda e: e["val_loss"])
    lines = [
        "# %s" % a.title, "",
        "GPT-2 (pre-LayerNorm, learned positions, tied embeddings, tanh GELU), %d layers x %d wide, "
        "%d heads of 64, context %d, vocab %d: %s parameters, stored bf16 (%.2f MB; hardware "
        "tensors float32). Attention: `%s` (PAPER.md §3)." % (
            cfg["n_layer"], cfg["n_embd"], cfg["n_head"], cfg["n_ctx"], cfg["vocab_size"],
            format(n_params, ","), size / 1e6, cfg["attention"]), "",
        "## How it was made", "", a.chain, "",
        "Command: `train/train.py` with %s." % ", ".join(
            ("`--%s`" % k if v is True else "`--%s %s`" % (k.replace("_", "-"), "%.3g" % v if isinstance(v, float) else v))
            for k, v in sorted(args.items())
            if k in ("attention", "batch", "lr", "min_lr", "warmup", "budget_seconds", "weight_decay",
                     "compile", "seed") and v not in (None, False)), "",
        "## Data", "", DATA_NOTE, "",
        "## Training", "",
        "| | |", "|---|---|",
        "| steps | %d (batch %d x %d tokens) |" % (fin["step"], args["batch"], cfg["n_ctx"]),
        "| tokens seen | %s |" % format(fin["tokens_seen"], ","),
        "| hardware | one NVIDIA H100, bf16 autocast (analog attention in float32), %.0f s of training |"
        % c["points"][-1]["seconds"],
        "| optimiser | AdamW (0.9, 0.95), weight decay %.2g on matrices, warm-up %d steps, cosine "
        "to %.2g over the time budget |" % (args["weight_decay"], args["warmup"], args["min_lr"]),
        "", "## Results (held-out corpus slice)", "",
        "| | |", "|---|---|",
        "| val loss, whole slice (671,012 bytes) | %.4f nats/byte |" % fin["val_loss"],
        "| bits per byte | **%.4f** |" % (fin["val_loss"] / math.log(2)),
        "| periodic val loss (first %s bytes), first / best | %.4f (step %d) / %.4f (step %d) |" % (
            format(args["eval_tokens"], ","), per[0]["val_loss"], per[0]["step"], best["val_loss"], best["step"]),
    ]
    if a.target is not None:
        lines.append("| reached the software model's periodic loss %.4f | %s |" % (
            a.target, "at step %d" % c["reached_target_at"] if c["reached_target_at"] else "no"))
    lines += ["", "Bits per byte count the boundary token as one byte. `loss.json` holds the curve "
              "(every %d-th logged step, all evaluations)." % (10 * a.every), "",
              "## Use", "",
              "`gcsim ppl --model %s ...` (C) or `train/checkpoint.py: load_checkpoint(folder)` (PyTorch); "
              "names and layout: harness/README-checkpoint.md." % a.out, ""]
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write("\n".join(lines))
    print(a.out, size, fin["val_loss"] / math.log(2))


if __name__ == "__main__":
    main()
