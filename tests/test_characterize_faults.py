"""Every way a simulation can fail gives one clear line, a non-zero exit status, and leaves
the previous curves.h5 untouched.

Faults: a model card that does not parse, a circuit that cannot converge, a worker process
killed from outside while it simulates (with --retries 0), and a per-simulation timeout.
Also: bad --set and --tech arguments are refused before anything runs.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import h5py

from gcsim_test import GCSIM, ROOT, fail, run, sha256

TINY = ("read_dc_nv 4\nread_dc_nvin 2\nread_nv 4\nread_levels 2\nleak_dc_n 21\nleak_n0 2\n"
        "leak_points 10\nwrite_levels 2\nc2p_n 2\nreadout_n 2\njobs_per_sweep 1\n")


def broken_tech(tmp, name, extra_lines):
    """A copy of the silicon technology whose model card ends with extra_lines."""
    card = os.path.join(tmp, name + ".lib")
    with open(os.path.join(ROOT, "spice", "models", "si40lp.lib")) as f, open(card, "w") as g:
        g.write(f.read() + extra_lines)
    tech = os.path.join(tmp, name + ".tech")
    with open(os.path.join(ROOT, "spice", "tech", "si.tech")) as f, open(tech, "w") as g:
        for line in f:
            g.write(f"model_card {card}\n" if line.startswith("model_card") else line)
    return tech


def expect_failure(what, p, needle, out, digest):
    err = p.stderr.strip()
    print(f"{what}: exit {p.returncode}: {err}")
    if p.returncode == 0:
        fail(f"{what}: gcsim exited 0")
    if len(err.splitlines()) != 1 or needle not in err:
        fail(f"{what}: expected one line mentioning '{needle}', got: {err!r}")
    if sha256(out) != digest:
        fail(f"{what}: the existing curves.h5 was changed")
    leftovers = [n for n in os.listdir(os.path.dirname(out)) if ".tmp-" in n]
    if leftovers:
        fail(f"{what}: temporary files left behind: {leftovers}")


def alive(pid):
    """True if pid is a running process (not gone, not a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_a_worker(args, path, previous):
    """Starts gcsim, waits for one of its worker processes and kills it with SIGKILL.
    Simulations last tens of milliseconds, so a worker may finish (its result already sent)
    before the kill lands: then the run succeeds, and the previous result is put back
    before trying again."""
    for _ in range(20):
        shutil.copyfile(previous, path)
        p = subprocess.Popen([GCSIM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        killed = False
        while p.poll() is None and not killed:
            children = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True)
            for pid in children.stdout.split():
                if alive(pid):
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                        killed = True
                    except ProcessLookupError:
                        pass
        out, err = p.communicate(timeout=600)
        if killed and p.returncode != 0:
            return subprocess.CompletedProcess(args, p.returncode, out, err)
    fail("never caught a worker process to kill while it simulated")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        plan = os.path.join(tmp, "tiny.plan")
        with open(plan, "w") as f:
            f.write(TINY)
        out = os.path.join(tmp, "curves.h5")
        with h5py.File(out, "w") as f:  # the result a failed run must not destroy
            f.attrs["marker"] = "previous result"
        digest = sha256(out)
        previous = os.path.join(tmp, "previous.h5")
        shutil.copyfile(out, previous)
        base = ["characterize", "--plan", plan, "--out", out]

        syntax = broken_tech(tmp, "syntax", "\nMbroken a b c\n")
        expect_failure("syntax error", run(*base, "--tech", syntax, check=False),
                       "does not parse", out, digest)

        diverge = broken_tech(tmp, "diverge", "\nBrun nx 0 I = -1e-3*exp(40*v(nx))\n"
                                              "Cx nx 0 1p\nRx nx 0 1e3\n")
        expect_failure("non-convergence", run(*base, "--tech", diverge, check=False),
                       "did not converge", out, digest)

        # the default plan: about 70 simulations, so a worker is alive most of the time;
        # without retries (test_killed_worker_is_retried checks the default, one retry)
        expect_failure("killed worker",
                       kill_a_worker(["characterize", "--out", out, "--jobs", "1",
                                      "--retries", "0"], out, previous),
                       "worker process died (signal 9", out, digest)

        expect_failure("timeout", run(*base, "--timeout", "0.001", check=False),
                       "timed out after 0.001 s", out, digest)

        expect_failure("unknown parameter", run(*base, "--set", "no_such=1", check=False),
                       "no parameter 'no_such'", out, digest)
        expect_failure("bad value", run(*base, "--set", "c_store=abc", check=False),
                       "is not a number", out, digest)
        expect_failure("missing technology", run(*base, "--tech", "nowhere.tech", check=False),
                       "cannot open technology file", out, digest)
        bad_plan = os.path.join(tmp, "bad.plan")
        with open(bad_plan, "w") as f:
            f.write("read_nv 1\n")
        expect_failure("bad plan", run("characterize", "--plan", bad_plan, "--out", out,
                                       check=False), "bad.plan:1", out, digest)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
