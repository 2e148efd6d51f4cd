"""A bad CSV given to `gcsim import` gives one line on stderr naming the file and the line (a
duplicate row, a non-number, a wrong header, a wrong number of fields) or the missing grid
point (a gap), a non-zero exit, and leaves an existing output file byte for byte as it was,
with no temporary file behind. Likewise for a bad leakage CSV."""
import os
import sys
import tempfile

import synthetic_curves as sc

failures = []
GOOD = b"previous curves.h5 content\n"


def expect(d, name, args, words):
    out = os.path.join(d, "out.h5")
    with open(out, "wb") as f:
        f.write(GOOD)
    r = sc.gcsim("import", *args, "--out", out)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    left = [n for n in os.listdir(d) if ".tmp-" in n]
    ok = (r.returncode == 1 and len(lines) == 1 and all(w in lines[0] for w in words)
          and open(out, "rb").read() == GOOD and not left)
    print("%-22s rc=%d  %s  %s" % (name, r.returncode, lines[0] if lines else "(no message)",
                                   "ok" if ok else "FAIL"))
    if not ok:
        failures.append(name)


def variant(d, name, text):
    path = os.path.join(d, name + ".csv")
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    d = tempfile.mkdtemp(prefix="gcsim_import_bad_")
    good = os.path.join(d, "good.csv")
    sc.write_iv_csv(good, n_v=6, vins=(0.45, 0.9))
    lines = open(good).read().splitlines()          # header + 12 rows
    body = lines[1:]

    dup = variant(d, "dup", "\n".join(lines + [body[3]]) + "\n")
    expect(d, "duplicate row", ["--read-iv", dup], [dup + ":14:", "duplicate of line 5"])
    gap = variant(d, "gap", "\n".join(lines[:6] + lines[7:]) + "\n")
    expect(d, "gap in the grid", ["--read-iv", gap], [gap + ":", "gap", "no row for"])
    bad = list(lines)
    bad[9] = "0.5,abc,1e-6"
    nan = variant(d, "nan", "\n".join(bad) + "\n")
    expect(d, "non-number", ["--read-iv", nan], [nan + ":10:", "'abc' is not a number"])
    hdr = variant(d, "hdr", "\n".join(["vstore,vin,current"] + body) + "\n")
    expect(d, "wrong header", ["--read-iv", hdr], [hdr + ":1:", "header"])
    bad = list(lines)
    bad[4] = "0.5,0.9"
    few = variant(d, "few", "\n".join(bad) + "\n")
    expect(d, "two fields", ["--read-iv", few], [few + ":5:", "expected 3 fields"])
    empty = variant(d, "empty", "")
    expect(d, "empty file", ["--read-iv", empty], [empty, "empty"])
    expect(d, "missing file", ["--read-iv", os.path.join(d, "nope.csv")], ["nope.csv"])

    leak = variant(d, "leak", "v0_V,time_s,vstore_V\n0.9,0,0.9\n0.9,1e-3,0.7\n0.9,1e-3,0.6\n")
    expect(d, "leak duplicate", ["--read-iv", good, "--leak", leak], [leak + ":4:", "duplicate"])
    leak = variant(d, "leak2", "v0_V,time_s,vstore_V\n0.9,0,0.9\n0.9,1e-3,0.7\n0,0,0\n")
    expect(d, "leak gap", ["--read-iv", good, "--leak", leak], [leak + ":", "gap"])

    # and the good file does import
    out = os.path.join(d, "ok.h5")
    r = sc.gcsim("import", "--read-iv", good, "--out", out)
    ok = r.returncode == 0 and os.path.getsize(out) > 0
    print("%-22s %s" % ("good file imports", "ok" if ok else "FAIL " + r.stderr))
    if not ok:
        failures.append("good")
    return 1 if failures else 0


if __name__ == "__main__":
    rc = main()
    print("FAILED: " + ", ".join(failures) if failures else "all passed")
    sys.exit(rc)
