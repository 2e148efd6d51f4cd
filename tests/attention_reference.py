"""Independent float64 reference of the attention variants, written from PAPER.md §3
(numpy, vectorised over keys; shares no code with the C). Used by the attention tests.

paper(q, k, v, ...) and softmax(q, k, v, ...) take (B,T,D) arrays and return out (B,T,D),
S and phi (B,T,T) and, for the paper variants, `margin` (B,T,D): the smallest distance, in
counter steps, of any tile's readout to a rounding threshold of the counter (large when the
counter quantisation is off). A float32 evaluation may legitimately land on the other side of
a threshold only where that margin is tiny."""
import numpy as np

CUBIC = (0.52136361, 13.61226063, -2.62044562, 46.05483778)
LINEAR = (0.0, 19.3, 0.0, 0.0)


def quant(x, rng, levels, on):
    """PAPER.md §3: clamp to [0, rng], step rng/(levels-1), round half to even."""
    x = np.clip(x.astype(np.float64), 0.0, rng)
    if not on:
        return x
    step = rng / (levels - 1)
    return step * np.round(x / step)


def g(y, coeffs):
    c0, c1, c2, c3 = coeffs
    return c0 + c1 * y + c2 * y**2 + c3 * y**3


def window_mask(T, M):
    i = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    return (j <= i) & (j > i - M), np.maximum(i - j, 0)


def paper(q, k, v, variant="paper-cubic", window=1024, tile=64, quant_q=True, quant_k=True,
          quant_v=True, quant_out=True, q_levels=16, kv_levels=8, out_levels=32, lam=1.6e-4,
          coeffs=None):
    """coeffs: g's polynomial in uA (4), instead of the variant's."""
    coeffs = coeffs or (CUBIC if variant == "paper-cubic" else LINEAR)
    B, T, D = q.shape
    vis, age = window_mask(T, window)
    delta = np.exp(-lam * age)                                  # (T,T)
    out = np.zeros((B, T, D))
    S = np.zeros((B, T, T))
    phi = np.zeros((B, T, T))
    margin = np.full((B, T, D), np.inf)
    step = 2.0 / (out_levels - 1)
    for b in range(B):
        qq = quant(q[b], 1.0, q_levels, quant_q)                 # (T,D) pulse fractions
        kq = quant(k[b], 0.9, kv_levels, quant_k)                # (T,D) volts
        vq = quant(v[b], 0.9, kv_levels, quant_v)
        gk = g((kq[None, :, :] - 0.45) * delta[:, :, None], coeffs)   # (T,T,D)
        s = np.einsum("id,ijd->ij", qq, gk)
        s = np.where(vis, s, 0.0)
        p = np.where(vis, np.clip(s / 80.0, 0.0, 1.0), 0.0)
        gv = g((vq[None, :, :] - 0.45) * delta[:, :, None], coeffs)   # (T,T,D)
        for t0 in range(0, T, tile):
            cols = slice(t0, min(t0 + tile, T))
            o = np.einsum("ij,ijd->id", p[:, cols], gv[:, cols])      # (T,D)
            read = vis[:, cols].any(axis=1)[:, None]                  # tile read by row i?
            r = np.clip(o / 40.0, -1.0, 1.0)
            if quant_out:
                frac = np.abs(np.abs(r / step - np.floor(r / step)) - 0.5)
                margin[b] = np.where(read, np.minimum(margin[b], frac), margin[b])
                r = step * np.round(r / step)
            out[b] += np.where(read, r, 0.0)
        S[b], phi[b] = s, p
    return out, S, phi, margin


def softmax(q, k, v, window=None, scale=None):
    """GPT-2 attention (causal, optionally a sliding window), float64."""
    B, T, D = q.shape
    scale = 1.0 / np.sqrt(D) if scale is None else scale
    vis, _ = window_mask(T, window if window else T)
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    S = np.einsum("bid,bjd->bij", q, k) * scale
    w = np.where(vis, S, -np.inf)
    w = np.exp(w - w.max(axis=-1, keepdims=True))
    phi = w / w.sum(axis=-1, keepdims=True)
    return phi @ v, np.where(vis, S, 0.0), phi
