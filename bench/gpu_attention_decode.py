"""The GPU baseline of the cost comparison: decode attention measured on a real GPU.

What it measures, per setting (batch 1 and 64; eager and CUDA graph):
- attention only: one decode step of 12 heads x 64 over a sliding-window KV ring buffer of
  1024 slots in fp16 (the paper's window), as a GPU running GPT-2 does it: the new key and
  value are written into their slot, then the query attends to all 1024 slots;
- a GPT-2-124M-shaped whole-model decode step (12 layers, 768 wide, 50257-token head, random
  weights, the same ring buffer in every layer), as a second row.
Latency per step from CUDA events around many back-to-back steps (median of rounds); energy
from NVML's cumulative energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ) over windows
of at least 2 s of steps, reported both total and with the idle power (measured the same way
over an idle window just before) subtracted. Per token = per step / batch (each sequence of
the batch gets one token per step).

It also re-creates the measurement the paper's authors describe (their script
tests_divers/test_speed_energy.py is not available here; the re-creation follows the three
faults gcsim's issue tracker lists, so the numbers show how far those faults move the result):
a host timer stopped without synchronising the device, scaled_dot_product_attention with
is_causal=True and a single query (which attends to key 0 only), and one power sample per
pass multiplied by that time.

Writes one JSON (GPU name, driver, torch and CUDA versions, date, settings, results) to --out.
Run on an H100-class GPU:  python3 bench/gpu_attention_decode.py --out gpu.json
"""
import argparse
import ctypes
import datetime
import json
import statistics
import time

import torch
import torch.nn.functional as F

HEADS, D, SLOTS = 12, 64, 1024
# The paper's analog numbers (PAPER.md §2), declared, for the ratios it claims.
PAPER_LATENCY_S = 65e-9          # per token per head, heads in parallel
PAPER_ENERGY_J_PER_HEAD = 6.1e-9  # per token per head
PAPER_CLAIM = {"latency_ratio_vs_h100": 100, "energy_ratio_vs_h100": 70000}


# ---------------------------------------------------------------------------------------------
# NVML through ctypes (no Python package needed)

class Nvml:
    def __init__(self, index=0):
        self.lib = ctypes.CDLL("libnvidia-ml.so.1")
        if self.lib.nvmlInit_v2() != 0:
            raise RuntimeError("nvmlInit failed")
        self.dev = ctypes.c_void_p()
        if self.lib.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(self.dev)) != 0:
            raise RuntimeError("nvmlDeviceGetHandleByIndex failed")

    def energy_mj(self):
        e = ctypes.c_ulonglong()
        rc = self.lib.nvmlDeviceGetTotalEnergyConsumption(self.dev, ctypes.byref(e))
        if rc != 0:
            raise RuntimeError("nvmlDeviceGetTotalEnergyConsumption: error %d" % rc)
        return e.value

    def power_w(self):
        p = ctypes.c_uint()
        if self.lib.nvmlDeviceGetPowerUsage(self.dev, ctypes.byref(p)) != 0:
            raise RuntimeError("nvmlDeviceGetPowerUsage failed")
        return p.value / 1000.0

    def text(self, fn):
        buf = ctypes.create_string_buffer(96)
        args = (self.dev, buf, 96) if fn == "nvmlDeviceGetName" else (buf, 96)
        getattr(self.lib, fn)(*args)
        return buf.value.decode()


# ---------------------------------------------------------------------------------------------
# The work

class AttentionDecode:
    """One decode step of attention over a ring buffer of SLOTS keys per head."""

    def __init__(self, B, dev, gen):
        r = lambda *s: torch.randn(*s, device=dev, dtype=torch.float16, generator=gen)
        self.K, self.V = r(B, HEADS, SLOTS, D), r(B, HEADS, SLOTS, D)
        self.q, self.k, self.v = r(B, HEADS, 1, D), r(B, HEADS, 1, D), r(B, HEADS, 1, D)
        self.out = torch.empty(B, HEADS, 1, D, device=dev, dtype=torch.float16)
        self.slot = torch.zeros((), dtype=torch.long, device=dev)

    def step(self):
        # write the new key and value into their slot (index_copy_ keeps the graph static)
        self.K.index_copy_(2, self.slot.view(1), self.k)
        self.V.index_copy_(2, self.slot.view(1), self.v)
        self.slot.add_(1).remainder_(SLOTS)
        self.out.copy_(F.scaled_dot_product_attention(self.q, self.K, self.V))


