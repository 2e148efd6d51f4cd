"""GPT-2-124M-shaped random model, one window of T tokens (1024): tokens/s of the full forward
(logits at every position) for gcsim's softmax and paper-cubic attention, and for PyTorch CPU
(float32, the same GPT-2, plain causal softmax) in the same run, with the peak memory of each
process. Targets: gcsim softmax >= 1.2x PyTorch; gcsim paper-cubic within 1.5x of gcsim softmax.

usage: gpt2_vs_torch.py --bench build/bench/gpt2_bench [--T 1024] [--repeats 3] [--threads N]
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

L, NH, C, V, NPOS = 12, 12, 768, 50257, 1024


def random_model(seed=0):
    rng = np.random.default_rng(seed)

    def n(*shape, std=0.02):
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)
    t = {"wte.weight": n(V, C), "wpe.weight": n(NPOS, C, std=0.01)}
    for i in range(L):
        p = f"h.{i}."
        t[p + "ln_1.weight"] = 1 + n(C, std=0.1)
        t[p + "ln_1.bias"] = n(C)
        t[p + "attn.c_attn.weight"] = n(C, 3 * C, std=0.08)
        t[p + "attn.c_attn.bias"] = n(3 * C)
        t[p + "attn.c_proj.weight"] = n(C, C)
        t[p + "attn.c_proj.bias"] = n(C)
        t[p + "ln_2.weight"] = 1 + n(C, std=0.1)
        t[p + "ln_2.bias"] = n(C)
        t[p + "mlp.c_fc.weight"] = n(C, 4 * C)
        t[p + "mlp.c_fc.bias"] = n(4 * C)
        t[p + "mlp.c_proj.weight"] = n(4 * C, C)
        t[p + "mlp.c_proj.bias"] = n(C)
    t["ln_f.weight"] = 1 + n(C, std=0.1)
    t["ln_f.bias"] = n(C)
    return t


def write_model(d, t):
    header, off = {}, 0
    for k, a in t.items():
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for a in t.values():
            f.write(a.tobytes())
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"n_layer": L, "n_head": NH, "n_embd": C, "vocab_size": V, "n_positions": NPOS,
                   "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}, f)


def torch_run(model_dir, T, repeats, threads):
    """PyTorch float32 GPT-2 forward (Hugging Face's computation), in this process."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    P = {k: torch.from_numpy(np.frombuffer(data, np.float32, int(np.prod(v["shape"])),
                                           v["data_offsets"][0]).reshape(v["shape"]).copy())
         for k, v in header.items()}
    del data
    tok = torch.from_numpy(np.random.default_rng(1).integers(0, V, T))
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)

    def forward():
        x = P["wte.weight"][tok] + P["wpe.weight"][:T]
        for i in range(L):
            p = f"h.{i}."
            h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"])
            qkv = torch.addmm(P[p + "attn.c_attn.bias"], h, P[p + "attn.c_attn.weight"])
            q, k, v = qkv.view(T, 3, NH, C // NH).permute(1, 2, 0, 3)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(C // NH)
            a = torch.softmax(s.masked_fill(mask, float("-inf")), -1) @ v
            y = a.transpose(0, 1).reshape(T, C)
            x = x + torch.addmm(P[p + "attn.c_proj.bias"], y, P[p + "attn.c_proj.weight"])
            h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"])
            h = F.gelu(torch.addmm(P[p + "mlp.c_fc.bias"], h, P[p + "mlp.c_fc.weight"]),
                       approximate="tanh")
            x = x + torch.addmm(P[p + "mlp.c_proj.bias"], h, P[p + "mlp.c_proj.weight"])
        x = F.layer_norm(x, (C,), P["ln_f.weight"], P["ln_f.bias"])
        return x @ P["wte.weight"].T

    best = float("inf")
    with torch.inference_mode():
        for r in range(repeats + 1):
            t0 = time.perf_counter()
            forward()
            dt = time.perf_counter() - t0
            if r > 0:
                best = min(best, dt)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"variant torch-softmax T {T} tokens_per_s {T / best:.1f} best_s {best:.4f} "
          f"peak_rss_mb {rss:.1f}")


def parse(line):
    f = line.split()
    return {f[i]: f[i + 1] for i in range(0, len(f) - 1, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench")
    ap.add_argument("--T", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "0"))
                    or os.cpu_count())
    ap.add_argument("--torch-only", metavar="MODEL_DIR")
    a = ap.parse_args()
    if a.torch_only:
        torch_run(a.torch_only, a.T, a.repeats, a.threads)
        return 0
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))
    res = {}
    with tempfile.TemporaryDirectory() as d:
        write_model(d, random_model())
        for v in ("softmax", "paper-cubic"):
            r = subprocess.run([a.bench, d, v, str(a.T), str(a.repeats)], capture_output=True,
                               text=True, env=env)
            if r.returncode:
                print(r.stderr.strip(), file=sys.stderr)
                return 1
            res[v] = parse(r.stdout)
        r = subprocess.run([sys.executable, __file__, "--torch-only", d, "--T", str(a.T),
                            "--repeats", str(a.repeats), "--threads", str(a.threads)],
                           capture_output=True, text=True, env=env)
        if r.returncode:
            print(r.stderr.strip(), file=sys.stderr)
            return 1
        res["torch"] = parse(r.stdout)
    print(f"GPT-2 124M shape, random weights, one window of {a.T} tokens, logits at every "
          f"position, {a.threads} threads, best of {a.repeats}")
    print(f"{'':22s} {'tokens/s':>10s} {'s/window':>10s} {'peak MB':>9s}")
    for k, name in (("softmax", "gcsim softmax"), ("paper-cubic", "gcsim paper-cubic"),
                    ("torch", "PyTorch CPU softmax")):
        x = res[k]
        print(f"{name:22s} {float(x['tokens_per_s']):10.1f} {float(x['best_s']):10.3f} "
              f"{float(x['peak_rss_mb']):9.0f}")
    sm, cu, pt = (float(res[k]["tokens_per_s"]) for k in ("softmax", "paper-cubic", "torch"))
    print(f"gcsim softmax / PyTorch        {sm / pt:.2f}x  (target >= 1.2x: "
          f"{'met' if sm / pt >= 1.2 else 'NOT met'})")
    print(f"gcsim softmax / paper-cubic    {sm / cu:.2f}x  (target <= 1.5x: "
          f"{'met' if sm / cu <= 1.5 else 'NOT met'})")
    print(f"gcsim paper-cubic / PyTorch    {cu / pt:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
