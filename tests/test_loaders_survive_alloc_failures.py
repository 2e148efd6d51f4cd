"""Every allocation of every loader fails in turn (SQLite's way) and each load ends with a
one-line error or a success, never a crash, a sanitizer report or a leak.

tests/alloc_failure_loader.c does the work for one loader and one file: for k = 1, 2, ...
the k-th allocation of a load fails (mode "once"; mode "persistent": the k-th and all after
it), until a load needs fewer than k allocations. Loaders and files: cell.h5 (cell_model_load,
from `gcsim fit` on synthetic curves), curves.h5 (calib_curves_load, synthetic), a model
folder of model.safetensors and config.json (gpt2_load), an
llm.c .bin (gpt2_load), a .npy (gc_npy_read) and GPT-2 BPE files (tok_gpt2_alloc); the model
and BPE files are the small ones of the fuzz seeds (tests/fuzz/corpus): a BF16 checkpoint
with a gcsim block and hardware tensors, a 1-layer llm.c file, a 270-token BPE.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import synthetic_curves
from gcsim_test import ROOT, run

TOOL = sys.argv[1]
MODE = ["--persistent"] if sys.argv[2:] == ["persistent"] else []
SEEDS = os.path.join(ROOT, "tests", "fuzz", "corpus")
SEP = b"\n--8<--\n"  # joins the files of one fuzz seed (tests/fuzz/make_seeds.py)


def unpack_seed(seed, folder, names):
    """Writes the files of a joined fuzz seed into folder."""
    os.mkdir(folder)
    with open(os.path.join(SEEDS, seed), "rb") as f:
        parts = f.read().split(SEP)
    for name, data in zip(names, parts):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return folder


def main():
    d = tempfile.mkdtemp(prefix="gcsim_allocfail_")
    failed = []
    try:
        j = lambda *p: os.path.join(d, *p)
        synthetic_curves.write_curves(j("curves.h5"))
        run("fit", "--curves", j("curves.h5"), "--out", j("cell.h5"))
        np.save(j("x.npy"), np.arange(24, dtype=np.float32).reshape(2, 3, 4))
        cases = [("cell", j("cell.h5")), ("curves", j("curves.h5")),
                 ("model", unpack_seed("safetensors/bf16-described", j("model"),
                                       ["config.json", "model.safetensors"])),
                 ("model", os.path.join(SEEDS, "llmc", "tiny-L1-C4.bin")),
                 ("npy", j("x.npy")),
                 ("bpe", unpack_seed("bpe_files/small", j("bpe"),
                                     ["encoder.json", "vocab.bpe"]))]
        for kind, path in cases:
            p = subprocess.run([TOOL, kind, path, *MODE], capture_output=True, text=True,
                               timeout=600)
            print(p.stdout.strip())
            if p.returncode != 0 or "Sanitizer" in p.stderr or "runtime error" in p.stderr:
                print(p.stderr[-4000:])
                failed.append("%s %s" % (kind, os.path.basename(path)))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failed:
        print("FAILED:", failed)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
