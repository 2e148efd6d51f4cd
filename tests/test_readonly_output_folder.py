"""Every command that writes, pointed at a read-only folder, prints one line and leaves the
folder as it was.

The folder holds a previous result of each command: characterize, fit (cell.h5 and --json),
import, tokenize, attention, ppl --json, adapt, validate, plot and report each write over
theirs, and the folder-making ones (attention, adapt, validate, plot) also into a new
sub-folder. Each must exit 1..127 with one line naming the output, no sanitizer report, and
the folder must be byte for byte what it was (no temporary file, no new folder); fit with
only --json in the folder writes neither output.

Making a folder read-only: root ignores permission bits, and CI runs as root, so as root the
command runs in a mount namespace of its own where the folder is bind-mounted read-only
(`unshare -m`, then `mount -o remount,bind,ro`; writes fail with EROFS); as another user the
folder is chmod 0555 (EACCES). Where neither works (root without CAP_SYS_ADMIN) the commands
run as nobody (setpriv) against a chmod 0555 folder, if gcsim and the inputs are readable
to nobody; otherwise the test is skipped (exit 77).
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import synthetic_curves
from gcsim_test import GCSIM, ROOT, run
from hardening import SMALL, Checker, snapshot, write

MODEL = os.path.join(ROOT, "data", "models", "bytes-5x256-paper-linear")
RO_MOUNT = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" || exit 99; '
            'shift; exec "$@"')
ck = Checker()


def chmod_tree(folder, mode_dir):
    for d, dirs, _ in os.walk(folder):
        for n in dirs:
            os.chmod(os.path.join(d, n), mode_dir)
    os.chmod(folder, mode_dir)


def way_to_lock(folder):
    """A function (argv -> argv) that runs argv with folder read-only, and its name."""
    probe = ["sh", "-c", 'touch "$1/probe" 2>/dev/null && echo writable || echo locked', "sh",
             folder]
    if os.geteuid() != 0:
        chmod_tree(folder, 0o555)
        return (lambda argv: argv), "chmod 0555 (not root)"
    ns = lambda argv: ["unshare", "-m", "--propagation", "private", "sh", "-c", RO_MOUNT,
                       "sh", folder, *argv]
    try:
        out = subprocess.run(ns(probe), capture_output=True, text=True, timeout=30)
        if out.stdout.strip() == "locked":
            return ns, "read-only bind mount in a private mount namespace (unshare -m)"
    except (OSError, subprocess.TimeoutExpired):
        pass
    nobody = lambda argv: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           *argv]
    chmod_tree(folder, 0o555)
    try:
        out = subprocess.run(nobody(probe), capture_output=True, text=True, timeout=30)
        ok = subprocess.run(nobody([GCSIM, "--version"]), capture_output=True, timeout=30)
        if out.stdout.strip() == "locked" and ok.returncode == 0:
            return nobody, "user nobody (setpriv) and chmod 0555"
    except (OSError, subprocess.TimeoutExpired):
        pass
    chmod_tree(folder, 0o755)
    return None, None


def previous_results(d, ro):
    """Inputs in d, and one previous result of every writing command in ro."""
    j = lambda *p: os.path.join(d, *p)
    r = lambda *p: os.path.join(ro, *p)
    write(j("small.plan"), SMALL)
    synthetic_curves.write_iv_csv(j("iv.csv"))
    for n in ("q", "k", "v"):
        np.save(j(n + ".npy"), np.random.default_rng(1).uniform(0, .9, (1, 8, 4))
                .astype(np.float32))
    write(j("text.txt"), "The quick brown fox jumps over the lazy dog. " * 100)
    run("characterize", "--plan", j("small.plan"), "--out", r("curves.h5"))
    run("fit", "--curves", r("curves.h5"), "--out", r("cell.h5"), "--json", r("fit.json"))
    run("import", "--read-iv", j("iv.csv"), "--out", r("imported.h5"))
    run("tokenize", j("text.txt"), "--tokenizer", "bytes", "--out", r("ids.npy"))
    run("attention", "--q", j("q.npy"), "--k", j("k.npy"), "--v", j("v.npy"), "--out",
        r("att"), "--attention", "paper-cubic")
    run("ppl", "--model", MODEL, "--text", j("text.txt"), "--max-tokens", "300", "--json",
        r("ppl.json"))
    run("adapt", "--model", MODEL, "--text", j("text.txt"), "--batch", "1", "--ctx", "128",
        "--max-iter", "2", "--out", r("model"))
    run("validate", "--cell", r("cell.h5"), "--samples", "2", "--cells", "4", "--out",
        r("val"))
    run("plot", r("curves.h5"), "--out", r("plots"))
    run("report", "--results", ro, "--out", r("report.html"))


def main():
    d = tempfile.mkdtemp(prefix="gcsim_readonly_")
    try:
        os.chmod(d, 0o777)  # writable by nobody too (the setpriv way), beside the folder
        ro = os.path.join(d, "ro")
        os.mkdir(ro)
        previous_results(d, ro)
        j = lambda *p: os.path.join(d, *p)
        r = lambda *p: os.path.join(ro, *p)
        lock, how = way_to_lock(ro)
        if not lock:
            print("SKIP: no way to make a folder read-only here (root without CAP_SYS_ADMIN, "
                  "no setpriv, or gcsim not readable by nobody)")
            sys.exit(77)
        print("read-only folder:", how)
        before = snapshot(ro)
        cases = [
            ("characterize", ["characterize", "--plan", j("small.plan"), "--out",
                              r("curves.h5")], r("curves.h5")),
            ("fit", ["fit", "--curves", r("curves.h5"), "--out", r("cell.h5")], r("cell.h5")),
            ("fit --json", ["fit", "--curves", r("curves.h5"), "--out", j("cell.h5"), "--json",
                            r("fit.json")], r("fit.json")),
            ("import", ["import", "--read-iv", j("iv.csv"), "--out", r("imported.h5")],
             r("imported.h5")),
            ("tokenize", ["tokenize", j("text.txt"), "--tokenizer", "bytes", "--out",
                          r("ids.npy")], r("ids.npy")),
            ("ppl --json", ["ppl", "--model", MODEL, "--text", j("text.txt"), "--max-tokens",
                            "300", "--json", r("ppl.json")], r("ppl.json")),
            ("report", ["report", "--results", ro, "--out", r("report.html")],
             r("report.html")),
        ]
        for sub in ("", "_new"):
            cases += [
                ("attention" + sub, ["attention", "--q", j("q.npy"), "--k", j("k.npy"), "--v",
                                     j("v.npy"), "--out", r("att" + sub), "--attention",
                                     "paper-cubic"], r("att" + sub)),
                ("adapt" + sub, ["adapt", "--model", MODEL, "--text", j("text.txt"), "--batch",
                                 "1", "--ctx", "128", "--max-iter", "2", "--out",
                                 r("model" + sub)], r("model" + sub)),
                ("validate" + sub, ["validate", "--cell", r("cell.h5"), "--samples", "2",
                                    "--cells", "4", "--out", r("val" + sub)], r("val" + sub)),
                ("plot" + sub, ["plot", r("curves.h5"), "--out", r("plots" + sub)],
                 r("plots" + sub)),
            ]
        for name, args, out in cases:
            p = subprocess.run(lock([GCSIM, *args]), capture_output=True, text=True,
                               timeout=600)
            ck.check(name, p.returncode, p.stderr, [out], folder=ro, before=before)
        if os.path.exists(j("cell.h5")):
            ck.fail("fit --json", "replaced --out before finding --json unwritable")
    finally:
        chmod_tree(d, 0o755)
        shutil.rmtree(d, ignore_errors=True)
    ck.exit()


if __name__ == "__main__":
    sys.exit(main())
