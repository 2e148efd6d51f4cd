"""The `calibrated` attention variant: the analog attention of PAPER.md §3 with the cell taken
from a cell.h5 (the calibrate module's schema, read with h5py) instead of the paper's formulas.
Secondary to the paper variants; evaluation (forward) only, training uses the surrogate
gradient of the linear model (train/model.py).

It follows the C library (cellmodel/model.c, attention/reference.c) step by step:
  q′ → pulse level on the cell's n_q pulse levels over [0, 1] (16 in practice);
  k′, v′ → level l on the cell's write levels over [0, vdd], stored voltage /write/v_stored[l];
  the stored voltage decays along the /leak time-to-voltage tables (one side above v_eq, one
  below, exponential tail with tau_tail_s beyond the tables) for age × seconds_per_token
  (default 1.6e-4 × 5 ms = 0.8 µs, the paper's λ);
  charge read from a cell: /read/charge (n_q, n_v) interpolated monotonically (Steffen) in
  v_store and linearly in pulse fraction between the /read/pulse_frac rows (coulombs);
  φ = c2p(S) / t_max (/c2p/charge → /c2p/pulse, seconds; clamped to [0, t_max]);
  array 2 per sub-tile: readout(O_t) = clamp(pulse_signed(O_t) / t_max, −1, 1) on the grid 2k/31.
Exact decomposition used here: with L pulse rows and K write levels,
  S_ij = Σ_{p,l} Fq[p, l, i−j] · #{d: q_id = p, k_jd = l}
  O_t,id = Σ_{r,l} Σ_{j∈t} h_r(φ_ij) R[r, l, i−j] [v_jd = l]
(h_r: the hat functions of linear interpolation between the pulse rows; Fq, R: charge tables).
"""
import h5py
import numpy as np
import torch

PAPER_TAU_S = 5e-3
DEFAULT_S_PER_TOKEN = 1.6e-4 * PAPER_TAU_S
OUT_STEPS = 31


# ----------------------------------------------------------------------------------------
# Steffen monotone cubic interpolation (as cellmodel/monotone.c)

