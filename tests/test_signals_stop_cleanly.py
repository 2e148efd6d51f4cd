"""SIGINT and SIGTERM stop `gcsim characterize`, `validate` and `ppl` cleanly.

Each command runs in a session of its own on work that lasts minutes (characterize: the
default plan; validate: 400 patterns; ppl: 20000 tokens) and gets a signal while it works
(characterize and validate: while SPICE workers run): to the gcsim process alone, or to its
whole process group as a terminal's Ctrl-C sends it. Each must then
- exit with status 130 (SIGINT) or 143 (SIGTERM) after one line "... interrupted by SIG...",
  with no sanitizer report (LeakSanitizer checks the stop path at exit);
- leave no process behind in its session (every worker killed and reaped);
- leave its output folder as it was: the previous result unchanged, no temporary file.
"""
import os
import random
import shutil
import signal
import sys
import tempfile
import time

from gcsim_test import ROOT, run
from hardening import (SMALL, Checker, children, gcsim_popen, in_session, is_spice_worker,
                       snapshot, write)

MODEL = os.path.join(ROOT, "data", "models", "bytes-5x256-paper-linear")
ck = Checker()


def interrupt(name, args, sig, group, folder, wait_for_workers):
    """Starts gcsim args in a new session, sends sig once it works, checks the stop."""
    before = snapshot(folder)
    p = gcsim_popen(*args, start_new_session=True)
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < 60:
        if not wait_for_workers and time.time() - t0 > 3:
            break
        if wait_for_workers and any(is_spice_worker(c) for c in children(p.pid)):
            time.sleep(0.3)
            break
        time.sleep(0.02)
    if p.poll() is not None:
        ck.fail(name, "gcsim ended before the signal (rc %d): %s" % (p.returncode,
                                                                    p.stderr.read()[-500:]))
        return
    if group:
        os.killpg(p.pid, sig)
    else:
        os.kill(p.pid, sig)
    t_sig = time.time()
    _, err = p.communicate(timeout=120)
    stopped_in = time.time() - t_sig
    left = in_session(p.pid)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    status = 128 + sig
    signame = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
    if ck.check("%s, %s to the %s" % (name, signame, "group" if group else "process"),
                p.returncode, err, ["interrupted by " + signame], statuses=[status],
                folder=folder, before=before):
        print("%44s stopped %.1f s after the signal" % ("", stopped_in))
    if left:
        ck.fail(name, "processes left in its session: %s" % left)


def main():
    d = tempfile.mkdtemp(prefix="gcsim_signals_")
    try:
        j = lambda *p: os.path.join(d, *p)
        # previous results the interrupted runs must leave alone
        os.mkdir(j("out"))
        write(j("small.plan"), SMALL)
        run("characterize", "--plan", j("small.plan"), "--out", j("out", "curves.h5"))
        run("fit", "--curves", j("out", "curves.h5"), "--out", j("cell.h5"))
        val = ["validate", "--cell", j("cell.h5"), "--samples", "4", "--cells", "4"]
        run(*val, "--out", j("out", "val"))
        r = random.Random(1)
        words = "the quick brown fox jumps over a lazy dog in the analog gain cell".split()
        write(j("text.txt"), " ".join(r.choice(words) for _ in range(6000)))
        ppl = ["ppl", "--model", MODEL, "--text", j("text.txt"), "--ctx", "256"]
        run(*ppl, "--max-tokens", "300", "--json", j("out", "ppl.json"))
        write(j("long.txt"), " ".join(r.choice(words) for _ in range(40000)))

        characterize = ["characterize", "--jobs", "2", "--out", j("out", "curves.h5")]
        validate = [*val, "--samples", "400", "--jobs", "2", "--out", j("out", "val")]
        ppl_long = ["ppl", "--model", MODEL, "--text", j("long.txt"), "--ctx", "256",
                    "--max-tokens", "20000", "--json", j("out", "ppl.json")]
        for sig, group in ((signal.SIGINT, False), (signal.SIGTERM, False),
                           (signal.SIGINT, True)):
            interrupt("characterize", characterize, sig, group, j("out"), True)
            interrupt("validate", validate, sig, group, j("out"), True)
            interrupt("ppl", ppl_long, sig, group, j("out"), False)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    ck.exit()


if __name__ == "__main__":
    sys.exit(main())
