"""GPT-2 with the gain-cell analog attention of Leroux et al. (PAPER.md §3), for training.

What it is: a small, readable PyTorch GPT-2 (pre-LayerNorm, learned positions, tied
embeddings, GELU MLP) whose attention is one of
  softmax        causal softmax attention (the software model)
  softmax-swa    softmax inside a sliding window of M keys
  paper-linear   PAPER.md §3 with g(y) = 19.3 y            (the "intermediate" model)
  paper-cubic    PAPER.md §3 with the cubic g(y)           (surrogate gradient: linear)
  calibrated     a cell.h5 behavioural model (train/calibrated.py; surrogate gradient: linear)
What it is not: the reference implementation. The C library (attention/, harness/) is;
this file must agree with it to 1e-4 relative.

Parameters are stored in Hugging Face GPT-2's Conv1D layout (weight is (in, out),
y = x @ W + b) so that a checkpoint is the state dict with no transposes.
Hardware tensors per layer: attn.hw.{q,k,v,o}_scale / _bias (n_head) and
attn.hw.target_mean / target_std (4, n_head; rows q, k, v, o).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

# ----------------------------------------------------------------------------------------
# constants of the behavioural model (PAPER.md §3); currents in µA, charges in µA·T_max

G_CUBIC = (0.52136361, 13.61226063, -2.62044562, 46.05483778)   # g(y) = Σ c_p y^p
G_LINEAR = 19.3                                                  # g(y) = 19.3 y
V_MID = 0.45            # mid-rail, the zero of a stored weight (V)
V_MAX = 0.9             # stored range [0, 0.9] V
LAMBDA = 1.6e-4         # decay per token of age
S_SAT = 80.0            # charge-to-pulse saturation (array 1)
O_SAT = 40.0            # signed readout saturation (array 2)
Q_LEVELS, KV_LEVELS, O_STEPS = 16, 8, 31   # readout grid 2k/31
TILE = 64               # keys per sub-tile (one K array + one V array)
HW_VARIANTS = ("paper-linear", "paper-cubic", "calibrated")
VARIANTS = ("softmax", "softmax-swa") + HW_VARIANTS
STAT_EMA = 0.1


def default_config(**kw):
    """The configuration dictionary; keys as in config.json's "gcsim" block."""
    cfg = dict(vocab_size=256, n_ctx=1024, n_layer=6, n_head=4, n_embd=256,
               gelu="tanh", attention="softmax", window=1024, lambda_per_token=LAMBDA,
               ln_eps=1e-5, tile=TILE, checkpoint_attn=False, cell_h5=None,
               seconds_per_token=None)
    cfg.update(kw)
    assert cfg["attention"] in VARIANTS, cfg["attention"]
    assert cfg["gelu"] in ("tanh", "erf")
    assert cfg["n_embd"] % cfg["n_head"] == 0
    return cfg


# ----------------------------------------------------------------------------------------
# straight-through quantisers

def quant_ste(x, lo, hi, levels):
    """clamp x to [lo, hi], then round to step (hi-lo)/(levels-1), half to even.
    Forward: the quantised value; backward: the gradient of the clamp (identity inside)."""
    xc = x.clamp(lo, hi)
    step = (hi - lo) / (levels - 1)
    xq = lo + step * torch.round((xc - lo) / step)
    return xc + (xq - xc).detach()


def readout_ste(o):
    """Signed readout of array 2: clamp(o/O_SAT, -1, 1) on the grid 2k/31 (half to even,
    so ±1 becomes ±32/31). Straight-through past the rounding."""
    r = (o / O_SAT).clamp(-1.0, 1.0)
    half = O_STEPS / 2.0
    rq = torch.round(r * half) / half
    return r + (rq - r).detach()


# ----------------------------------------------------------------------------------------
# the analog attention core

def _decay_and_mask(T, window, lam, device, dtype):
    """delta (T,T) = exp(-lam*(i-j)) inside the causal window, 0 outside; mask (T,T) bool."""
    i = torch.arange(T, device=device).view(T, 1)
    j = torch.arange(T, device=device).view(1, T)
    age = (i - j)
    mask = (age >= 0) & (age < window)
    delta = torch.exp(-lam * age.clamp(min=0).to(dtype)) * mask.to(dtype)
    return delta, mask


def _poly_terms(kind):
    """(c0, [(p, c_p)...]) of g(y) = c0 + Σ c_p y^p."""
    if kind == "linear":
        return 0.0, [(1, G_LINEAR)]
    return G_CUBIC[0], [(1, G_CUBIC[1]), (2, G_CUBIC[2]), (3, G_CUBIC[3])]


