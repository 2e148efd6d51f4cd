"""Helpers of the fault-injection tests (suite 'hardening'): process trees, worker kills,
and the check every injected fault must pass (one line, an exit status in range, no
sanitizer report, no temporary file, previous results unchanged)."""
import os
import signal
import subprocess
import time

from gcsim_test import GCSIM, sha256

TINY = ("read_dc_nv 4\nread_dc_nvin 2\nread_nv 4\nread_levels 2\nleak_dc_n 21\nleak_n0 2\n"
        "leak_points 10\nwrite_levels 2\nc2p_n 2\nreadout_n 2\njobs_per_sweep 1\n")
# the smallest plan `gcsim fit` accepts (4 charge points per converter): a cell for validate
SMALL = ("read_dc_nv 8\nread_dc_nvin 2\nread_nv 8\nread_levels 2\nleak_dc_n 21\nleak_n0 2\n"
         "leak_points 10\nwrite_levels 4\nc2p_n 4\nreadout_n 4\njobs_per_sweep 1\n")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def state(pid):
    """The process state letter (R, S, T, Z, ...) or None when pid is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def children(pid):
    """Process ids whose parent is pid."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return found


def in_session(sid):
    """Live (not zombie) processes of session sid."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[4]) == sid and fields[0] != "Z":
                    found.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return found


def is_spice_worker(pid):
    """SPICE workers name themselves gcsim-spice (other children of gcsim, such as the one
    that parses an HDF5 input, keep gcsim's name)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip() == "gcsim-spice"
    except OSError:
        return False


def kill_workers(p, count, seen=None):
    """Kills up to count SPICE workers of the running gcsim p, one after the other, each
    caught while it simulates: stopped with SIGSTOP first, so that it cannot finish between
    the look and the kill, then killed with SIGKILL. Returns how many were killed (fewer if p
    ended first). A worker stopped after it sent its whole result still counts: the caller
    checks that the kill mattered (gcsim -v names the retried simulations)."""
    seen = set() if seen is None else seen
    killed = 0
    while killed < count and p.poll() is None:
        for c in children(p.pid):
            if c in seen or not is_spice_worker(c):
                continue
            seen.add(c)
            try:
                os.kill(c, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            for _ in range(200):
                s = state(c)
                if s in (None, "Z", "T", "t"):
                    break
                time.sleep(0.001)
            if s in ("T", "t"):
                os.kill(c, signal.SIGKILL)
                killed += 1
                break
        time.sleep(0.002)
    return killed


def gcsim_popen(*args, **kw):
    return subprocess.Popen([GCSIM, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def temporaries(folder):
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


def snapshot(folder):
    """{relative path: sha256} of every file under folder, and its folders."""
    out = {}
    for d, dirs, files in os.walk(folder):
        for n in dirs:
            out[os.path.relpath(os.path.join(d, n), folder) + "/"] = "dir"
        for n in files:
            f = os.path.join(d, n)
            out[os.path.relpath(f, folder)] = sha256(f)
    return out


class Checker:
    """Collects failures; check() prints one row per case."""

    def __init__(self):
        self.failures = []

    def check(self, name, rc, stderr, needles=(), statuses=range(1, 128), folder=None,
              before=None):
        """stderr is one line holding every needle, rc is in statuses, no sanitizer report;
        folder, if given, has no temporary file and (if before is given) equals before."""
        err = stderr.strip()
        lines = err.splitlines()
        bad = []
        if rc not in statuses:
            bad.append("exit status %d" % rc)
        if len(lines) != 1:
            bad.append("%d lines on stderr" % len(lines))
        if "Sanitizer" in err or "runtime error" in err:
            bad.append("sanitizer report")
        bad += ["no '%s'" % n for n in needles if not lines or n not in lines[0]]
        if folder is not None:
            left = temporaries(folder)
            if left:
                bad.append("left %s" % left)
            if before is not None and snapshot(folder) != before:
                bad.append("changed the folder")
        print("%-44s rc=%-3d %s%s" % (name, rc, lines[0][:150] if lines else "(nothing)",
                                       "  FAIL: " + "; ".join(bad) if bad else ""))
        if bad:
            print(err[-3000:])
            self.failures.append(name)
        return not bad

    def fail(self, name, why):
        print("%-44s FAIL: %s" % (name, why))
        self.failures.append(name)

    def exit(self):
        if self.failures:
            print("FAILED:", self.failures)
            raise SystemExit(1)
        print("ok")
