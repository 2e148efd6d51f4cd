"""Two gcsim processes writing the same output both finish, and the output is a whole file
from one of them (every write goes to a temporary file of its own and is renamed into place).

For characterize, fit, import, tokenize, attention, plot and ppl --json: two runs that write
different results (different inputs or parameters) first each alone (the references A and
B), then at the same time into one output, twice over. Both must exit 0 with no
sanitizer report; each output file must equal A's or B's (HDF5: every dataset; .npy and PNG:
byte for byte; JSON: all but the command line and timings); no temporary file may be left.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

import synthetic_curves
from gcsim_test import GCSIM, ROOT
from hardening import TINY, Checker, temporaries, write

MODEL = os.path.join(ROOT, "data", "models", "bytes-5x256-paper-linear")
ROUNDS = 2
ck = Checker()


def h5_datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, np.asarray(o[()]).tobytes())
                     if isinstance(o, h5py.Dataset) else None)
    return out


def json_result(path):
    """The JSON without what names the output or times the run."""
    with open(path) as f:
        r = json.load(f)
    return {k: v for k, v in r.items() if k not in ("command", "seconds", "tokens_per_second")}


def content(path):
    """What must match a reference: datasets, result numbers or bytes."""
    if path.endswith(".h5"):
        return h5_datasets(path)
    if path.endswith(".json"):
        return json_result(path)
    with open(path, "rb") as f:
        return f.read()


def both(args_a, args_b):
    """Runs the two commands at once; returns their CompletedProcess-like results."""
    ps = [subprocess.Popen([GCSIM, *map(str, a)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True) for a in (args_a, args_b)]
    return [(p, *p.communicate(timeout=600)) for p in ps]


def case(name, make, ext, folder):
    """make(who, path) -> argv of run A or B writing to path: a file named with ext, or a
    folder (ext "") whose files are all compared."""
    stem = os.path.join(folder, name.split()[0])
    refs = []
    for who in ("a", "b"):
        out = "%s_%s%s" % (stem, who, ext)
        p = subprocess.run([GCSIM, *map(str, make(who, out))], capture_output=True, text=True,
                           timeout=600)
        if p.returncode:
            sys.exit("%s %s alone failed: %s" % (name, who, p.stderr))
        refs.append({f: content(os.path.join(out, f)) for f in sorted(os.listdir(out))}
                    if not ext else {"": content(out)})
    if refs[0] == refs[1]:
        sys.exit("%s: runs A and B write the same result; the test cannot tell them apart" %
                 name)
    shared = stem + "_shared" + ext
    for r in range(ROUNDS):
        res = both(make("a", shared), make("b", shared))
        bad = []
        for p, _, err in res:
            if p.returncode != 0 or "Sanitizer" in err or "runtime error" in err:
                bad.append("exit %d: %s" % (p.returncode, err.strip()[-800:]))
        for f in refs[0]:
            path = os.path.join(shared, f) if f else shared
            try:
                got = content(path)
            except Exception as ex:  # a damaged file: h5py, json or a missing file
                bad.append("%s unreadable: %s" % (path, ex))
                continue
            if got not in (refs[0][f], refs[1][f]):
                bad.append("%s is neither A's nor B's" % path)
        left = temporaries(folder) + (temporaries(shared) if not ext else [])
        if left:
            bad.append("left %s" % left)
        print("%-14s round %d: %s" % (name, r + 1, "; ".join(bad) if bad else
                                      "both exit 0, one whole result"))
        if bad:
            ck.failures.append("%s round %d" % (name, r + 1))


def main():
    d = tempfile.mkdtemp(prefix="gcsim_concurrent_")
    try:
        j = lambda *p: os.path.join(d, *p)
        write(j("tiny.plan"), TINY)
        synthetic_curves.write_curves(j("curves_a.h5"))
        synthetic_curves.write_iv_csv(j("iv.csv"))
        rng = np.random.default_rng(1)
        for who in ("a", "b"):
            for n in ("q", "k", "v"):
                np.save(j(n + "_" + who + ".npy"),
                        rng.uniform(0, .9, (1, 8, 4)).astype(np.float32))
        write(j("text_a.txt"), "The quick brown fox jumps over the lazy dog. " * 40)
        write(j("text_b.txt"), "Analog gain cells hold the keys and values. " * 40)
        synthetic_curves.write_curves(j("curves_b.h5"), n_v=48, n_t=300)
        c_store = {"a": "c_store=14f", "b": "c_store=18f"}
        case("characterize", lambda w, out: ["characterize", "--plan", j("tiny.plan"), "--set",
                                             c_store[w], "--out", out], ".h5", d)
        case("fit", lambda w, out: ["fit", "--curves", j("curves_" + w + ".h5"), "--out", out],
             ".h5", d)
        t_max = {"a": "1e-6", "b": "2e-6"}
        case("import", lambda w, out: ["import", "--read-iv", j("iv.csv"), "--t-max",
                                       t_max[w], "--out", out], ".h5", d)
        case("tokenize", lambda w, out: ["tokenize", j("text_" + w + ".txt"), "--tokenizer",
                                         "bytes", "--out", out], ".npy", d)
        case("attention", lambda w, out: ["attention", "--q", j("q_" + w + ".npy"), "--k",
                                          j("k_" + w + ".npy"), "--v", j("v_" + w + ".npy"),
                                          "--attention", "paper-cubic", "--out", out], "", d)
        case("plot", lambda w, out: ["plot", j("curves_" + w + ".h5"), "--out", out], "", d)
        case("ppl --json", lambda w, out: ["ppl", "--model", MODEL, "--text",
                                           j("text_" + w + ".txt"), "--json", out], ".json", d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    ck.exit()


if __name__ == "__main__":
    sys.exit(main())
