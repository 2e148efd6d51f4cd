"""Independent GPT-2 reference for the harness tests (PyTorch, CPU, float64).

Written from Hugging Face's GPT-2 definition (GPT2LMHeadModel: pre-LayerNorm, Conv1D
weights stored (in, out), learned positions, tied LM head, GELU "gelu_new" = tanh or "gelu" =
erf) and from PAPER.md §3 for the analog variants, without reading the C code. Also a minimal
safetensors writer (u64 header length + JSON header + raw little-endian data) and an llm.c
checkpoint writer. Imported by the test_* scripts; not a test by itself.
"""
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

HW = ("q", "k", "v", "o")


# ------------------------------------------------------------------------------------------
# Random models

def random_model(seed, n_layer, n_head, n_embd, vocab, n_pos, gelu="gelu_new", hw=False,
                 targets=False, wte_std=0.02):
    """Returns (config dict, {name: float64 numpy array}) with HF names and Conv1D layout.
    A large wte_std gives confident, varied predictions (a sharper test of scoring)."""
    rng = np.random.default_rng(seed)
    C = n_embd
    t = {}
    t["wte.weight"] = rng.normal(0, wte_std, (vocab, C))
    t["wpe.weight"] = rng.normal(0, 0.01, (n_pos, C))
    for i in range(n_layer):
        p = f"h.{i}."
        t[p + "ln_1.weight"] = 1 + rng.normal(0, 0.1, C)
        t[p + "ln_1.bias"] = rng.normal(0, 0.02, C)
        t[p + "attn.c_attn.weight"] = rng.normal(0, 0.02 * 4, (C, 3 * C))
        t[p + "attn.c_attn.bias"] = rng.normal(0, 0.02, 3 * C)
        t[p + "attn.c_proj.weight"] = rng.normal(0, 0.02, (C, C))
        t[p + "attn.c_proj.bias"] = rng.normal(0, 0.02, C)
        t[p + "ln_2.weight"] = 1 + rng.normal(0, 0.1, C)
        t[p + "ln_2.bias"] = rng.normal(0, 0.02, C)
        t[p + "mlp.c_fc.weight"] = rng.normal(0, 0.02, (C, 4 * C))
        t[p + "mlp.c_fc.bias"] = rng.normal(0, 0.02, 4 * C)
        t[p + "mlp.c_proj.weight"] = rng.normal(0, 0.02, (4 * C, C))
        t[p + "mlp.c_proj.bias"] = rng.normal(0, 0.02, C)
        if hw:
            for s in HW:
                t[p + f"attn.hw.{s}_scale"] = rng.uniform(0.8, 1.6, n_head)
                base = {"q": 0.3, "k": 0.45, "v": 0.45, "o": 0.0}[s]
                t[p + f"attn.hw.{s}_bias"] = base + rng.uniform(-0.05, 0.05, n_head)
        if targets:
            t[p + "attn.hw.target_mean"] = rng.uniform(-0.1, 0.1, (4, n_head))
            t[p + "attn.hw.target_std"] = rng.uniform(0.1, 0.3, (4, n_head))
    t["ln_f.weight"] = 1 + rng.normal(0, 0.1, C)
    t["ln_f.bias"] = rng.normal(0, 0.02, C)
    cfg = {"model_type": "gpt2", "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd,
           "vocab_size": vocab, "n_positions": n_pos, "n_ctx": n_pos,
           "layer_norm_epsilon": 1e-5, "activation_function": gelu}
    return cfg, t


# ------------------------------------------------------------------------------------------
# Files

ST_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


