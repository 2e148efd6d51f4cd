"""Throughput of `gcsim sweep` with 1 and 2 MPI ranks on this machine, and the efficiency.

Each round runs the same 4-point sweep (silicon and IGZO x two storage capacitors, coarse plan,
short adaptation, ppl on 2 kB) into a fresh folder, serially and under `mpirun -np 2`, the two
interleaved so that a busy machine slows both alike; prints the median times, points per
minute and efficiency = T1 / (2 T2), and checks that the tables are equal byte for byte.

usage: python3 bench/sweep_ranks.py --gcsim build/harness/gcsim [--rounds 3]"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcsim", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", default=os.environ.get("GCSIM_DATA",
                                                     os.path.join(ROOT, "..", "shared", "data")))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        calib = os.path.join(d, "calib.txt")
        with open(os.path.join(a.data, "text", "wikitext2_wiki.valid.raw"), "rb") as f, \
                open(calib, "wb") as g:
            g.write(f.read(16384))
        spec = {"axes": {"tech": ["si", "igzo"], "set:c_store": ["4f", "16f"]},
                "chain": {"plan": os.path.join(ROOT, "data", "sweeps", "test.plan"),
                          "model": os.path.join(ROOT, "data", "models",
                                                "bytes-5x256-paper-linear"),
                          "calibration": calib,
                          "text": os.path.join(a.data, "text", "wikitext2_wiki.test.raw"),
                          "tokens": 2048, "ctx": 256, "stride": 128, "adapt_max_iter": 3,
                          "adapt_batch": 2, "jobs": 1, "threads": 1}}
        path = os.path.join(d, "sweep.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        times, tables = {1: [], 2: []}, {1: set(), 2: set()}
        for r in range(a.rounds):
            for n in (1, 2):
                out = os.path.join(d, "r%d_n%d" % (r, n))
                cmd = [a.gcsim, "sweep", path, "--out", out]
                if n > 1:
                    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to",
                           "none", "-np", str(n)] + cmd
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                times[n].append(time.perf_counter() - t0)
                print("round %d, %d rank(s): %.1f s" % (r + 1, n, times[n][-1]), flush=True)
                with open(os.path.join(out, "table.json")) as f:
                    tables[n].add(f.read())
        t1, t2 = statistics.median(times[1]), statistics.median(times[2])
        print("ranks  median s   points/min   (rounds: %s)" % a.rounds)
        print("1      %8.1f   %8.2f" % (t1, 4 * 60 / t1))
        print("2      %8.1f   %8.2f" % (t2, 4 * 60 / t2))
        print("efficiency T1 / (2 T2) = %.2f; tables equal: %s" %
              (t1 / (2 * t2), len(tables[1] | tables[2]) == 1))


if __name__ == "__main__":
    main()