def hw_attention(q, k, v, kind, window, lam, tile=TILE):
    """Analog attention of PAPER.md §3 for scaled inputs.
    q is (B,H,T,D) in [0,1] (quantised pulse widths), k and v are (B,H,T,D) stored voltages
    in [0,0.9] V. kind: "linear" or "cubic". Returns O = Σ_t readout(O_t), (B,H,T,D),
    in readout units (each sub-tile contributes at most 32/31 in magnitude).
    Exact decomposition: g((x-0.45)δ) = c0 + Σ_p c_p δ^p (x-0.45)^p, so
    S = c0 Σ_d q + Σ_p c_p δ^p ⊙ (q (k-0.45)^pᵀ) and per tile
    O_t = c0 Σ_{j∈t} φ + Σ_p c_p (φ ⊙ δ^p)_t (v-0.45)^p_t."""
    B, H, T, D = q.shape
    c0, terms = _poly_terms(kind)
    delta, mask = _decay_and_mask(T, window, lam, q.device, q.dtype)
    yk = k - V_MID
    yv = v - V_MID
    # array 1 and charge-to-pulse
    s = torch.zeros(B, H, T, T, device=q.device, dtype=q.dtype)
    for p, c in terms:
        s = s + (c * delta.pow(p)) * torch.matmul(q, yk.pow(p).transpose(-1, -2))
    if c0 != 0.0:
        s = s + c0 * q.sum(-1, keepdim=True) * mask.to(q.dtype)
    phi = (s / S_SAT).clamp(0.0, 1.0) * mask.to(q.dtype)
    # array 2 per sub-tile of `tile` consecutive absolute key positions
    nt = (T + tile - 1) // tile
    pad = nt * tile - T
    if pad:
        phi = F.pad(phi, (0, pad))
        delta = F.pad(delta, (0, pad))
        yv = F.pad(yv, (0, 0, 0, pad))
    phi_t = phi.view(B, H, T, nt, tile)
    o = torch.zeros(B, H, nt, T, D, device=q.device, dtype=q.dtype)
    for p, c in terms:
        w = (phi * delta.pow(p)).view(B, H, T, nt, tile).permute(0, 1, 3, 2, 4)  # B,H,nt,T,tile
        vt = yv.pow(p).view(B, H, nt, tile, D)
        o = o + c * torch.matmul(w, vt)
    if c0 != 0.0:
        o = o + c0 * phi_t.sum(-1).permute(0, 1, 3, 2).unsqueeze(-1)
    return readout_ste(o).sum(2)


# ----------------------------------------------------------------------------------------
# modules