def write_safetensors(path, tensors, dtype="F32", prefix="", order=None):
    """Minimal writer: u64 LE header length, JSON header (padded with spaces to 8 bytes), data.
    dtype F32, F16 or BF16 (BF16 by truncation with round-to-nearest-even of float32)."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in (order or tensors):
        a = np.ascontiguousarray(tensors[name])
        if dtype == "BF16":
            u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
            u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
            raw = u.tobytes()
        else:
            raw = a.astype(ST_DTYPES[dtype]).tobytes()
        header[prefix + name] = {"dtype": dtype, "shape": list(a.shape),
                                 "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=ST_DTYPES[v["dtype"]]).reshape(v["shape"])
    return out


def write_model_dir(d, cfg, tensors, dtype="F32", prefix=""):
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors, dtype, prefix)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)


def stored_values(tensors, dtype):
    """The float64 values a reader sees after storing tensors in dtype."""
    if dtype == "F32":
        return {k: v.astype(np.float32).astype(np.float64) for k, v in tensors.items()}
    if dtype == "F16":
        return {k: v.astype(np.float16).astype(np.float64) for k, v in tensors.items()}
    out = {}
    for k, v in tensors.items():
        u = v.astype(np.float32).view(np.uint32).astype(np.uint64)
        u = (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32)
        out[k] = u.view(np.float32).astype(np.float64)
    return out


def write_llmc(path, cfg, tensors, padded_vocab):
    """llm.c version 3: 256 int32 header, then float32 params in llm.c order, weights (out, in)."""
    L, C, V, T = cfg["n_layer"], cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    hdr = np.zeros(256, np.int32)
    hdr[:8] = [20240326, 3, T, V, L, cfg["n_head"], C, padded_vocab]
    wte = np.zeros((padded_vocab, C))
    wte[:V] = tensors["wte.weight"]

    def stack(fmt, transpose=False):
        return np.stack([tensors[fmt.format(i)].T if transpose else tensors[fmt.format(i)]
                         for i in range(L)])
    parts = [wte, tensors["wpe.weight"], stack("h.{}.ln_1.weight"), stack("h.{}.ln_1.bias"),
             stack("h.{}.attn.c_attn.weight", True), stack("h.{}.attn.c_attn.bias"),
             stack("h.{}.attn.c_proj.weight", True), stack("h.{}.attn.c_proj.bias"),
             stack("h.{}.ln_2.weight"), stack("h.{}.ln_2.bias"),
             stack("h.{}.mlp.c_fc.weight", True), stack("h.{}.mlp.c_fc.bias"),
             stack("h.{}.mlp.c_proj.weight", True), stack("h.{}.mlp.c_proj.bias"),
             tensors["ln_f.weight"], tensors["ln_f.bias"]]
    with open(path, "wb") as f:
        f.write(hdr.tobytes())
        for p in parts:
            f.write(np.ascontiguousarray(p, dtype=np.float32).tobytes())


def write_npy_u32(path, ids):
    np.save(path, np.asarray(ids, dtype=np.uint32))


# ------------------------------------------------------------------------------------------
# Attention (PAPER.md §3 for the analog variants)

def g_cubic(y):
    return 0.52136361 + 13.61226063 * y - 2.62044562 * y ** 2 + 46.05483778 * y ** 3


def g_linear(y):
    return 19.3 * y


class Guide:
    """Decision replay. The quantisers are discontinuous: an input within float32 rounding of a
    boundary may round one way in a float32 implementation and the other way here, and one
    such flip moves a logit by far more than 1e-4. A Guide holds what the implementation saw
    and returned in every layer (q', k', v' and the head output O, as gpt2_attn_probe gives
    them; arrays (L, heads, T, D)). Where its decision differs from ours, we take it if our
    own input lies within `band` steps of that boundary and count it; a difference anywhere
    else is a violation (the test fails). Everything else stays our own float64 arithmetic."""

    def __init__(self, arrays, head0=0, band=1e-3):
        self.x, self.head0, self.band = arrays, head0, band
        self.followed, self.max_margin, self.violations = 0, 0.0, []

    def head(self, l, h):
        return {s: self.x[s][l, self.head0 + h] for s in HW}

    def _take(self, margins):
        self.followed += len(margins)
        self.max_margin = max([self.max_margin] + [float(m) for m in margins])

    @staticmethod
    def margin(u, kmin, kmax):
        """Distance in steps from the unclamped input u to the nearest boundary between the
        codes kmin..kmax (k + 1/2 for kmin <= k < kmax): a clamped input is far from one."""
        return (u - torch.clamp(torch.floor(u) + 0.5, kmin + 0.5, kmax - 0.5)).abs()

    def follow_codes(self, where, u, kmax, code, theirs):
        """u: our unclamped input in steps, code its code in 0..kmax; theirs: the
        implementation's codes."""
        differ = code != theirs
        if not bool(differ.any()):
            return code
        margin = self.margin(u, 0, kmax)
        bad = differ & ((margin >= self.band) | ((code - theirs).abs() != 1))
        if bool(bad.any()):
            self.violations.append(f"{where}: {int(bad.sum())} codes differ, our input "
                                   f"{float(margin[bad].min()):.3g} steps from a boundary")
        self._take(margin[differ & ~bad].tolist())
        return torch.where(differ, theirs, code)

    def follow_sum(self, where, U, kmax, codes, their_total):
        """U (tiles, T, D): our unclamped tile readouts in steps, codes their codes in
        -kmax..kmax; their_total (T, D): the implementation's digital sum in steps. Each
        difference must be made of tiles of ours within `band` of a boundary, rounded the
        other way."""
        need = their_total - codes.sum(0)
        for i, d in (need != 0).nonzero().tolist():
            n = int(need[i, d])
            u, c = U[:, i, d], codes[:, i, d]
            margin = self.margin(u, -kmax, kmax)
            can = (margin < self.band) & ((c < u) if n > 0 else (c > u))
            if int(can.sum()) < abs(n):
                self.violations.append(f"{where} row {i} dim {d}: sum differs by {n} steps, "
                                       f"{int(can.sum())} tiles near a boundary")
            else:
                self._take(sorted(margin[can].tolist())[:abs(n)])
        return their_total


