"""`gcsim sweep` caches every step by a hash of its inputs and survives a kill:
- a 2-point sweep (silicon, c_store 4 fF and 16 fF; characterize on the test plan, fit, a
  short adaptation of the shipped linear model, ppl on 1024 bytes) writes a table with a row
  per point and the metrics of every step;
- a rerun runs no step and writes the same table;
- the same sweep under `mpirun -np 2` (rank 0 handing points out) writes the same table, byte
  for byte;
- the same sweep killed with SIGKILL (the whole process group, children included) once its
  first step is done, then run again, gives the same table, byte for byte, and leaves no
  temporary folder;
- the sweep extended by a third value runs only that point's four steps;
- a bad sweep file is one line naming the file.

usage: test_sweep_resumes.py   (GCSIM, GCSIM_ROOT, GCSIM_DATA from the environment)"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

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


def sweep_file(d, name, c_store):
    calib = os.path.join(d, "calib.txt")
    if not os.path.exists(calib):
        with open(VALID, "rb") as f, open(calib, "wb") as g:
            g.write(f.read(8192))
    spec = {"name": "c_store, tiny", "axes": {"tech": ["si"], "set:c_store": c_store},
            "chain": {"plan": os.path.join(ROOT, "data", "sweeps", "test.plan"),
                      "model": os.path.join(ROOT, "data", "models", "bytes-5x256-paper-linear"),
                      "calibration": "calib.txt", "text": TEXT, "tokens": 1024, "ctx": 128,
                      "stride": 64, "adapt_max_iter": 2, "adapt_batch": 1}}
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def sweep(path, out):
    r = run([GCSIM, "sweep", path, "--out", out])
    with open(os.path.join(out, "table.json")) as f:
        table = f.read()
    return r.stdout.strip().splitlines()[-1], table


def killed_then_resumed(path, out):
    p = subprocess.Popen([GCSIM, "sweep", path, "--out", out], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    cache = os.path.join(out, "cache")
    t0 = time.time()
    while time.time() - t0 < 600 and p.poll() is None:
        done = [n for n in os.listdir(cache)] if os.path.isdir(cache) else []
        if any(n.startswith("fit-") and ".tmp-" not in n for n in done):
            break
        time.sleep(0.2)
    killed = p.poll() is None
    if killed:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    line, table = sweep(path, out)
    left = [n for n in os.listdir(cache) if ".tmp-" in n]
    return killed, line, table, left


with tempfile.TemporaryDirectory() as d:
    two = sweep_file(d, "two.json", ["4f", "16f"])
    a = os.path.join(d, "a")
    line, table = sweep(two, a)
    rows = json.loads(table)
    expect(len(rows) == 2 and all("bits_per_byte" in r and "retention_tau_s" in r for r in rows)
           and line.startswith("2 points; 8 steps run, 0 cached"),
           "2 points, 8 steps, a row each with the fit and ppl metrics: " + line)
    expect(rows[0]["retention_tau_s"] < rows[1]["retention_tau_s"],
           "retention grows with the storage capacitor: %.3g s at 4 fF, %.3g s at 16 fF"
           % (rows[0]["retention_tau_s"], rows[1]["retention_tau_s"]))
    line2, table2 = sweep(two, a)
    expect(line2.startswith("2 points; 0 steps run, 8 cached") and table2 == table,
           "a rerun runs nothing and writes the same table: " + line2)
    mpirun = shutil.which("mpirun")
    expect(mpirun is not None, "Open MPI's mpirun is installed (Debian package openmpi-bin)")
    if mpirun:
        m = os.path.join(d, "m")
        # Open MPI's own allocations, still held at exit from plugins it has unloaded, have no
        # stack LeakSanitizer can name; the same engine is leak-checked in the serial runs
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                   ":detect_leaks=0")
        r = run([mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np",
                 "2", GCSIM, "sweep", two, "--out", m], env=env)
        with open(os.path.join(m, "table.json")) as f:
            expect(f.read() == table, "mpirun -np 2: the same table byte for byte (%s)"
                   % r.stdout.strip().splitlines()[-1])
    killed, line3, table3, left = killed_then_resumed(two, os.path.join(d, "b"))
    expect(killed and table3 == table and not left,
           "killed (SIGKILL) after its first fit, then resumed: the same table byte for byte, "
           "no temporary folder left (%s)" % line3)
    three = sweep_file(d, "three.json", ["4f", "16f", "8f"])
    line4, table4 = sweep(three, a)
    expect(line4.startswith("3 points; 4 steps run, 8 cached") and
           json.loads(table4)[:2] == rows, "extended by a value: only its 4 steps run: " + line4)
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        json.dump({"axes": {"colour": ["red"]}}, f)
    r = run([GCSIM, "sweep", bad, "--out", os.path.join(d, "c")], expect_ok=False)
    expect(r.returncode == 1 and "colour" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
           "an unknown axis is one line: " + r.stderr.strip())
if failures:
    sys.exit("FAILED: %s" % failures)
