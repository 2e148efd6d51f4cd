"""An output is written whole or not at all, and never over an input.

- `characterize --dump-netlists P` where P is an existing file: refused before any
  simulation (it used to free uninitialised results and crash), no temporary file left.
- A full disk while a result is written: every write of the process fails past a few KB (an
  injected failure that needs no privileges: RLIMIT_FSIZE with SIGXFSZ ignored, so write()
  returns EFBIG as it returns ENOSPC on a full disk). import, fit, characterize (HDF5),
  attention and tokenize (.npy), fit --json (JSON) and plot (PNG through gnuplot) must each
  print one line naming the output, exit 1, leave the previous result as it was and no
  temporary file, with no sanitizer report (HDF5 used to crash at exit in H5F__close_cb).
- An output path naming an input (fit, import, tokenize, characterize, adapt) is refused and
  the input left as it was.
- A failing disk (EIO) and a full one (ENOSPC), injected into the writes of one folder by an
  LD_PRELOAD shim (tests/fault_write_shim.c, built here with the system compiler): write()
  failing, or only fsync() failing (the delayed error of a disk that cached the data).
  import, fit (cell.h5 and --json), characterize, tokenize, attention, plot, ppl --json and
  adapt each print one line naming the output and the error, exit 1, and leave the previous
  result and no temporary file.
"""
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np

import synthetic_curves
from gcsim_test import GCSIM, ROOT, sha256

TINY = ("read_dc_nv 4\nread_dc_nvin 2\nread_nv 4\nread_levels 2\nleak_dc_n 21\nleak_n0 2\n"
        "leak_points 10\nwrite_levels 2\nc2p_n 2\nreadout_n 2\njobs_per_sweep 1\n")
MODEL = os.path.join(ROOT, "data", "models", "bytes-5x256-paper-linear")
failures = []


def gcsim(*args, fsize=None, env=None):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return subprocess.run([GCSIM, *map(str, args)], capture_output=True, text=True,
                          timeout=600, preexec_fn=limit if fsize else None,
                          env=dict(os.environ, **env) if env else None)


def build_shim(d):
    """Compiles tests/fault_write_shim.c; returns the LD_PRELOAD value that loads it (after
    the AddressSanitizer runtime, which must come first, when gcsim is built with it)."""
    shim = os.path.join(d, "fault_write_shim.so")
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O1", "-o", shim,
                    os.path.join(ROOT, "tests", "fault_write_shim.c"), "-ldl"], check=True)
    ldd = subprocess.run(["ldd", GCSIM], capture_output=True, text=True).stdout
    asan = re.search(r"(\S*libasan\.so\S*) => (\S+)", ldd)
    return (asan.group(2) + " " if asan else "") + shim


def disk_error(preload, folder, err, on="both"):
    """The environment that makes writes under folder fail with err (EIO or ENOSPC)."""
    return {"LD_PRELOAD": preload, "GCSIM_FAULT_DIR": os.path.realpath(folder),
            "GCSIM_FAULT_ERRNO": err, "GCSIM_FAULT_ON": on}


def expect(name, p, needles, kept, folder):
    """One line with every needle, exit 1..127, no sanitizer report; the files in kept
    ({path: sha256}) unchanged; no temporary file in folder."""
    err = p.stderr.strip()
    lines = err.splitlines()
    ok = (1 <= p.returncode <= 127 and len(lines) == 1 and "Sanitizer" not in err
          and "runtime error" not in err and all(n in lines[0] for n in needles))
    changed = [f for f, h in kept.items() if sha256(f) != h]
    left = [n for n in os.listdir(folder) if ".tmp-" in n]
    print("%-34s rc=%d %s%s" % (name, p.returncode, lines[0][:140] if lines else "(nothing)",
                                "" if ok and not changed and not left else "  FAIL"))
    if not ok:
        print(err[-3000:])
        failures.append(name)
    if changed:
        failures.append("%s: changed %s" % (name, changed))
    if left:
        failures.append("%s: left %s" % (name, left))