def quantise(x, lo, hi, levels, guide=None, where="", theirs=None):
    step = (hi - lo) / (levels - 1)
    code = torch.round(torch.clamp(x, lo, hi) / step)  # round half to even
    if guide is not None:
        their = torch.round(torch.clamp(torch.from_numpy(theirs.astype(np.float64)), lo, hi)
                            / step)
        code = guide.follow_codes(where, x / step, levels - 1, code, their)
    return step * code


def analog_head(q, k, v, g, lam=1.6e-4, window=1024, tile=64, guide=None, where="", seen=None):
    """q, k, v: (T, D) after the scalers. Returns O (T, D), the sum of tile readouts.
    guide, seen: a Guide and the implementation's (q, k, v, o) of this head, or None."""
    T = q.shape[0]
    gs = seen if seen is not None else {}
    qq = quantise(q, 0.0, 1.0, 16, guide, where + " q", gs.get("q"))
    kq = quantise(k, 0.0, 0.9, 8, guide, where + " k", gs.get("k")) - 0.45
    vq = quantise(v, 0.0, 0.9, 8, guide, where + " v", gs.get("v")) - 0.45
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    age = (i - j).double()
    mask = (j <= i) & (j > i - window)
    delta = torch.exp(-lam * age.clamp(min=0))
    # S_ij = sum_d q_id g(k_jd delta_ij)
    S = torch.einsum("id,ijd->ij", qq, g(kq[None, :, :] * delta[:, :, None]))
    S = torch.where(mask, S, torch.zeros(()))
    phi = torch.clamp(S / 80.0, 0.0, 1.0)
    phi = torch.where(mask, phi, torch.zeros(()))
    gv = g(vq[None, :, :] * delta[:, :, None])  # (i, j, d)
    step = 2.0 / 31.0
    R = torch.stack([torch.einsum("ij,ijd->id", phi[:, t0:t0 + tile], gv[:, t0:t0 + tile])
                     / 40.0 for t0 in range(0, T, tile)])  # (tiles, T, D) readouts, unclamped
    codes = torch.round(torch.clamp(R, -1.0, 1.0) / step)
    total = codes.sum(0)
    if guide is not None:
        theirs = torch.round(torch.from_numpy(gs["o"].astype(np.float64)) / step)
        total = guide.follow_sum(where + " counter", R / step, 16, codes, theirs)
    return step * total


def softmax_head(q, k, v):
    T, D = q.shape
    s = q @ k.T / math.sqrt(D)
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    return torch.softmax(s, -1) @ v


# ------------------------------------------------------------------------------------------
# GPT-2 forward

def layernorm(x, w, b, eps):
    m = x.mean(-1, keepdim=True)
    v = ((x - m) ** 2).mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(v + eps) * w + b


def gelu(x, kind):
    if kind == "gelu":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def default_hw(n_head):
    return {"q": (np.ones(n_head), np.zeros(n_head)), "k": (np.ones(n_head), np.full(n_head, .45)),
            "v": (np.ones(n_head), np.full(n_head, .45)), "o": (np.ones(n_head), np.zeros(n_head))}