def steffen_slopes(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n = len(x)
    s = np.zeros(n)
    if n < 2:
        return s
    h = np.diff(x)
    d = np.diff(y) / h
    for i in range(1, n - 1):
        p = (d[i - 1] * h[i] + d[i] * h[i - 1]) / (h[i - 1] + h[i])
        lim = min(abs(d[i - 1]), abs(d[i]), 0.5 * abs(p))
        s[i] = (np.sign(d[i - 1]) + np.sign(d[i])) * lim
    s[0], s[-1] = d[0], d[-1]
    return s


class Curve:
    """y(x) through monotone x; constant beyond the ends. Evaluates numpy arrays or tensors."""

    def __init__(self, x, y):
        self.x = np.asarray(x, np.float64)
        self.y = np.asarray(y, np.float64)
        self.s = steffen_slopes(self.x, self.y)
        self._t = {}

    def __call__(self, v):
        if isinstance(v, torch.Tensor):
            return self._torch(v)
        v = np.asarray(v, np.float64)
        x, y, s = self.x, self.y, self.s
        if len(x) == 1:
            return np.full_like(v, y[0])
        i = np.clip(np.searchsorted(x, v, side="right") - 1, 0, len(x) - 2)
        h = x[i + 1] - x[i]
        t = (v - x[i]) / h
        t2, t3 = t * t, t * t * t
        out = ((2 * t3 - 3 * t2 + 1) * y[i] + (t3 - 2 * t2 + t) * h * s[i] +
               (-2 * t3 + 3 * t2) * y[i + 1] + (t3 - t2) * h * s[i + 1])
        return np.where(v <= x[0], y[0], np.where(v >= x[-1], y[-1], out))

    def _torch(self, v):
        key = (v.device, v.dtype)
        if key not in self._t:
            self._t[key] = [torch.tensor(a, device=v.device, dtype=v.dtype) for a in (self.x, self.y, self.s)]
        x, y, s = self._t[key]
        i = (torch.searchsorted(x, v.contiguous(), right=True) - 1).clamp(0, len(self.x) - 2)
        x0, x1, y0, y1, s0, s1 = x[i], x[i + 1], y[i], y[i + 1], s[i], s[i + 1]
        h = x1 - x0
        t = (v - x0) / h
        t2, t3 = t * t, t * t * t
        out = (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * h * s0 + (-2 * t3 + 3 * t2) * y1 + (t3 - t2) * h * s1
        out = torch.where(v <= x[0], y[0], out)
        return torch.where(v >= x[-1], y[-1], out)


# ----------------------------------------------------------------------------------------
# the cell

class Cell:
    """A cell.h5 model. Units: volts, seconds, coulombs."""

    def __init__(self, path, seconds_per_token=None):
        self.path = path
        try:
            with h5py.File(path, "r") as f:
                self.t_max = float(f["params"].attrs["t_max_s"])
                self.v_mid = float(f["params"].attrs["v_mid_V"])
                self.vdd = float(f["params"].attrs.get("vdd_V", 2 * self.v_mid))
                self.write_v = np.asarray(f["write/v_stored"][...], np.float64).ravel()
                self.pulse_frac = np.asarray(f["read/pulse_frac"][...], np.float64)
                v_store = np.asarray(f["read/v_store"][...], np.float64)
                charge = np.asarray(f["read/charge"][...], np.float64)
                self.v_eq = float(f["leak"].attrs["v_eq_V"])
                self.tau_tail = float(f["leak"].attrs["tau_tail_s"])
                up_v, up_t = f["leak/upper_v"][...], f["leak/upper_t"][...]
                lo_v, lo_t = f["leak/lower_v"][...], f["leak/lower_t"][...]
                self.c2p = Curve(f["c2p/charge"][...], f["c2p/pulse"][...])
                self.readout = Curve(f["readout/charge"][...], f["readout/pulse_signed"][...])
        except (OSError, KeyError) as e:
            raise ValueError("%s: not a readable cell model (%s)" % (path, e))
        if charge.shape != (len(self.pulse_frac), len(v_store)):
            raise ValueError("%s: /read/charge has shape %s, expected (%d, %d)" % (
                path, charge.shape, len(self.pulse_frac), len(v_store)))
        self.read_rows = [Curve(v_store, charge[p]) for p in range(len(self.pulse_frac))]
        # time-to-voltage tables: t(v) and v(t) per side; voltages run toward v_eq
        self.up = (Curve(up_v[::-1], up_t[::-1]) if up_v[0] > up_v[-1] else Curve(up_v, up_t), Curve(up_t, up_v))
        self.lo = (Curve(lo_v, lo_t) if lo_v[0] < lo_v[-1] else Curve(lo_v[::-1], lo_t[::-1]), Curve(lo_t, lo_v))
        self.q_levels = len(self.pulse_frac)
        self.k_levels = len(self.write_v)
        self.s_per_token = seconds_per_token or DEFAULT_S_PER_TOKEN
        self._tables = {}

    # -- transfer functions (numpy, float64) --
    def decay(self, v0, t_s):
        """voltage after t_s seconds from v0 (scalar v0, array t_s)."""
        t_s = np.asarray(t_s, np.float64)
        if v0 == self.v_eq:
            return np.full_like(t_s, v0)
        t_of_v, v_of_t = self.up if v0 > self.v_eq else self.lo
        t_end, v_end = v_of_t.x[-1], v_of_t.y[-1]
        if abs(v0 - self.v_eq) <= abs(v_end - self.v_eq):
            out = self.v_eq + (v0 - self.v_eq) * np.exp(-t_s / self.tau_tail)
        else:
            t1 = float(t_of_v(v0)) + t_s
            out = np.where(t1 >= t_end, self.v_eq + (v_end - self.v_eq) * np.exp(-(t1 - t_end) / self.tau_tail),
                           v_of_t(np.minimum(t1, t_end)))
        return np.where(t_s <= 0, v0, out)

    def row_weights(self, p):
        """(row i, weight w) of linear interpolation at pulse fraction p, as cell_read_charge_c."""
        p = min(max(p, 0.0), 1.0)
        pf, i = self.pulse_frac, 0
        while i < len(pf) - 2 and p > pf[i + 1]:
            i += 1
        return i, (p - pf[i]) / (pf[i + 1] - pf[i])

    def tables(self, T, device, dtype):
        """Fq (n_q, K, T): charge of q level p (pulse p/(n_q-1)) reading write level l at age a;
        R (n_p, K, T): the same for the tabulated pulse rows (array 2 interpolates between them)."""
        key = (T, device, dtype)
        if key not in self._tables:
            ages = np.arange(T) * self.s_per_token
            R = np.empty((len(self.pulse_frac), self.k_levels, T))
            for l in range(self.k_levels):
                v = self.decay(self.write_v[l], ages)
                for r in range(len(self.pulse_frac)):
                    R[r, l] = self.read_rows[r](v)
            Fq = np.empty((self.q_levels, self.k_levels, T))
            for p in range(self.q_levels):
                i, w = self.row_weights(p / (self.q_levels - 1))
                Fq[p] = R[i] + w * (R[i + 1] - R[i])
            self._tables[key] = tuple(torch.tensor(a, device=device, dtype=dtype) for a in (Fq, R))
        return self._tables[key]

    def hats(self, phi):
        """(n_p, ...) weights of linear interpolation in the pulse fraction (clamped to [0,1])."""
        pf = torch.tensor(self.pulse_frac, device=phi.device, dtype=phi.dtype)
        p = phi.clamp(0, 1)
        i = (torch.searchsorted(pf, p.contiguous(), right=False) - 1).clamp(0, len(pf) - 2)
        # the C loop picks i with p <= pf[i+1] (p > pf[i] unless i = 0)
        w = (p - pf[i]) / (pf[i + 1] - pf[i])
        out = torch.zeros((len(pf),) + tuple(p.shape), device=p.device, dtype=p.dtype)
        out.scatter_(0, i.unsqueeze(0), (1 - w).unsqueeze(0))
        out.scatter_add_(0, (i + 1).unsqueeze(0), w.unsqueeze(0))
        return out

    # -- the attention of one layer --
    @torch.no_grad()
    def attention(self, qq, kq, vq, window, tile):
        """qq (B,H,T,D) pulse fractions on the cell's levels; kq, vq (B,H,T,D) volts on its
        write levels. Returns Σ_t readout(O_t), (B,H,T,D), in readout units."""
        B, H, T, D = qq.shape
        dt = torch.float64
        F, R = self.tables(T, qq.device, dt)
        qi = torch.round(qq.to(dt) * (self.q_levels - 1)).long()
        step = self.vdd / (self.k_levels - 1)
        ki = torch.round(kq.to(dt) / step).long().clamp(0, self.k_levels - 1)
        vi = torch.round(vq.to(dt) / step).long().clamp(0, self.k_levels - 1)
        i = torch.arange(T, device=qq.device)
        age = (i.view(T, 1) - i.view(1, T))
        mask = (age >= 0) & (age < window)
        agec = age.clamp(0, T - 1)
        S = torch.zeros(B, H, T, T, device=qq.device, dtype=dt)
        oq = [(qi == p).to(dt) for p in range(self.q_levels)]
        ok = [(ki == l).to(dt) for l in range(self.k_levels)]
        for p in range(self.q_levels):
            for l in range(self.k_levels):
                S += F[p, l][agec] * torch.matmul(oq[p], ok[l].transpose(-1, -2))
        S = S * mask
        phi = (self.c2p(S).clamp(0, self.t_max) / self.t_max) * mask
        hats = self.hats(phi)                                    # (n_p, B, H, T, T)
        nt = (T + tile - 1) // tile
        pad = nt * tile - T
        O = torch.zeros(B, H, nt, T, D, device=qq.device, dtype=dt)
        for l in range(self.k_levels):
            ov = torch.nn.functional.pad((vi == l).to(dt), (0, 0, 0, pad)).view(B, H, nt, tile, D)
            W = torch.zeros(B, H, T, T, device=qq.device, dtype=dt)
            for r in range(len(self.pulse_frac)):
                W += hats[r] * R[r, l][agec]
            W = torch.nn.functional.pad(W * mask, (0, pad)).view(B, H, T, nt, tile).permute(0, 1, 3, 2, 4)
            O += torch.matmul(W, ov)
        r = (self.readout(O) / self.t_max).clamp(-1, 1)
        half = OUT_STEPS / 2.0
        r = torch.round(r * half) / half
        # tiles entirely after row i hold no keys: their charge is 0 and so is their readout
        # only if readout(0) = 0; the C path sums tiles t0 <= i only, so mask them explicitly
        t0 = torch.arange(nt, device=qq.device) * tile
        live = (t0.view(nt, 1) <= i.view(1, T)) & (t0.view(nt, 1) + tile > (i.view(1, T) - window + 1))
        r = r * live.view(1, 1, nt, T, 1)
        return r.sum(2).to(qq.dtype)


def attach(model, cell_h5, seconds_per_token=None):
    """Give every attention layer of a `calibrated` model the cell of `cell_h5`."""
    if not cell_h5:
        raise ValueError("the calibrated variant needs --cell-h5")
    cell = Cell(cell_h5, seconds_per_token)
    for blk in model.h:
        blk.attn.cell = cell
    return cell
