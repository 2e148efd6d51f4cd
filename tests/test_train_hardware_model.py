"""Training model (train/): every attention variant with quantisation and decay runs forward,
straight-through gradients flow, the surrogate gradient of the nonlinear models equals the
linear model's gradient, checkpoints round-trip, adaptation moves moments to their targets,
and the data path and one resumable training step work. Tiny, float64, CPU."""
import math
import os
import sys
import tempfile

import numpy as np
import torch

ROOT = os.environ.get("GCSIM_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "train"))

import adapt  # noqa: E402
import checkpoint  # noqa: E402
import data  # noqa: E402
import model as M  # noqa: E402
import train  # noqa: E402

torch.set_num_threads(1)
FAIL = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAIL.append(what)


def tiny(att, **kw):
    cfg = M.default_config(n_layer=2, n_head=2, n_embd=16, n_ctx=160, attention=att, window=100,
                           lambda_per_token=2e-3, tile=16, **kw)
    m = M.GPT(cfg).double()
    m.reset_parameters(seed=3)
    for hw in m.hw_modules():      # put the scalers where quantisation is not all-zero
        with torch.no_grad():
            hw.q_scale.fill_(4.0); hw.q_bias.fill_(0.3)
            hw.k_scale.fill_(3.0); hw.v_scale.fill_(3.0)
    return m


def reference_head(q, k, v, kind, window, lam, tile):
    """Direct per-cell evaluation of PAPER.md §3 for one head: q,k,v (T,D) already scaled."""
    c = (0.0, 19.3, 0.0, 0.0) if kind == "linear" else M.G_CUBIC
    g = lambda y: c[0] + c[1] * y + c[2] * y ** 2 + c[3] * y ** 3
    qz = M.quant_ste(q, 0, 1, 16); kz = M.quant_ste(k, 0, .9, 8); vz = M.quant_ste(v, 0, .9, 8)
    T, D = q.shape
    out = torch.zeros(T, D, dtype=q.dtype)
    for i in range(T):
        phi = torch.zeros(T, dtype=q.dtype)
        dl = torch.zeros(T, dtype=q.dtype)
        for j in range(max(0, i - window + 1), i + 1):
            dl[j] = math.exp(-lam * (i - j))
            s = (qz[i] * g((kz[j] - 0.45) * dl[j])).sum()
            phi[j] = min(max(s / 80.0, 0.0), 1.0)
        for t0 in range(0, T, tile):
            ot = torch.zeros(D, dtype=q.dtype)
            for j in range(t0, min(T, t0 + tile)):
                if phi[j] != 0:
                    ot += phi[j] * g((vz[j] - 0.45) * dl[j])
            r = torch.clamp(ot / 40.0, -1, 1)
            out[i] += torch.round(r * 15.5) / 15.5
    return out


def test_core_matches_direct():
    g = torch.Generator().manual_seed(0)
    T, D = 40, 8
    for kind in ("linear", "cubic"):
        q = torch.rand(T, D, generator=g, dtype=torch.float64) * 1.2 - 0.1
        k = torch.rand(T, D, generator=g, dtype=torch.float64)
        v = torch.rand(T, D, generator=g, dtype=torch.float64)
        fast = M.hw_attention(M.quant_ste(q, 0, 1, 16)[None, None], M.quant_ste(k, 0, .9, 8)[None, None],
                              M.quant_ste(v, 0, .9, 8)[None, None], kind, 25, 3e-2, 16)[0, 0]
        ref = reference_head(q, k, v, kind, 25, 3e-2, 16)
        err = (fast - ref).abs().max().item()
        check(err < 1e-9 and ref.abs().max() > 0.1,
              "%s core equals direct per-cell evaluation (max diff %.1e)" % (kind, err))
    # readout saturates at ±32/31, half-to-even rounding of the grid
    r = M.readout_ste(torch.tensor([1e9, -1e9, 40.0 / 31, 120.0 / 31], dtype=torch.float64))
    check(torch.allclose(r, torch.tensor([32 / 31, -32 / 31, 0.0, 4 / 31], dtype=torch.float64)),
          "readout: saturation ±32/31 and half-to-even (1/31 → 0, 3/31 → 4/31)")
    x = M.quant_ste(torch.tensor([1.5 / 15, 2.5 / 15, -3.0, 7.0], dtype=torch.float64), 0, 1, 16)
    check(torch.allclose(x * 15, torch.tensor([2.0, 2.0, 0.0, 15.0], dtype=torch.float64)),
          "quantiser: half to even and clamp")


def test_variants_forward_backward():
    x = torch.randint(1, 256, (2, 130), generator=torch.Generator().manual_seed(1))
    for att in ("softmax", "softmax-swa", "paper-linear", "paper-cubic"):
        m = tiny(att)
        _, loss = m(x, x)
        loss.backward()
        bad = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
        zero = [n for n, p in m.named_parameters() if p.grad is not None and p.grad.abs().sum() == 0]
        check(math.isfinite(loss.item()) and not bad and not zero,
              "%s: forward finite, gradients reach every parameter (%s)" % (att, ",".join(zero[:3])))


def test_checkpointed_attention_same_gradients():
    x = torch.randint(1, 256, (2, 80), generator=torch.Generator().manual_seed(7))
    a, b = tiny("paper-cubic"), tiny("paper-cubic", checkpoint_attn=True)
    b.load_state_dict(a.state_dict())
    a(x, x)[1].backward()
    b(x, x)[1].backward()
    gb = dict(b.named_parameters())
    d = max((p.grad - gb[n].grad).abs().max().item() for n, p in a.named_parameters())
    check(d < 1e-12, "--checkpoint-attn (recompute in backward) gives the same gradients (%.1e)" % d)


def test_calibrated_variant():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import calibrated
    import synthetic_cell
    x = torch.randint(1, 256, (2, 70), generator=torch.Generator().manual_seed(6))
    with tempfile.TemporaryDirectory() as d:
        synthetic_cell.write_cell(os.path.join(d, "cell.h5"))
        m = tiny("calibrated", cell_h5=os.path.join(d, "cell.h5"))
        calibrated.attach(m, m.cfg["cell_h5"], 2e-5)
        lin = tiny("paper-linear")
        lin.load_state_dict(m.state_dict())
        _, loss = m(x, x)
        loss.backward()
        zero = [n for n, p in m.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        with torch.no_grad():
            diff = (m(x) - lin(x)).abs().max().item()
        check(math.isfinite(loss.item()) and not zero and diff > 1e-3,
              "calibrated: forward through a cell.h5, surrogate gradients reach every parameter")


def test_surrogate_is_linear_gradient():
    # one attention layer of each kind with the same weights and scalers, on the same input:
    # every gradient below the head output (q/k/v projections, scalers a_q..b_v) must equal
    # the linear model's; c_proj and a_o, b_o see the (different) forward values
    lin = tiny("paper-linear")
    cfg = dict(lin.cfg, n_layer=1)
    l1, c1 = M.GPT(cfg).double(), M.GPT(dict(cfg, attention="paper-cubic")).double()
    l1.load_state_dict({k: v for k, v in lin.state_dict().items() if not k.startswith("h.1.")}, strict=False)
    c1.load_state_dict(l1.state_dict())
    att_l, att_c = l1.h[0].attn, c1.h[0].attn
    h = torch.randn(2, 90, 16, dtype=torch.float64)
    w = torch.randn(2, 90, 16, dtype=torch.float64)
    (att_l(h) * w).sum().backward()
    (att_c(h) * w).sum().backward()
    gl = dict(att_l.named_parameters())
    diffs = [(n, (p.grad - gl[n].grad).abs().max().item()) for n, p in att_c.named_parameters()
             if not n.startswith("c_proj") and not n.startswith("hw.o_")]
    worst = max(d for _, d in diffs)
    check(worst < 1e-12, "surrogate gradient of paper-cubic equals paper-linear's (max diff %.1e)" % worst)
    with torch.no_grad():
        same = (att_l(h) - att_c(h)).abs().max().item()
    check(same > 1e-3, "paper-cubic forward value differs from linear (%.3f)" % same)


def test_checkpoint_round_trip():
    m = tiny("paper-linear")
    x = torch.randint(1, 256, (1, 60), generator=torch.Generator().manual_seed(4))
    for hw in m.hw_modules():
        hw.record_targets = True
    m(x)
    for hw in m.hw_modules():
        hw.record_targets = False
    with tempfile.TemporaryDirectory() as d:
        checkpoint.save_checkpoint(d, m, torch.float64)
        t, _ = checkpoint.load_safetensors(os.path.join(d, "model.safetensors"))
        check(tuple(t["h.0.attn.c_attn.weight"].shape) == (16, 48) and tuple(t["h.1.mlp.c_proj.weight"].shape) == (64, 16)
              and tuple(t["h.0.attn.hw.target_std"].shape) == (4, 2) and "wte.weight" in t,
              "safetensors: GPT-2 names, Conv1D layout, hardware tensors")
        m2 = checkpoint.load_checkpoint(d, torch.float64)
        with torch.no_grad():
            diff = (m(x) - m2(x)).abs().max().item()
        sd1, sd2 = m.state_dict(), m2.state_dict()
        check(diff == 0.0 and all(torch.equal(sd1[k], sd2[k]) for k in sd1),
              "checkpoint float64 save → load is exact")
        checkpoint.save_checkpoint(d, m, torch.bfloat16)
        t, _ = checkpoint.load_safetensors(os.path.join(d, "model.safetensors"))
        check(t["wte.weight"].dtype == torch.bfloat16 and torch.equal(t["wte.weight"], m.wte.weight.bfloat16()),
              "bf16 export round-trips bit-exactly")
        with open(os.path.join(d, "model.safetensors"), "r+b") as f:
            f.truncate(100)
        try:
            checkpoint.load_safetensors(os.path.join(d, "model.safetensors"))
            check(False, "truncated checkpoint rejected")
        except ValueError as e:
            check("model.safetensors" in str(e), "truncated checkpoint rejected with the file named")


def test_adaptation_reaches_targets():
    lin = tiny("paper-linear")
    x = torch.randint(1, 256, (2, 100), generator=torch.Generator().manual_seed(5))
    for hw in lin.hw_modules():
        hw.record_targets = True
    with torch.no_grad():
        lin(x)
    cub = M.GPT(dict(lin.cfg, attention="paper-cubic")).double()
    cub.load_state_dict(lin.state_dict())
    with torch.no_grad():      # disturb the scalers so there is something to adapt
        for hw in cub.hw_modules():
            hw.o_scale.mul_(1.7); hw.k_bias.add_(0.02); hw.q_scale.mul_(0.9)
    e0 = max(e for e in adapt.adapt(cub, x, max_iters=1))
    hist = adapt.adapt(cub, x)
    check(hist[-1] < 1e-4 or hist[-1] < 0.05 * e0,
          "adaptation: max moment error %.2e → %.2e in %d iterations" % (e0, hist[-1], len(hist)))
    check(abs(adapt.relaxation(0) - 1) < 1e-15 and abs(adapt.relaxation(50) - 0.1) < 1e-15
          and abs(adapt.relaxation(80) - 0.1) < 1e-15, "relaxation 1 → 0.1 over 50 iterations")


def test_data_and_training_step():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "c.txt")
        with open(src, "wb") as f:
            for n in range(120):
                f.write(("document %d " % n).encode() * 30 + b"\n<|endoftext|>\n")
        meta = data.build(d, os.path.join(d, "shards"), files=["c.txt"], shard_bytes=4096)
        tr = np.concatenate([np.fromfile(os.path.join(d, "shards", n), np.uint8) for n in meta["train_files"]])
        check(meta["val_tokens"] > 0 and tr[0] == 0 and (tr == 0).sum() == 119 and len(meta["train_files"]) > 1
              and all(os.path.getsize(os.path.join(d, "shards", n)) <= 4096 for n in meta["train_files"]),
              "data: boundary token 0 per document, validation split, shard size cap")
        gcsim = os.environ.get("GCSIM")
        if gcsim and os.path.exists(gcsim):
            src2 = os.path.join(d, "bpe")
            os.makedirs(src2)
            with open(os.path.join(src2, "c.txt"), "wb") as f:
                f.write(b"Hello world\n<|endoftext|>\nSecond one.\n")
            data.build(src2, os.path.join(src2, "out"), tokenizer="gpt2", files=["c.txt"], gcsim=gcsim)
            ids = np.fromfile(os.path.join(src2, "out", "train_000.bin"), np.uint16)
            check(list(ids[:3]) == [50256, 15496, 995] and (ids == 50256).sum() == 2,
                  "data: GPT-2 BPE ids through `gcsim tokenize`, <|endoftext|> = 50256")
        else:
            print("skip GPT-2 BPE data path (no $GCSIM)")
        run = os.path.join(d, "run")
        args = ["--data", os.path.join(d, "shards"), "--out", run, "--attention", "paper-linear",
                "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--ctx", "64", "--batch", "2",
                "--steps", "4", "--warmup", "1", "--eval-every", "0", "--final-eval-tokens", "256",
                "--device", "cpu", "--dtype", "float64", "--max-seconds", "0"]
        train.main(args)                      # stops after one step (time limit), checkpoints
        train.main(args + ["--resume", "--max-seconds", "100"])   # continues to step 4
        import json
        with open(os.path.join(run, "loss.json")) as f:
            curve = json.load(f)
        check(curve.get("final", {}).get("step") == 4 and "val_loss" in curve["final"],
              "train: time-limited step checkpoints, --resume finishes the schedule")
        t, _ = checkpoint.load_safetensors(os.path.join(run, "model.safetensors"))
        check(float(t["h.0.attn.hw.target_std"].abs().sum()) > 0, "train: paper-linear records target statistics")


if __name__ == "__main__":
    for fn in [test_core_matches_direct, test_variants_forward_backward, test_checkpointed_attention_same_gradients,
               test_calibrated_variant,
               test_surrogate_is_linear_gradient,
               test_checkpoint_round_trip, test_adaptation_reaches_targets, test_data_and_training_step]:
        fn()
    print("%d failure(s)" % len(FAIL))
    sys.exit(1 if FAIL else 0)
