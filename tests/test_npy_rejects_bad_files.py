"""The .npy reader (through `gcsim attention`) accepts format versions 1, 2 and 3 and rejects
a wrong dtype, Fortran order, truncated data, trailing bytes, a malformed header, a bad
magic and mismatched shapes, each with exactly one line on stderr naming the file and the
problem, and a non-zero exit status. The .npy files gcsim writes load in numpy."""
import os
import struct
import sys

import numpy as np

from attention_cli import Run, inputs

failures = []


def npy_bytes(arr, version=1, header=None, descr=None, fortran=False, shape=None):
    """A hand-made .npy, so that every field can be broken on purpose."""
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
            descr or arr.dtype.str, fortran, shape if shape is not None else arr.shape)
    h = header.encode("utf-8" if version == 3 else "latin1")
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    length = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    data = arr.tobytes(order="F" if fortran else "C")
    return b"\x93NUMPY" + bytes([version, 0]) + length + h + data


def expect_error(run, name, blob, words, target="q"):
    with open(run.path(target), "wb") as f:
        f.write(blob)
    r = run.call(["--attention", "paper-cubic"], expect_ok=False)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    ok = (r.returncode != 0 and len(lines) == 1 and run.path(target) in lines[0]
          and all(w in lines[0] for w in words))
    print("%-28s rc=%d  %s  %s" % (name, r.returncode, lines[0] if lines else "(no message)",
                                   "ok" if ok else "FAIL"))
    if not ok:
        failures.append(name)


def main():
    q, k, v = inputs(5, 1, 20, 8)
    run = Run(q, k, v)
    # versions 1, 2 and 3 all load and give the same result
    results = []
    for version in (1, 2, 3):
        with open(run.path("q"), "wb") as f:
            f.write(npy_bytes(q, version))
        results.append(run.call(["--attention", "paper-cubic"])["out"])
    same = all(np.array_equal(results[0], r) for r in results[1:])
    print("%-28s %s" % ("versions 1, 2, 3 accepted", "ok" if same else "FAIL"))
    if not same:
        failures.append("versions")
    # what gcsim writes, numpy reads: shapes and dtype
    r = run.call(["--attention", "paper-cubic"])
    ok = r["out"].shape == (1, 20, 8) and r["S"].shape == (1, 20, 20) and \
        r["out"].dtype == np.float32
    print("%-28s %s" % ("outputs load in numpy", "ok" if ok else "FAIL"))
    if not ok:
        failures.append("outputs")

    expect_error(run, "wrong dtype (<f8)", npy_bytes(q.astype(np.float64)), ["dtype", "<f8"])
    expect_error(run, "big-endian", npy_bytes(q.astype(">f4")), ["dtype", ">f4"])
    expect_error(run, "Fortran order", npy_bytes(q, fortran=True), ["Fortran"])
    expect_error(run, "truncated data", npy_bytes(q)[:-10], ["truncated"])
    expect_error(run, "trailing bytes", npy_bytes(q) + b"\0" * 8, ["bytes"])
    expect_error(run, "truncated header", npy_bytes(q)[:40], ["truncated"])
    expect_error(run, "bad magic", b"\x93NUMPX" + npy_bytes(q)[6:], ["magic"])
    expect_error(run, "malformed header", npy_bytes(q, header="{'descr': '<f4', 'fortran_"
                                                      "order': False, 'shape': (1, 20 8), }"),
                 ["malformed"])
    expect_error(run, "header without descr", npy_bytes(q, header="{'shape': (1, 20, 8)}"),
                 ["descr"])
    expect_error(run, "unknown version", npy_bytes(q, version=7), ["version"])
    with open(run.path("q"), "wb") as f:
        f.write(npy_bytes(q))
    expect_error(run, "k shape != q shape", npy_bytes(k[:, :10]), ["shape", "(1,10,8)"],
                 target="k")
    expect_error(run, "2-d input", npy_bytes(k[0]), ["shape"], target="k")
    if failures:
        sys.exit("FAILED: %s" % failures)


if __name__ == "__main__":
    main()