def disk_errors(d, j):
    """Every writer against write() and fsync() failing with EIO or ENOSPC in bad/, which
    holds the previous results (copies of those made in main)."""
    preload = build_shim(d)
    bad = j("bad")
    os.mkdir(bad)
    b = lambda *p: os.path.join(bad, *p)
    for f in ("imported.h5", "cell.h5", "fit.json", "tiny.h5", "ids.npy"):
        shutil.copyfile(j(f), b(f))
    for f in ("att", "plots"):
        shutil.copytree(j(f), b(f))
    with open(b("ppl.json"), "w") as f:
        f.write("{}\n")
    shutil.copytree(MODEL, b("model"))
    keep = lambda *f: {x: sha256(x) for x in f}
    eio = "Input/output error"
    nospc = "No space left on device"
    expect("import, EIO",
           gcsim("import", "--read-iv", j("iv.csv"), "--out", b("imported.h5"),
                 env=disk_error(preload, bad, "EIO")),
           [b("imported.h5"), eio], keep(b("imported.h5")), bad)
    expect("fit, ENOSPC",
           gcsim("fit", "--curves", j("curves.h5"), "--out", b("cell.h5"),
                 env=disk_error(preload, bad, "ENOSPC")),
           [b("cell.h5"), nospc], keep(b("cell.h5")), bad)
    expect("fit --json, EIO on fsync",
           gcsim("fit", "--curves", j("curves.h5"), "--out", j("cell2.h5"), "--json",
                 b("fit.json"), env=disk_error(preload, bad, "EIO", "fsync")),
           [b("fit.json"), eio], keep(b("fit.json")), bad)
    expect("characterize, EIO on fsync",
           gcsim("characterize", "--plan", j("tiny.plan"), "--out", b("tiny.h5"),
                 env=disk_error(preload, bad, "EIO", "fsync")),
           [b("tiny.h5"), eio], keep(b("tiny.h5")), bad)
    expect("tokenize, EIO",
           gcsim("tokenize", j("text.txt"), "--tokenizer", "bytes", "--out", b("ids.npy"),
                 env=disk_error(preload, bad, "EIO", "write")),
           [b("ids.npy"), eio], keep(b("ids.npy")), bad)
    expect("tokenize, ENOSPC on fsync",
           gcsim("tokenize", j("text.txt"), "--tokenizer", "bytes", "--out", b("ids.npy"),
                 env=disk_error(preload, bad, "ENOSPC", "fsync")),
           [b("ids.npy"), nospc], keep(b("ids.npy")), bad)
    att = [b("att", f) for f in os.listdir(b("att"))]
    expect("attention, ENOSPC",
           gcsim("attention", "--q", j("q.npy"), "--k", j("k.npy"), "--v", j("v.npy"),
                 "--out", b("att"), "--attention", "paper-cubic",
                 env=disk_error(preload, bad, "ENOSPC")),
           [b("att"), nospc], keep(*att), b("att"))
    plots = [b("plots", f) for f in os.listdir(b("plots"))]
    expect("plot, EIO",
           gcsim("plot", j("curves.h5"), "--out", b("plots"),
                 env=disk_error(preload, bad, "EIO")),
           [b("plots"), eio], keep(*plots), b("plots"))
    expect("ppl --json, EIO",
           gcsim("ppl", "--model", MODEL, "--text", j("text.txt"), "--max-tokens", "300",
                 "--json", b("ppl.json"), env=disk_error(preload, bad, "EIO")),
           [b("ppl.json"), eio], keep(b("ppl.json")), bad)
    model = [b("model", f) for f in os.listdir(b("model"))]
    expect("adapt, EIO",
           gcsim("adapt", "--model", MODEL, "--text", j("text.txt"), "--batch", "1", "--ctx",
                 "128", "--max-iter", "2", "--out", b("model"),
                 env=disk_error(preload, bad, "EIO")),
           [b("model"), eio], keep(*model), b("model"))