def forward(cfg, tensors, tokens, variant="softmax", stats=None, guide=None, cell=None):
    """tokens: (T,) ints. Returns logits (T, V) float64 torch. variant: softmax, paper-linear,
    paper-cubic. stats, if a dict, gets (layer, scaler) -> (mean (NH,), std (NH,)).
    guide: a Guide with the implementation's decisions for this sequence (analog only).
    cell: dict(g=..., window=..., tile=...) for an analog variant of other g and geometry."""
    P = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in tensors.items()}
    L, NH, C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    D = C // NH
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = cfg.get("activation_function", "gelu_new")
    tok = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
    T = tok.shape[0]
    x = P["wte.weight"][tok] + P["wpe.weight"][:T]
    for l in range(L):
        p = f"h.{l}."
        h = layernorm(x, P[p + "ln_1.weight"], P[p + "ln_1.bias"], eps)
        qkv = h @ P[p + "attn.c_attn.weight"] + P[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, -1)
        heads = []
        for hd in range(NH):
            sl = slice(hd * D, (hd + 1) * D)
            if variant == "softmax":
                heads.append(softmax_head(q[:, sl], k[:, sl], v[:, sl]))
                continue
            sc = {}
            for s in HW:
                if p + f"attn.hw.{s}_scale" in P:
                    sc[s] = (P[p + f"attn.hw.{s}_scale"][hd], P[p + f"attn.hw.{s}_bias"][hd])
                else:
                    a, b = default_hw(NH)[s]
                    sc[s] = (float(a[hd]), float(b[hd]))
            qs = sc["q"][0] * q[:, sl] + sc["q"][1]
            ks = sc["k"][0] * k[:, sl] + sc["k"][1]
            vs = sc["v"][0] * v[:, sl] + sc["v"][1]
            g = g_cubic if variant == "paper-cubic" else g_linear
            geometry = {}
            if cell:
                g, geometry = cell["g"], dict(window=cell["window"], tile=cell["tile"])
            seen = guide.head(l, hd) if guide is not None else None
            o = analog_head(qs, ks, vs, g, guide=guide, where=f"layer {l} head {hd}", seen=seen,
                            **geometry)
            o = sc["o"][0] * o + sc["o"][1]
            if stats is not None:
                for s, val in zip(HW, (qs, ks, vs, o)):
                    m_, s_ = stats.setdefault((l, s), (np.zeros(NH), np.zeros(NH)))
                    m_[hd] = float(val.mean())
                    s_[hd] = float(val.std(unbiased=False))
            heads.append(o)
        y = torch.cat(heads, -1) @ P[p + "attn.c_proj.weight"] + P[p + "attn.c_proj.bias"]
        x = x + y
        h = layernorm(x, P[p + "ln_2.weight"], P[p + "ln_2.bias"], eps)
        h = gelu(h @ P[p + "mlp.c_fc.weight"] + P[p + "mlp.c_fc.bias"], act)
        x = x + h @ P[p + "mlp.c_proj.weight"] + P[p + "mlp.c_proj.bias"]
    x = layernorm(x, P["ln_f.weight"], P["ln_f.bias"], eps)
    return x @ P["wte.weight"].T


def sliding_nll(cfg, tensors, ids, ctx, stride, variant="softmax", cell=None):
    """Hugging Face's sliding-window protocol: windows of ctx tokens start every stride tokens;
    each window scores only the tokens the previous one did not. Returns (total NLL, count)."""
    ids = np.asarray(ids)
    n = len(ids)
    total, count, prev_end = 0.0, 0, 0
    for begin in range(0, n, stride):
        end = min(begin + ctx, n)
        trg = end - prev_end
        logits = forward(cfg, tensors, ids[begin:end], variant, cell=cell)
        logp = torch.log_softmax(logits, -1)
        tgt = torch.as_tensor(ids[begin + 1:end].astype(np.int64))
        nll = -logp[:-1].gather(1, tgt[:, None])[:, 0]
        # positions begin+1..end-1 are predicted; score the last trg of those that are new
        first = max(prev_end, begin + 1)
        total += float(nll[first - (begin + 1):].sum())
        count += end - first
        prev_end = end
        if end == n:
            break
    return total, count


# ------------------------------------------------------------------------------------------
# Helpers for the test scripts

def env(name):
    v = os.environ.get(name)
    if not v:
        print(f"{name} is not set (run through meson test)", file=sys.stderr)
        sys.exit(2)
    return v


def run(cmd, expect_ok=True, **kw):
    text = kw.pop("text", True)
    r = subprocess.run(cmd, capture_output=True, text=text, **kw)
    if expect_ok and r.returncode != 0:
        print("command failed:", " ".join(cmd), "\n", r.stdout, r.stderr, file=sys.stderr)
        sys.exit(1)
    return r


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))
