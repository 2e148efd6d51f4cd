"""Benchmark: a perplexity run with read noise (--read-noise) against the same run without,
in the same process conditions. Noise adds, per read, one Gaussian deviate (its own seeded
stream) and its sigma: one per query and key in array 1, one per query, tile and column in
array 2, beside the matrix products of the nominal path.

Rounds alternate the order of the two runs; the ratio of the median engine times (the JSON's
"seconds") is printed, with each run's bits per byte. Defaults: the shipped paper-linear byte
model, the synthetic test cell with its test noise model (tests/synthetic_cell.py), 4096
bytes of WikiText-2 test, ctx 1024, stride 512; --cell runs another cell.h5 with a /noise.

usage: read_noise_ppl.py --gcsim build/harness/gcsim [--cell CELL.h5] [--model DIR]
                         [--rounds 3] [--bytes 4096]
"""
import argparse
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)
from chip_ppl import run  # noqa: E402


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
            synthetic_cell.add_noise(cell)
        text = os.path.join(d, "text.raw")
        with open(os.path.join(data, "text", "wikitext2_wiki.test.raw"), "rb") as f:
            open(text, "wb").write(f.read(a.bytes))
        base = ["--model", a.model, "--text", text, "--cell", cell, "--ctx", "1024",
                "--stride", "512"]
        js = os.path.join(d, "ppl.json")
        times = {"nominal": [], "noise": []}
        for r in range(a.rounds):
            pair = [("nominal", []), ("noise", ["--read-noise", "--noise-seed", str(r)])]
            for name, extra in (pair if r % 2 == 0 else pair[::-1]):
                res = run(a.gcsim, base + extra, js)
                times[name].append(res[0])
                print("round %d %-7s engine %.3f s, bits per byte %.6f" % (r, name, res[0],
                                                                         res[2]), flush=True)
        nom, noi = statistics.median(times["nominal"]), statistics.median(times["noise"])
        print("median engine time: nominal %.3f s, read noise %.3f s, ratio %.3f"
              % (nom, noi, noi / nom))


if __name__ == "__main__":
    main()
