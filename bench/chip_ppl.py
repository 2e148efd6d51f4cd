"""Benchmark: a chip's perplexity run against the nominal cells' run, in the same process
conditions. A chip folds each cell's gain and offset into the stored factors (one more term
for the offset) and reads each cell's y at its own stored voltage and leak factor, so the
matrix products stay those of the nominal path plus one term per array.

Rounds alternate the order of the two runs. Of each run are taken: the engine time (the JSON's
"seconds": the windows' forward passes, model loading and cell compilation excluded), the
one-off time outside it (the process wall time less the engine time: loading, compiling the
cell, drawing the chip's cells), the whole run's wall time and its CPU time (user + system).
Printed: the medians of each, the ratio of the medians chip / nominal per token (engine) and
for the whole run (target <= 1.3), the compiled terms per array, and the load average before
and after (the machine may be shared: the ratios compare runs made in turn, in the same
conditions). The chip's one-off work (compiling its (level, leak) tables, drawing its cells)
does not grow with the text, so the whole-run ratio falls toward the per-token one; printed
too: the text length from which the whole run is within the target. Defaults: the shipped
paper-linear byte model, the synthetic test cell with its test variation model
(tests/synthetic_cell.py), 16384 bytes of WikiText-2 test (the length of the designer's table,
scripts/variation-table.sh), ctx 1024, stride 512; --cell runs another cell.h5 with a
/variation.

usage: chip_ppl.py --gcsim build/harness/gcsim [--cell CELL.h5] [--model DIR] [--rounds 3]
                   [--bytes 16384]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))


def cpu_children():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def run(gcsim, args, js):
    """engine s, one-off s, wall s, CPU s, bits per byte, terms (array 1, array 2)"""
    c0, t0 = cpu_children(), time.perf_counter()
    r = subprocess.run([gcsim, "ppl"] + args + ["--json", js], capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, cpu_children() - c0
    if r.returncode:
        sys.exit("gcsim ppl failed:\n" + r.stderr)
    with open(js) as f:
        j = json.load(f)
    engine = j["chips"][0]["seconds"] if "chips" in j else j["seconds"]
    bpb = j["chips"][0]["bits_per_byte"] if "chips" in j else j["bits_per_byte"]
    d = j["cell_decomposition"]
    return engine, wall - engine, wall, cpu, bpb, (d["terms_array1"], d["terms_array2"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcsim", required=True)
    ap.add_argument("--cell")
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "models",
                                                    "bytes-5x256-paper-linear"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bytes", type=int, default=16384)
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
        runs = {"nominal": [], "chip": []}
        load0 = os.getloadavg()
        for r in range(a.rounds):
            pair = [("nominal", []), ("chip", ["--chips", "1", "--chip-seed", str(r + 1)])]
            for name, extra in (pair if r % 2 == 0 else pair[::-1]):
                res = run(a.gcsim, base + extra, js)
                runs[name].append(res)
                print("round %d %-7s engine %.3f s, one-off %.3f s, wall %.3f s, CPU %.3f s, "
                      "bits per byte %.6f" % (r, name, *res[:5]), flush=True)
        load1 = os.getloadavg()
        med = {k: [statistics.median(x[i] for x in v) for i in range(4)] for k, v in runs.items()}
        n, c = med["nominal"], med["chip"]
        print("terms per array: nominal %d + %d, chip %d + %d"
              % (*runs["nominal"][0][5], *runs["chip"][0][5]))
        for i, what in enumerate(("engine (per token)", "one-off (load, compile, draw)",
                                  "whole run, wall", "whole run, CPU")):
            print("median %s: nominal %.3f s, chip %.3f s, ratio %.3f"
                  % (what, n[i], c[i], c[i] / n[i]))
        print("ratio chip / nominal: per token %.3f, whole run %.3f (target <= 1.3)"
              % (c[0] / n[0], c[2] / n[2]))
        # whole(b) = one-off + engine per byte x b; within 1.3 once the engine outweighs the
        # extra one-off
        slack = 1.3 * n[0] - c[0]
        if slack > 0:
            print("whole run within 1.3 from about %d bytes on (one-off %.3f s against %.3f s)"
                  % (a.bytes * (c[1] - 1.3 * n[1]) / slack, c[1], n[1]))
        else:
            print("whole run above 1.3 at any length: the per-token ratio is above it")
        print("load average (1, 5, 15 min): before %.2f %.2f %.2f, after %.2f %.2f %.2f"
              % (*load0, *load1))


if __name__ == "__main__":
    main()
