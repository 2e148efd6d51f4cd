"""A SPICE worker killed from outside is started again, a bounded number of times, and the
result equals an undisturbed run.

Workers are caught while they simulate (SIGSTOP, then SIGKILL: see hardening.kill_workers).
- characterize (default --retries 1), one worker killed: exit 0, `-v` names the retried
  simulation, and every dataset of curves.h5 equals the undisturbed run's bit for bit;
- --retries 0, one worker killed: one line "worker process died (signal 9 ...)", exit 1, the
  previous curves.h5 untouched, no temporary file;
- --retries 1, the same simulation killed twice (--jobs 1: the retry is the next worker): one
  line naming the 2 attempts, exit 1;
- validate (default --retries 1), one worker killed: exit 0 and validate.json's SPICE charges
  equal the undisturbed run's.
"""
import json
import os
import shutil
import sys
import tempfile

import h5py
import numpy as np

from gcsim_test import run, sha256
from hardening import SMALL, TINY, Checker, gcsim_popen, kill_workers, temporaries, write

ck = Checker()


def datasets(path):
    """{name: array} of every dataset in an HDF5 file."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset)
                     else None)
    return out


def same_datasets(a, b):
    da, db = datasets(a), datasets(b)
    if da.keys() != db.keys():
        return "datasets differ: %s" % sorted(set(da) ^ set(db))
    for k in da:
        x, y = np.asarray(da[k]), np.asarray(db[k])
        if x.shape != y.shape or x.tobytes() != y.tobytes():
            return "dataset %s differs" % k
    return None


def disturbed(args, kills, hit=lambda rc, err: rc != 0):
    """Runs gcsim args and kills `kills` workers; tries again (up to 10 times) until the kills
    hit running simulations (hit(rc, stderr): by default, the run failed)."""
    for _ in range(10):
        p = gcsim_popen(*args)
        killed = kill_workers(p, kills)
        out, err = p.communicate(timeout=600)
        if killed == kills and hit(p.returncode, err):
            return p.returncode, out, err
    raise SystemExit("never caught %d running worker(s) of gcsim %s" % (kills, args[0]))


def main():
    d = tempfile.mkdtemp(prefix="gcsim_retry_")
    try:
        j = lambda *p: os.path.join(d, *p)
        write(j("tiny.plan"), TINY)
        base = ["characterize", "--plan", j("tiny.plan"), "--jobs", "1"]
        run(*base, "--out", j("calm.h5"))

        rc, _, err = disturbed([*base, "-v", "--out", j("retried.h5")], 1,
                               lambda rc, err: rc != 0 or "attempts" in err)
        retried = [l.strip() for l in err.splitlines() if "attempts" in l]
        print("one worker killed, --retries 1: rc=%d; %s" % (rc, retried))
        if rc != 0 or not retried:
            ck.fail("killed worker retried", "rc %d, stderr:\n%s" % (rc, err[-2000:]))
        else:
            diff = same_datasets(j("calm.h5"), j("retried.h5"))
            if diff:
                ck.fail("retried run equals the undisturbed one", diff)
            else:
                print("retried run: every dataset equals the undisturbed run's")

        shutil.copyfile(j("calm.h5"), j("prev.h5"))
        keep = sha256(j("prev.h5"))
        rc, _, err = disturbed([*base, "--retries", "0", "--out", j("prev.h5")], 1)
        ck.check("one worker killed, --retries 0", rc, err,
                 ["worker process died (signal 9"], folder=d)
        rc, _, err = disturbed([*base, "--out", j("prev.h5")], 2)
        ck.check("the same job killed twice, --retries 1", rc, err,
                 ["worker process died (signal 9", "(2 attempts)"], folder=d)
        if sha256(j("prev.h5")) != keep:
            ck.fail("failed runs keep the previous curves.h5", "it changed")

        # validate: the same retry under the validation engine
        write(j("small.plan"), SMALL)
        run("characterize", "--plan", j("small.plan"), "--out", j("small.h5"))
        run("fit", "--curves", j("small.h5"), "--out", j("cell.h5"))
        val = ["validate", "--cell", j("cell.h5"), "--samples", "6", "--cells", "4", "--jobs",
               "1"]
        run(*val, "--out", j("val_calm"))
        report = lambda v: json.load(open(j(v, "validate.json")))
        rc, _, err = disturbed([*val, "--out", j("val_retried")], 1,
                               lambda rc, err: rc != 0 or
                               report("val_retried")["spice_worker_retries"] > 0)
        if rc != 0:
            ck.fail("validate, one worker killed", "rc %d: %s" % (rc, err[-2000:]))
        else:
            q = [report(v)["patterns"]["spice_charge_C"] for v in ("val_calm", "val_retried")]
            print("validate, one worker killed: rc=0, %d retry, SPICE charges %s the undisturbed"
                  " run's" % (report("val_retried")["spice_worker_retries"],
                              "equal" if q[0] == q[1] else "DIFFER FROM"))
            if q[0] != q[1]:
                ck.fail("validate retried equals undisturbed", "charges differ")
            if temporaries(j("val_retried")):
                ck.fail("validate retried", "temporaries left")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    ck.exit()


if __name__ == "__main__":
    sys.exit(main())