class Gpt2Decode:
    """One decode step of a GPT-2-124M-shaped model (random fp16 weights) with ring caches."""

    def __init__(self, B, dev, gen, L=12, C=768, V=50257):
        r = lambda *s: 0.02 * torch.randn(*s, device=dev, dtype=torch.float16, generator=gen)
        self.L, self.C = L, C
        self.wte = r(V, C)
        self.layers = [dict(ln1=torch.ones(C, device=dev, dtype=torch.float16),
                            qkv=r(C, 3 * C), proj=r(C, C),
                            ln2=torch.ones(C, device=dev, dtype=torch.float16),
                            fc=r(C, 4 * C), fcproj=r(4 * C, C),
                            K=r(B, HEADS, SLOTS, D), V=r(B, HEADS, SLOTS, D)) for _ in range(L)]
        self.x = r(B, C)
        self.logits = torch.empty(B, V, device=dev, dtype=torch.float16)
        self.slot = torch.zeros((), dtype=torch.long, device=dev)

    def step(self):
        x, B = self.x, self.x.shape[0]
        for p in self.layers:
            h = F.layer_norm(x, (self.C,), p["ln1"])
            q, k, v = (h @ p["qkv"]).view(B, 3, HEADS, 1, D).unbind(1)
            p["K"].index_copy_(2, self.slot.view(1), k)
            p["V"].index_copy_(2, self.slot.view(1), v)
            a = F.scaled_dot_product_attention(q, p["K"], p["V"]).reshape(B, self.C)
            x = x + a @ p["proj"]
            h = F.layer_norm(x, (self.C,), p["ln2"])
            x = x + F.gelu(h @ p["fc"], approximate="tanh") @ p["fcproj"]
        self.logits.copy_(F.layer_norm(x, (self.C,)) @ self.wte.T)
        self.slot.add_(1).remainder_(SLOTS)


def runner(work, graph):
    """A callable doing one step, eagerly or by replaying a captured CUDA graph."""
    if not graph:
        return work.step
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            work.step()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        work.step()
    return g.replay


def time_steps(fn, n):
    """Seconds per step over n back-to-back steps, from CUDA events."""
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(n):
        fn()
    b.record()
    b.synchronize()
    return a.elapsed_time(b) / 1e3 / n


def energy_window(nvml, fn, per_step_s, seconds):
    """(joules, seconds, steps) over at least `seconds` of back-to-back steps."""
    n = max(1, int(seconds / per_step_s))
    torch.cuda.synchronize()
    e0, t0 = nvml.energy_mj(), time.perf_counter()
    done = 0
    while True:
        for _ in range(n):
            fn()
        done += n
        torch.cuda.synchronize()
        t = time.perf_counter() - t0
        if t >= seconds:
            break
    return (nvml.energy_mj() - e0) / 1e3, t, done


def idle_power(nvml, seconds):
    torch.cuda.synchronize()
    e0, t0 = nvml.energy_mj(), time.perf_counter()
    time.sleep(seconds)
    return (nvml.energy_mj() - e0) / 1e3 / (time.perf_counter() - t0)


def measure(nvml, work, B, graph, rounds, window_s, p_idle):
    fn = runner(work, graph)
    for _ in range(20):
        fn()
    lat = [time_steps(fn, 500) for _ in range(rounds)]
    per_step = statistics.median(lat)
    energies = [energy_window(nvml, fn, per_step, window_s) for _ in range(rounds)]
    e_step = statistics.median(j / n for j, _, n in energies)
    e_idle_step = statistics.median((j - p_idle * t) / n for j, t, n in energies)
    p_busy = statistics.median(j / t for j, t, _ in energies)
    # a token waits one whole step; the step serves B sequences
    return {"batch": B, "cuda_graph": graph, "latency_per_step_s": per_step,
            "latency_per_token_s": per_step, "step_time_per_token_s": per_step / B,
            "latency_rounds_s": lat,
            "energy_per_token_J_total": e_step / B,
            "energy_per_token_J_above_idle": e_idle_step / B,
            "power_busy_W": p_busy, "energy_windows": [
                {"joules": j, "seconds": t, "steps": n} for j, t, n in energies]}


# ---------------------------------------------------------------------------------------------
# The authors' method, re-created from its three listed faults

