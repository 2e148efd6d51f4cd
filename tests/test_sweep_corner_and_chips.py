"""`gcsim sweep` takes process corners and Monte Carlo chips as axes:
- a 2-point sweep over `corner` (tt, ff) with `chain.mc` Monte Carlo instances and a `chips`
  axis characterizes each point at its corner (curves.h5 records it; the ff cell reads more
  charge at full pulse than the tt cell, as faster devices must), fits the cell with its
  /variation, adapts the shipped linear model to the nominal cell (its config records no
  chips) and scores the chips;
- the table's bits_per_byte is the chips' mean, with their spread and worst beside it, each
  equal to what `gcsim ppl --chips` gives on the same model and cell, run directly;
- an unknown axis is refused with one line naming the file.

usage: test_sweep_corner_and_chips.py   (GCSIM, GCSIM_ROOT, GCSIM_DATA from the environment)"""
import json
import os
import statistics
import sys
import tempfile

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_gpt2_ref import env, run  # noqa: E402

GCSIM, ROOT = env("GCSIM"), env("GCSIM_ROOT")
TEXT = os.path.join(env("GCSIM_DATA"), "text", "wikitext2_wiki.test.raw")
VALID = os.path.join(env("GCSIM_DATA"), "text", "wikitext2_wiki.valid.raw")
failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    with tempfile.TemporaryDirectory() as d:
        with open(VALID, "rb") as f, open(os.path.join(d, "calib.txt"), "wb") as g:
            g.write(f.read(8192))
        spec = {"name": "corners x chips, tiny",
                "axes": {"tech": ["si"], "corner": ["tt", "ff"], "chips": [2]},
                "chain": {"plan": os.path.join(ROOT, "data", "sweeps", "test.plan"),
                          "model": os.path.join(ROOT, "data", "models",
                                                "bytes-5x256-paper-linear"),
                          "calibration": "calib.txt", "text": TEXT, "tokens": 1024,
                          "ctx": 128, "stride": 64, "adapt_max_iter": 2, "adapt_batch": 1,
                          "mc": 3}}
        path = os.path.join(d, "sweep.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        out = os.path.join(d, "out")
        run([GCSIM, "sweep", path, "--out", out])
        with open(os.path.join(out, "table.json")) as f:
            rows = json.load(f)
        expect([r.get("corner") for r in rows] == ["tt", "ff"], "a row per corner, in order")
        cache = os.path.join(out, "cache")
        steps = sorted(os.listdir(cache))
        full = {}
        for name in steps:
            if name.startswith("characterize-"):
                with h5py.File(os.path.join(cache, name, "curves.h5"), "r") as f:
                    c = f.attrs["corner"]
                    c = c.decode() if isinstance(c, bytes) else c
                    full[c] = float(f["read/charge"][-1, -1])
                    expect("mc" in f and len(f["mc"]) == 3, f"corner {c}: 3 Monte Carlo instances")
        expect(sorted(full) == ["ff", "tt"], f"characterized at tt and ff: {sorted(full)}")
        if len(full) == 2:
            expect(full["ff"] > full["tt"], f"ff reads more charge than tt ({full['ff']:.3e} > "
                                            f"{full['tt']:.3e} C)")
        fits = [n for n in steps if n.startswith("fit-")]
        for n in fits:
            with h5py.File(os.path.join(cache, n, "cell.h5"), "r") as f:
                expect("variation" in f, f"{n}: the cell has its /variation")
        adapts = [n for n in steps if n.startswith("adapt-")]
        for n in adapts:
            with open(os.path.join(cache, n, "model", "config.json")) as f:
                g = json.load(f).get("gcsim", {})
            expect(g.get("chips", 0) == 0, f"{n}: adapted to the nominal cell, not to chips")
        # each point again, directly: the adapted model on its cell, the same two chips
        for r in rows:
            ppl = [n for n in steps if n.startswith("ppl-")]
            match = None
            for n in ppl:
                with open(os.path.join(cache, n, "ppl.json")) as f:
                    j = json.load(f)
                if j.get("bpb_mean") == r.get("bits_per_byte"):
                    match = j
            expect(match is not None, f"{r['corner']}: bits_per_byte is a ppl step's bpb_mean")
            if match is None:
                continue
            chips = [c["bits_per_byte"] for c in match["chips"]]
            expect(len(set(chips)) == 2, f"{r['corner']}: two distinct chips {chips}")
            expect(r["bits_per_byte_chip_std"] == statistics.stdev(chips) or
                   abs(r["bits_per_byte_chip_std"] / statistics.stdev(chips) - 1) < 1e-12,
                   f"{r['corner']}: chip std is the chips' sample std")
            expect(r["bits_per_byte_chip_worst"] == max(chips), f"{r['corner']}: worst chip")
            direct = os.path.join(d, f"direct_{r['corner']}.json")
            run([GCSIM, "ppl", "--model", match["model"], "--cell", match["cell"], "--text",
                 TEXT, "--max-tokens", "1024", "--ctx", "128", "--stride", "64", "--chips", "2",
                 "--json", direct])
            with open(direct) as f:
                dj = json.load(f)
            expect(dj["bpb_mean"] == r["bits_per_byte"],
                   f"{r['corner']}: gcsim ppl --chips 2 run directly gives the table's "
                   f"{r['bits_per_byte']:.6f} ({dj['bpb_mean']:.6f})")
        bad = dict(spec, axes={"tech": ["si"], "cornr": ["tt"]})
        with open(path, "w") as f:
            json.dump(bad, f)
        r = run([GCSIM, "sweep", path, "--out", out], expect_ok=False)
        expect(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and
               "cornr" in r.stderr and "sweep.json" in r.stderr,
               f"an unknown axis: one line naming file and axis ({r.stderr.strip()})")
    if failures:
        print(f"{len(failures)} failed")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
