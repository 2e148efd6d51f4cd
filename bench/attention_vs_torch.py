"""Attention benchmark: every variant of the C library (bench/attention_bench.c) on one
GPT-2-sized layer (T=1024, 12 heads, D=64), and a PyTorch CPU implementation of the same
paper-cubic formulas (PAPER.md §3, vectorised the natural torch way: full (T,T) score
matrices and batched products per sub-tile) on the same inputs and the same number of
threads. Checks that torch and C agree, then prints the ratios:
  paper-cubic / softmax (target <= 2), calibrated / softmax (target <= 3), torch / C (>= 5).
The calibrated run uses the paper-cubic preset through the calibrated path, plus the cell.h5
given with --cell (or $GCSIM_CELL) when there is one; --decomp-tol sets the calibrated
path's decomposition tolerance (default: the library's, 1e-6 of the largest singular value),
and the cell's table error at that tolerance is printed beside its ratio.
usage: attention_vs_torch.py [--bench PATH] [--cell cell.h5] [--decomp-tol X] [--reps N]"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

CUBIC = (0.52136361, 13.61226063, -2.62044562, 46.05483778)


def quant(x, rng, levels):
    step = rng / (levels - 1)
    return torch.round(x.clamp(0, rng) / step) * step


def paper_cubic_torch(q, k, v, window=1024, tile=64, lam=1.6e-4):
    """q, k, v (H,T,D) float32 -> out (H,T,D): PAPER.md §3 paper-cubic."""
    H, T, D = q.shape
    c0, c1, c2, c3 = CUBIC
    qq = quant(q, 1.0, 16)
    yk = quant(k, 0.9, 8) - 0.45
    yv = quant(v, 0.9, 8) - 0.45
    i = torch.arange(T)
    age = i[:, None] - i[None, :]
    vis = ((age >= 0) & (age < window)).to(q.dtype)
    delta = torch.exp(-lam * age.clamp(min=0).to(q.dtype))
    S = c0 * qq.sum(-1, keepdim=True)
    for n, c in ((1, c1), (2, c2), (3, c3)):
        S = S + c * (qq @ (yk**n).transpose(1, 2)) * delta**n
    S = S * vis
    phi = (S / 80).clamp(0, 1) * vis
    nt = (T + tile - 1) // tile
    pad = nt * tile - T
    def tiles(x):  # (H,T,T) -> (H*nt, T, tile)
        x = torch.nn.functional.pad(x, (0, pad))
        return x.view(H, T, nt, tile).permute(0, 2, 1, 3).reshape(H * nt, T, tile)
    def vtiles(x):  # (H,T,D) -> (H*nt, tile, D)
        x = torch.nn.functional.pad(x, (0, 0, 0, pad))
        return x.view(H * nt, tile, D)
    O = c0 * tiles(phi).sum(-1, keepdim=True)
    for n, c in ((1, c1), (2, c2), (3, c3)):
        O = O + c * torch.bmm(tiles(phi * delta**n), vtiles(yv**n))
    O = O.view(H, nt, T, D)
    r = (O / 40).clamp(-1, 1)
    r = torch.round(r * 15.5) / 15.5
    read = torch.nn.functional.pad(vis, (0, pad)).view(T, nt, tile).amax(-1)  # (T, nt)
    return (r * read.t()[None, :, :, None]).sum(1)


def best_time(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=os.environ.get("GCSIM_ATTN_BENCH", "attention_bench"))
    ap.add_argument("--cell", default=os.environ.get("GCSIM_CELL"))
    ap.add_argument("--decomp-tol", default=None)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as d:
        cmd = [a.bench, "--reps", str(a.reps), "--save", d]
        if a.cell:
            cmd += ["--cell", a.cell]
        if a.decomp_tol:
            cmd += ["--decomp-tol", a.decomp_tol]
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")  # threads come from OpenMP
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        print(r.stdout, end="")
        if r.returncode:
            sys.exit("attention_bench failed: " + r.stderr)
        m = re.search(r"RESULT softmax_ms (\S+) paper_cubic_ms (\S+) calibrated_ms (\S+) "
                      r"cpu_ms (\S+) (\S+) (\S+)", r.stdout)
        soft, cubic, calib, csoft, ccubic, ccalib = (float(x) for x in m.groups())
        mc = re.search(r"RESULT_CELL calibrated_cell_ms (\S+) cpu_ms (\S+) terms (\S+) (\S+) "
                       r"decomp_error (\S+) (\S+)", r.stdout)
        q, k, v, out_c = (torch.from_numpy(np.load(os.path.join(d, n + ".npy")))
                          for n in ("q", "k", "v", "out"))
    with torch.no_grad():
        out_t = paper_cubic_torch(q, k, v)
        t_torch = best_time(lambda: paper_cubic_torch(q, k, v), a.reps) * 1e3
    diff = (out_t - out_c).abs()
    lsb = 2 / 31
    steps = diff / lsb
    off = (diff > 1e-4) & ((steps - steps.round()).abs() > 1e-3)
    print("torch paper-cubic (same formulas, %d threads)   %9.3f ms   agreement with C: "
          "max|diff| %.2e, %d counter ties of %d outputs, %d other mismatches"
          % (threads, t_torch, float(diff.max()), int(((diff > 1e-4) & ~off).sum()),
             diff.numel(), int(off.sum())))
    print("ratio paper-cubic/softmax      %.2f wall, %.2f cpu  (target <= 2)"
          % (cubic / soft, ccubic / csoft))
    print("ratio calibrated/softmax       %.2f wall, %.2f cpu  (target <= 3)"
          % (calib / soft, ccalib / csoft))
    if mc:
        cell_ms, cell_cpu = float(mc.group(1)), float(mc.group(2))
        print("ratio calibrated(%s)/softmax  %.2f wall, %.2f cpu  (target <= 3; terms %s+%s, "
              "decomposition error %s/%s of full scale)"
              % (os.path.basename(a.cell), cell_ms / soft, cell_cpu / csoft, mc.group(3),
                 mc.group(4), mc.group(5), mc.group(6)))
    print("ratio torch/C paper-cubic      %.2f wall  (target >= 5)" % (t_torch / cubic))
    if int(off.sum()) > 0 or int((diff > 1e-4).sum()) > diff.numel() // 1000:
        sys.exit("torch and C paper-cubic disagree")


if __name__ == "__main__":
    main()
