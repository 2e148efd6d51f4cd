"""gcsim attention --cost and gcsim cost: the report's JSON has the required keys
(energy_per_token_J with one key per component plus total, latency_per_token_s with
per_layer and model, area_m2, vs_gpu with gpu, latency_ratio and energy_ratio), its
components add up to its total (to 1e-12, float64 sums of 13 numbers), the model figures are
the per-head figures times heads x layers of the shape, the PNG is whole; the fast path and
the reference evaluator report the same energy (to 1e-5: the counts that carry phi come from
float32 S and phi); bad input (an unknown shape, a shape of another head size, a missing GPU
file, a digital variant) is one line on stderr naming the problem, and writes nothing."""
import json
import os

import numpy as np

from attention_cli import Run
import gcsim_test

COMPONENTS = ["read_array1", "c2p", "read_array2", "wordlines", "readout", "write", "dac", "integrator_bias",
              "comparator_bias", "reference_bias", "counters", "adder", "digital_overhead",
              "idle_leakage"]


def check_report(path, layers, heads):
    with open(path) as f:
        r = json.load(f)
    e = r["energy_per_token_J"]
    if sorted(e) != sorted(COMPONENTS + ["total"]):
        gcsim_test.fail("energy_per_token_J keys: %s" % sorted(e))
    total = sum(e[k] for k in COMPONENTS)
    if not abs(total - e["total"]) <= 1e-12 * abs(e["total"]) or not e["total"] > 0:
        gcsim_test.fail("components add up to %r, total %r" % (total, e["total"]))
    per_head = r["energy_per_token_per_head_J"]["total"]
    if abs(per_head * layers * heads - e["total"]) > 1e-12 * e["total"]:
        gcsim_test.fail("model total %r is not %d x %d x per head %r" % (e["total"], layers,
                                                                        heads, per_head))
    lat = r["latency_per_token_s"]
    if not (lat["per_layer"] > 0 and abs(lat["model"] - layers * lat["per_layer"]) <= 1e-15):
        gcsim_test.fail("latency_per_token_s: %r" % lat)
    for key in ("tile", "head", "model"):
        if key not in r["area_m2"]:
            gcsim_test.fail("area_m2 lacks %s" % key)
    g = r["vs_gpu"]
    if not (isinstance(g["gpu"], str) and g["latency_ratio"] > 0 and g["energy_ratio"] > 0):
        gcsim_test.fail("vs_gpu: %r" % g)
    for k in COMPONENTS:
        if r["energy_components"][k]["kind"] not in ("simulated", "declared"):
            gcsim_test.fail("component %s has no kind" % k)
    png = os.path.splitext(path)[0] + ".png"
    with open(png, "rb") as f:
        data = f.read()
    if not (data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")):
        gcsim_test.fail("%s is not a whole PNG" % png)
    return r


def main():
    rng = np.random.default_rng(5)
    B, T, D = 3, 40, 64
    run = Run(rng.uniform(0, 1, (B, T, D)), rng.uniform(0, 0.9, (B, T, D)),
              rng.uniform(0, 0.9, (B, T, D)))
    common = ["--cell-preset", "paper-cubic", "--window", 24, "--tile", 8]
    fast = os.path.join(run.dir, "fast.json")
    run.call(common + ["--cost", fast])
    a = check_report(fast, 1, B)
    ref = os.path.join(run.dir, "ref.json")
    run.call(common + ["--reference", "--cost", ref])
    b = check_report(ref, 1, B)
    ea, eb = a["energy_per_token_J"]["total"], b["energy_per_token_J"]["total"]
    if abs(ea - eb) > 1e-5 * eb:
        gcsim_test.fail("fast path %r J, reference %r J" % (ea, eb))
    shaped = os.path.join(run.dir, "shape.json")
    run.call(common + ["--cost", shaped, "--shape", "12x12x768"])
    c = check_report(shaped, 12, 12)
    if abs(c["energy_per_token_per_head_J"]["total"] - a["energy_per_token_per_head_J"]["total"]) \
            > 1e-12 * ea:
        gcsim_test.fail("the shape changed the energy per token per head")
    print("report keys, sums, shape, fast = reference: ok")

    bad = [(["--shape", "12x12"], "--shape"),
           (["--shape", "2x3x300"], "heads of 100"),
           (["--gpu", os.path.join(run.dir, "none.json")], "none.json"),
           (["--attention", "softmax"], "digital")]
    for extra, says in bad:
        out = os.path.join(run.dir, "bad.json")
        args = (common if extra[0] != "--attention" else []) + extra + ["--cost", out]
        r = run.call(args, expect_ok=False)
        lines = r.stderr.strip().splitlines()
        if r.returncode == 0 or len(lines) != 1 or says not in lines[0] or os.path.exists(out):
            gcsim_test.fail("%s: exit %d, stderr %r" % (extra, r.returncode, r.stderr))
        print("bad input %s: %s" % (" ".join(extra), lines[0]))


main()