class HwScalers(nn.Module):
    """Per-head affine scalers and the target statistics (PAPER.md §3, §4)."""

    def __init__(self, n_head):
        super().__init__()
        H = n_head
        self.q_scale = nn.Parameter(torch.ones(H))
        self.q_bias = nn.Parameter(torch.zeros(H))
        self.k_scale = nn.Parameter(torch.ones(H))
        self.k_bias = nn.Parameter(torch.full((H,), V_MID))
        self.v_scale = nn.Parameter(torch.ones(H))
        self.v_bias = nn.Parameter(torch.full((H,), V_MID))
        self.o_scale = nn.Parameter(torch.ones(H))
        self.o_bias = nn.Parameter(torch.zeros(H))
        self.register_buffer("target_mean", torch.zeros(4, H))
        self.register_buffer("target_std", torch.ones(4, H))
        self.register_buffer("target_count", torch.zeros(()))   # not exported
        self.record_targets = False     # EMA into target_* (linear model, training)
        self.measure = False            # keep this batch's moments in self.moments
        self.moments = None             # (mean (4,H), std (4,H)) of the last forward

    @staticmethod
    def affine(x, a, b):
        """x (B,H,T,D), a and b (H,)."""
        return x * a.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)

    @staticmethod
    def head_moments(x):
        """per-head mean and (population) std over batch, time and dimension."""
        xs = x.detach().transpose(0, 1).reshape(x.shape[1], -1).double()
        return xs.mean(1), xs.std(1, unbiased=False)

    def observe(self, outs):
        if not (self.record_targets or self.measure):
            return
        m = torch.stack([self.head_moments(x)[0] for x in outs]).to(self.target_mean.dtype)
        s = torch.stack([self.head_moments(x)[1] for x in outs]).to(self.target_std.dtype)
        if self.measure:
            self.moments = (m, s)
        if self.record_targets:     # EMA; the first observation initialises (no .item())
            w = torch.where(self.target_count > 0, torch.full_like(self.target_count, STAT_EMA),
                            torch.ones_like(self.target_count))
            self.target_mean.mul_(1 - w).add_(w * m)
            self.target_std.mul_(1 - w).add_(w * s)
            self.target_count.add_(1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, H = cfg["n_embd"], cfg["n_head"]
        self.cfg = cfg
        self.n_head = H
        self.c_attn_w = nn.Parameter(torch.empty(C, 3 * C))
        self.c_attn_b = nn.Parameter(torch.zeros(3 * C))
        self.c_proj_w = nn.Parameter(torch.empty(C, C))
        self.c_proj_b = nn.Parameter(torch.zeros(C))
        self.hw = HwScalers(H) if cfg["attention"] in HW_VARIANTS else None
        self.cell = None    # calibrated cell model, attached by calibrated.attach()

    def _softmax(self, q, k, v):
        T = q.shape[2]
        M = self.cfg["window"] if self.cfg["attention"] == "softmax-swa" else T
        sdpa = getattr(F, "scaled_dot_product_attention", None)
        if sdpa is not None and M >= T:
            return sdpa(q, k, v, is_causal=True)
        _, mask = _decay_and_mask(T, M, 0.0, q.device, torch.float32)
        if sdpa is not None:
            return sdpa(q, k, v, attn_mask=mask)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        return att @ v

    def _hw_core(self, q, k, v):
        """scalers → clamp/quantise → array model → output scaler; (B,H,T,D) fp32 each."""
        hw, cfg = self.hw, self.cfg
        qs = hw.affine(q, hw.q_scale, hw.q_bias)
        ks = hw.affine(k, hw.k_scale, hw.k_bias)
        vs = hw.affine(v, hw.v_scale, hw.v_bias)
        if self.cell is not None:       # calibrated: the cell's pulse and write levels
            nq, nk, vmax = self.cell.q_levels, self.cell.k_levels, self.cell.vdd
        else:
            nq, nk, vmax = Q_LEVELS, KV_LEVELS, V_MAX
        qq = quant_ste(qs, 0.0, 1.0, nq)
        kq = quant_ste(ks, 0.0, vmax, nk)
        vq = quant_ste(vs, 0.0, vmax, nk)
        M, lam, tile = cfg["window"], cfg["lambda_per_token"], cfg["tile"]
        kind = cfg["attention"]
        need_grad = torch.is_grad_enabled() and q.requires_grad
        if kind == "paper-linear":
            o = hw_attention(qq, kq, vq, "linear", M, lam, tile)
        else:
            if kind == "paper-cubic":
                o_nl = hw_attention(qq.detach() if need_grad else qq, kq.detach() if need_grad else kq,
                                    vq.detach() if need_grad else vq, "cubic", M, lam, tile)
            else:
                o_nl = self.cell.attention(qq.detach(), kq.detach(), vq.detach(), M, tile)
            if need_grad:   # surrogate: value of the nonlinear model, gradient of the linear
                o_lin = hw_attention(qq, kq, vq, "linear", M, lam, tile)
                o = o_lin + (o_nl - o_lin).detach()
            else:
                o = o_nl
        y = hw.affine(o, hw.o_scale, hw.o_bias)
        return y, (qs, ks, vs, y)

    def forward(self, x):
        B, T, C = x.shape
        H = self.n_head
        qkv = torch.addmm(self.c_attn_b, x.reshape(-1, C), self.c_attn_w).view(B, T, 3, H, C // H)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)      # each (B,H,T,D)
        if self.hw is None:
            y = self._softmax(q, k, v)
        else:
            with _no_autocast(x.device):
                q, k, v = q.float(), k.float(), v.float()
                if self.cfg["checkpoint_attn"] and torch.is_grad_enabled():
                    y, outs = checkpoint(self._hw_core, q, k, v, use_reentrant=False)
                else:
                    y, outs = self._hw_core(q, k, v)
                self.hw.observe(outs)
            y = y.to(x.dtype)
        y = y.transpose(1, 2).reshape(B * T, C)
        return torch.addmm(self.c_proj_b, y, self.c_proj_w).view(B, T, C)


def _no_autocast(device):
    if device.type == "cuda":
        return torch.autocast("cuda", enabled=False)
    return torch.autocast("cpu", enabled=False)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.ln_1 = nn.LayerNorm(C, eps=cfg["ln_eps"])
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(C, eps=cfg["ln_eps"])
        self.c_fc_w = nn.Parameter(torch.empty(C, 4 * C))
        self.c_fc_b = nn.Parameter(torch.zeros(4 * C))
        self.c_proj_w = nn.Parameter(torch.empty(4 * C, C))
        self.c_proj_b = nn.Parameter(torch.zeros(C))
        self.gelu = "tanh" if cfg["gelu"] == "tanh" else "none"

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        B, T, C = x.shape
        h = torch.addmm(self.c_fc_b, self.ln_2(x).reshape(-1, C), self.c_fc_w)
        h = F.gelu(h, approximate=self.gelu)
        return x + torch.addmm(self.c_proj_b, h, self.c_proj_w).view(B, T, C)


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        C = cfg["n_embd"]
        self.wte = nn.Embedding(cfg["vocab_size"], C)
        self.wpe = nn.Embedding(cfg["n_ctx"], C)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(C, eps=cfg["ln_eps"])
        self.reset_parameters()

    def reset_parameters(self, seed=None):
        """GPT-2 initialisation: N(0, 0.02); residual projections N(0, 0.02/sqrt(2L))."""
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        std_res = 0.02 / math.sqrt(2 * self.cfg["n_layer"])
        for name, p in self.named_parameters():
            if ".hw." in name:
                continue
            if name.endswith("_w") or name.endswith("wte.weight") or name.endswith("wpe.weight"):
                std = std_res if name.endswith("c_proj_w") else 0.02
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)

    def hw_modules(self):
        return [b.attn.hw for b in self.h if b.attn.hw is not None]

    def forward(self, idx, targets=None):
        """idx (B,T) token ids → logits (B,T,V); with targets, also the mean cross-entropy."""
        B, T = idx.shape
        assert T <= self.cfg["n_ctx"]
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for blk in self.h:
            x = blk(x)
        x = self.ln_f(x)
        logits = x @ self.wte.weight.t().to(x.dtype)
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss


# ----------------------------------------------------------------------------------------
# Hugging Face GPT-2 names (Conv1D layout) ↔ our state dict

def hf_name(ours):
    """GPT-2 (Hugging Face) name of one of our state-dict entries."""
    n = ours.replace(".attn.c_attn_w", ".attn.c_attn.weight").replace(".attn.c_attn_b", ".attn.c_attn.bias")
    n = n.replace(".attn.c_proj_w", ".attn.c_proj.weight").replace(".attn.c_proj_b", ".attn.c_proj.bias")
    n = n.replace(".c_fc_w", ".mlp.c_fc.weight").replace(".c_fc_b", ".mlp.c_fc.bias")
    return n.replace(".c_proj_w", ".mlp.c_proj.weight").replace(".c_proj_b", ".mlp.c_proj.bias")


def hf_state(model):
    """Our state dict under GPT-2 names; hardware tensors under h.{i}.attn.hw.*. The target
    statistics are left out while nothing has been recorded (harness/README-checkpoint.md:
    the group is optional as a whole)."""
    out = {}
    for n, t in model.state_dict().items():
        if n.endswith("target_count"):
            continue
        if (n.endswith("target_mean") or n.endswith("target_std")) and \
                model.state_dict()[n.rsplit(".", 1)[0] + ".target_count"].item() == 0:
            continue
        out[hf_name(n)] = t
    return out


def load_hf_state(model, tensors, strict_hw=False):
    """Load GPT-2-named tensors. Hardware tensors missing from `tensors` keep their
    initial values unless strict_hw; extra hardware tensors are ignored when the model has
    no hardware (so a hardware checkpoint can start a softmax model and vice versa)."""
    sd = model.state_dict()
    missing = []
    with torch.no_grad():
        for ours, t in sd.items():
            if ours.endswith("target_count"):
                continue
            theirs = hf_name(ours)
            if theirs in tensors:
                t.copy_(tensors[theirs].to(t.dtype))
            elif ".hw." not in theirs or strict_hw:
                missing.append(theirs)
        has_targets = any(".hw.target_mean" in n for n in tensors)
        for hw in model.hw_modules():
            hw.target_count.fill_(1.0 if has_targets else 0.0)
    if missing:
        raise KeyError("checkpoint lacks tensors: " + ", ".join(missing[:8]))
    return model
