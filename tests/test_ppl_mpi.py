"""`mpirun -np N gcsim ppl` spreads the windows over ranks and gives the serial run's numbers
bit for bit: rank k scores the k-th contiguous shard of windows, rank 0 adds the windows'
nll in window order as the serial run does. Checked on the shipped paper-cubic model (an
analog variant) over 6000 bytes of WikiText-2 with overlapping windows (46 windows, split
unevenly over 3 ranks), every process with one OpenMP thread:
- nll_nats (as the bits of the double), tokens_scored, windows and bits_per_byte equal the
  serial JSON's, with 2 and with 3 ranks;
- only rank 0 prints the result and writes the JSON;
- `--shard` under mpirun is refused in one line.

usage: test_ppl_mpi.py   (GCSIM, GCSIM_ROOT, GCSIM_DATA from the environment)"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_gpt2_ref import env, run  # noqa: E402

GCSIM, ROOT = env("GCSIM"), env("GCSIM_ROOT")
TEXT = os.path.join(env("GCSIM_DATA"), "text", "wikitext2_wiki.test.raw")
MODEL = os.path.join(ROOT, "data", "models", "bytes-5x256-paper-cubic")
failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


mpirun = shutil.which("mpirun")
if not mpirun:
    print("FAIL Open MPI's mpirun is installed (Debian package openmpi-bin)")
    sys.exit(1)
# one thread everywhere: a sum's bits depend on the thread count, not on the ranks
e = dict(os.environ, OMP_NUM_THREADS="1",
         # Open MPI's allocations held at exit by plugins it unloaded have no stack
         # LeakSanitizer can name; the serial run below is leak-checked
         ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
with tempfile.TemporaryDirectory() as d:
    text = os.path.join(d, "text.raw")
    with open(TEXT, "rb") as f, open(text, "wb") as g:
        g.write(f.read(6000))
    args = ["ppl", "--model", MODEL, "--text", text, "--ctx", "256", "--stride", "128"]
    serial = os.path.join(d, "serial.json")
    run([GCSIM] + args + ["--json", serial], env=dict(os.environ, OMP_NUM_THREADS="1"))
    with open(serial) as f:
        s = json.load(f)
    for ranks in (2, 3):
        out = os.path.join(d, "mpi%d.json" % ranks)
        r = run([mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np",
                 str(ranks), GCSIM] + args + ["--json", out], env=e)
        with open(out) as f:
            m = json.load(f)
        same = all(m[k] == s[k] for k in ("tokens_scored", "windows", "bits_per_byte"))
        expect(same and m["nll_nats"].hex() == s["nll_nats"].hex(),
               "%d ranks: nll %s = serial %s, %d windows, bits per byte %.9f"
               % (ranks, m["nll_nats"].hex(), s["nll_nats"].hex(), m["windows"],
                  m["bits_per_byte"]))
        expect(r.stdout.count("bits per byte") == 1,
               "%d ranks: the result is printed once (by rank 0)" % ranks)
    r = run([mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "2",
             GCSIM] + args + ["--shard", "1/2"], env=e, expect_ok=False)
    lines = r.stderr.strip().splitlines()
    expect(r.returncode != 0 and sum("--shard and mpirun" in l for l in lines) == 1,
           "--shard under mpirun: refused in one line (%s)"
           % next((l for l in lines if "--shard" in l), ""))
print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