def authors_method(nvml, B, dev, gen, passes):
    r = lambda *s: torch.randn(*s, device=dev, dtype=torch.float16, generator=gen)
    q, K, V = r(B, HEADS, 1, D), r(B, HEADS, SLOTS, D), r(B, HEADS, SLOTS, D)
    for _ in range(10):
        F.scaled_dot_product_attention(q, K, V, is_causal=True)
    torch.cuda.synchronize()
    lats, energies = [], []
    for _ in range(passes):
        t0 = time.time()
        F.scaled_dot_product_attention(q, K, V, is_causal=True)  # single query: key 0 only
        dt = time.time() - t0                                    # no synchronize: launch time
        p = nvml.power_w()                                       # one power sample per pass
        lats.append(dt)
        energies.append(p * dt)
        torch.cuda.synchronize()
    # what is_causal=True with one query computes: attention to the first key only
    ref = F.scaled_dot_product_attention(q, K[:, :, :1], V[:, :, :1])
    got = F.scaled_dot_product_attention(q, K, V, is_causal=True)
    full = F.scaled_dot_product_attention(q, K, V)
    return {"batch": B, "latency_per_step_s": statistics.median(lats),
            "latency_per_token_s": statistics.median(lats),
            "energy_per_token_J": statistics.median(energies) / B,
            "is_causal_single_query_equals_key0_only":
                bool(torch.allclose(got, ref, atol=1e-3)),
            "is_causal_single_query_differs_from_full_window":
                float((got - full).abs().max())}


# ---------------------------------------------------------------------------------------------

def ratios(gpu_latency_per_token_s, gpu_energy_per_token_J):
    """GPU attention over the paper's analog attention: all 12 heads in parallel take 65 ns,
    and each head spends 6.1 nJ."""
    return {"latency_ratio": gpu_latency_per_token_s / PAPER_LATENCY_S,
            "energy_ratio": gpu_energy_per_token_J / (HEADS * PAPER_ENERGY_J_PER_HEAD)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--window-s", type=float, default=2.0)
    ap.add_argument("--batches", default="1,64")
    a = ap.parse_args()
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(0)
    nvml = Nvml()
    res = {"gpu": torch.cuda.get_device_name(0),
           "driver": nvml.text("nvmlSystemGetDriverVersion"),
           "torch": torch.__version__, "cuda": torch.version.cuda,
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "settings": {"heads": HEADS, "head_dim": D, "kv_slots": SLOTS, "dtype": "float16",
                        "rounds": a.rounds, "energy_window_s": a.window_s},
           "paper": {"latency_per_token_s": PAPER_LATENCY_S,
                     "energy_per_token_per_head_J": PAPER_ENERGY_J_PER_HEAD,
                     "claimed_ratios_vs_h100": PAPER_CLAIM, "source": "PAPER.md section 2"},
           "idle_power_W": idle_power(nvml, a.window_s),
           "attention": [], "gpt2_124m": [], "authors_method": []}
    for B in (int(b) for b in a.batches.split(",")):
        for graph in (False, True):
            m = measure(nvml, AttentionDecode(B, dev, gen), B, graph, a.rounds, a.window_s,
                        res["idle_power_W"])
            m["vs_paper"] = ratios(m["latency_per_step_s"], m["energy_per_token_J_above_idle"])
            res["attention"].append(m)
            m = measure(nvml, Gpt2Decode(B, dev, gen), B, graph, a.rounds, a.window_s,
                        res["idle_power_W"])
            res["gpt2_124m"].append(m)
        m = authors_method(nvml, B, dev, gen, 200)
        m["vs_paper"] = ratios(m["latency_per_step_s"], m["energy_per_token_J"])
        res["authors_method"].append(m)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print("%s, driver %s, torch %s, idle %.1f W" % (res["gpu"], res["driver"], res["torch"],
                                                    res["idle_power_W"]))
    print("%-10s %5s %6s %14s %14s %14s %10s %10s" % ("row", "batch", "graph", "s/step",
          "J/token", "J/token-idle", "lat.ratio", "en.ratio"))
    for name in ("attention", "gpt2_124m"):
        for m in res[name]:
            v = m.get("vs_paper", {})
            print("%-10s %5d %6s %14.4g %14.4g %14.4g %10.4g %10.4g" % (
                name, m["batch"], m["cuda_graph"], m["latency_per_step_s"],
                m["energy_per_token_J_total"], m["energy_per_token_J_above_idle"],
                v.get("latency_ratio", float("nan")), v.get("energy_ratio", float("nan"))))
    for m in res["authors_method"]:
        print("authors   %5d %6s %14.4g %14.4g %14s %10.4g %10.4g  key0-only %s" % (
            m["batch"], "-", m["latency_per_step_s"], m["energy_per_token_J"], "-",
            m["vs_paper"]["latency_ratio"], m["vs_paper"]["energy_ratio"],
            m["is_causal_single_query_equals_key0_only"]))


if __name__ == "__main__":
    main()
