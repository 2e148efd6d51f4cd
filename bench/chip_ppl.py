"""Benchmark: a chip's perplexity run against the nominal cells' run, in the same process
conditions. A chip folds each cell's gain and offset into the stored factors (one more term
for the offset) and reads each cell's y at its own stored voltage and leak factor, so the
matrix products stay those of the nominal path plus one term per array.

Rounds alternate the order of the two runs; each run's engine time (the JSON's "seconds": the
windows' forward passes, model loading and cell compilation excluded) is taken, and the ratio
of the medians printed (target <= 1.3). The one-off costs outside it (loading, compiling the
cell, drawing the chip's cells) are printed too, as the medians of the process wall time
minus the engine time. Defaults: the shipped paper-linear byte model, the synthetic test cell
with its test variation model (tests/synthetic_cell.py), 4096 bytes of WikiText-2 test, ctx
1024, stride 512; --cell runs another cell.h5 with a /variation.

usage: chip_ppl.py --gcsim build/harness/gcsim [--cell CELL.h5] [--rounds 3] [--bytes 4096]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))


def run(gcsim, args, js):
    t0 = time.perf_counter()
    r = subprocess.run([gcsim, "ppl"] + args + ["--json", js], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode:
        sys.exit("gcsim ppl failed:\n" + r.stderr)
    with open(js) as f:
        j = json.load(f)
    engine = j["chips"][0]["seconds"] if "chips" in j else j["seconds"]
    bpb = j["chips"][0]["bits_per_byte"] if "chips" in j else j["bits_per_byte"]
    return engine, wall - engine, bpb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcsim", required=True)
    ap.add_argument("--cell")
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "models",
                                                    "bytes-5x256-paper-linear"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bytes", type=int, default=4096)
    a = ap.parse_args()
    data = os.environ.get("GCSIM_DATA", os.path.join(ROOT, "..", "shared", "data"))
    with tempfile.TemporaryDirectory() as d:
        cell = a.cell
        if not cell:
            import synthetic_cell
            cell = os.path.join(d, "cell.h5")
            synthetic_cell.write_cell(cell)
            synthetic_cell.add_variation(cell)
        text = os.path.join(d, "text.raw")
        with open(os.path.join(data, "text", "wikitext2_wiki.test.raw"), "rb") as f:
            open(text, "wb").write(f.read(a.bytes))
        base = ["--model", a.model, "--text", text, "--cell", cell, "--ctx", "1024",
                "--stride", "512"]
        js = os.path.join(d, "ppl.json")
        nominal, chip = [], []
        for r in range(a.rounds):
            pair = [("nominal", []), ("chip", ["--chips", "1", "--chip-seed", str(r + 1)])]
            for name, extra in (pair if r % 2 == 0 else pair[::-1]):
                res = run(a.gcsim, base + extra, js)
                (nominal if name == "nominal" else chip).append(res)
                print("round %d %-7s engine %.3f s, outside it %.3f s, bits per byte %.6f"
                      % (r, name, *res), flush=True)
        med = lambda xs, i: statistics.median(x[i] for x in xs)
        print("median engine time: nominal %.3f s, chip %.3f s, ratio %.3f (target <= 1.3)"
              % (med(nominal, 0), med(chip, 0), med(chip, 0) / med(nominal, 0)))
        print("median one-off time (load, compile, draw): nominal %.3f s, chip %.3f s"
              % (med(nominal, 1), med(chip, 1)))


if __name__ == "__main__":
    main()