def main():
    d = tempfile.mkdtemp(prefix="gcsim_outputs_")
    try:
        j = lambda *p: os.path.join(d, *p)
        with open(j("tiny.plan"), "w") as f:
            f.write(TINY)
        synthetic_curves.write_curves(j("curves.h5"))
        synthetic_curves.write_iv_csv(j("iv.csv"))
        for n in ("q", "k", "v"):
            np.save(j(n + ".npy"), np.random.default_rng(1).uniform(0, .9, (1, 8, 4))
                    .astype(np.float32))
        with open(j("text.txt"), "w") as f:
            f.write("The quick brown fox jumps over the lazy dog. " * 200)
        # previous results, each of which a failed run must leave alone
        for args in (("import", "--read-iv", j("iv.csv"), "--out", j("imported.h5")),
                     ("fit", "--curves", j("curves.h5"), "--out", j("cell.h5"), "--json",
                      j("fit.json")),
                     ("characterize", "--plan", j("tiny.plan"), "--out", j("tiny.h5")),
                     ("attention", "--q", j("q.npy"), "--k", j("k.npy"), "--v", j("v.npy"),
                      "--out", j("att"), "--attention", "paper-cubic"),
                     ("tokenize", j("text.txt"), "--tokenizer", "bytes", "--out",
                      j("ids.npy")),
                     ("plot", j("curves.h5"), "--out", j("plots"))):
            p = gcsim(*args)
            if p.returncode:
                sys.exit("setup: gcsim %s failed:\n%s" % (" ".join(args), p.stderr))
        keep = lambda *f: {x: sha256(x) for x in f}

        # 1. --dump-netlists names a file
        expect("dump-netlists is a file",
               gcsim("characterize", "--plan", j("tiny.plan"), "--dump-netlists",
                     j("tiny.plan"), "--out", j("tiny.h5")),
               ["--dump-netlists", "not a folder"], keep(j("tiny.h5"), j("tiny.plan")), d)

        # 2. full disk (writes fail past fsize bytes)
        expect("import, disk full",
               gcsim("import", "--read-iv", j("iv.csv"), "--out", j("imported.h5"),
                     fsize=8000), [j("imported.h5"), "cannot write"],
               keep(j("imported.h5")), d)
        expect("fit, disk full",
               gcsim("fit", "--curves", j("curves.h5"), "--out", j("cell.h5"), fsize=40000),
               [j("cell.h5"), "cannot write"], keep(j("cell.h5"), j("fit.json")), d)
        expect("characterize, disk full",
               gcsim("characterize", "--plan", j("tiny.plan"), "--out", j("tiny.h5"),
                     fsize=40000), [j("tiny.h5"), "cannot write"], keep(j("tiny.h5")), d)
        big = "x" * 300000
        with open(j("big.txt"), "w") as f:
            f.write(big)
        expect("tokenize --out, disk full",
               gcsim("tokenize", j("big.txt"), "--tokenizer", "bytes", "--out", j("ids.npy"),
                     fsize=100000), [j("ids.npy"), "write failed"], keep(j("ids.npy")), d)
        expect("attention --out, disk full",
               gcsim("attention", "--q", j("q.npy"), "--k", j("k.npy"), "--v", j("v.npy"),
                     "--out", j("att"), "--attention", "paper-cubic", fsize=200),
               [j("att"), "write failed"],
               keep(j("att", "S.npy"), j("att", "out.npy"), j("att", "phi.npy")), j("att"))
        expect("plot, disk full",
               gcsim("plot", j("curves.h5"), "--out", j("plots"), fsize=30000),
               [j("plots", "read.png"), "incomplete PNG"],
               keep(*[j("plots", f) for f in os.listdir(j("plots"))]), j("plots"))

        # 3. an output naming an input
        expect("fit --out = --curves",
               gcsim("fit", "--curves", j("curves.h5"), "--out", j("curves.h5")),
               ["--out", "is also an input"], keep(j("curves.h5")), d)
        expect("fit --json = --curves",
               gcsim("fit", "--curves", j("curves.h5"), "--out", j("c2.h5"), "--json",
                     j("curves.h5")), ["--json", "is also an input"], keep(j("curves.h5")), d)
        expect("import --out = --read-iv",
               gcsim("import", "--read-iv", j("iv.csv"), "--out", j("iv.csv")),
               ["--out", "is also an input"], keep(j("iv.csv")), d)
        expect("tokenize --out = FILE",
               gcsim("tokenize", j("text.txt"), "--tokenizer", "bytes", "--out",
                     j("text.txt")), ["--out", "is also an input"], keep(j("text.txt")), d)
        expect("characterize --out = --plan",
               gcsim("characterize", "--plan", j("tiny.plan"), "--out", j("tiny.plan")),
               ["--out", "is also an input"], keep(j("tiny.plan")), d)
        shutil.copytree(MODEL, j("model"))
        files = [j("model", f) for f in os.listdir(j("model"))]
        expect("adapt --out = --model",
               gcsim("adapt", "--model", j("model"), "--text", j("text.txt"), "--out",
                     j("model")), ["--out", "is also an input"], keep(*files), d)

        # 4. a failing or full disk (EIO, ENOSPC) under the folder bad/
        disk_errors(d, j)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("FAILED:", failures)
        sys.exit(1)


if __name__ == "__main__":
    main()
