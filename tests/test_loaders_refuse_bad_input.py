"""One rule at every loader boundary: every number read from a file or the command line is
finite and in its physical range, and every input is a file gcsim can read to its end. Each
bad input below gets one line naming the file (or option), the field and the problem, an exit
status in 1..127, no sanitizer report, and no output written.

Cases (issue 20): endless streams and folders as inputs (/dev/zero, a FIFO, a directory);
.npy shapes whose size overflows, NaN/Inf in q, k, v, a truncated version-3 header, data that
disagrees with the shape; --decay-lambda inf; checkpoints with a weight of 3e38 (safetensors
and llm.c), a negative layer_norm_epsilon, config fields of the wrong type, duplicate JSON
keys, text after the JSON, overlapping data_offsets; cell.h5 with v_eq_V = NaN, a reversed
read/charge table, all-zero integer tables; curves.h5 without or with a wrong format_version;
import --t-max inf and --vdd below the largest stored voltage; a folder or NaN in a sweep
plan; --set values outside the ranges the .tech file declares (and a .tech default outside its
own range); an empty vocab.bpe; NaN in curves given to plot; raw bytes from a file quoted in a
message (which stays one line of UTF-8). The shipped .tech files declare a range for every
parameter.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import h5py
import numpy as np

import synthetic_cell
import synthetic_curves
import test_gpt2_ref as ref
from gcsim_test import GCSIM, ROOT

failures = []


def gcsim(*args):
    try:
        return subprocess.run([GCSIM, *map(str, args)], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", "TIMEOUT (still reading?)")


def refused(name, p, needles, outputs=()):
    err = p.stderr.strip()
    lines = err.splitlines()
    ok = (1 <= p.returncode <= 127 and len(lines) == 1 and "Sanitizer" not in err
          and "runtime error" not in err and all(n in lines[0] for n in needles))
    made = [o for o in outputs if os.path.exists(o)]
    print("%-36s rc=%d %s%s" % (name, p.returncode, lines[0][:150] if lines else "(nothing)",
                                "" if ok and not made else "  FAIL"))
    if not ok:
        print("   expected one line with %s\n%s" % (needles, err[-2000:]))
        failures.append(name)
    if made:
        failures.append("%s wrote %s" % (name, made))


def npy_blob(shape, data, version=1, descr="<f4"):
    h = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)).encode()
    pre = 10 if version == 1 else 12
    h += b" " * ((64 - (pre + len(h) + 1) % 64) % 64) + b"\n"
    n = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + n + h + data


def edit_h5(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def replace(f, name, data):
    del f[name]
    f[name] = data


def streams(d, j):
    os.mkfifo(j("fifo"))
    att = ["attention", "--k", j("k.npy"), "--v", j("v.npy"), "--out", j("o1"), "--attention",
           "softmax"]
    refused("attention --q /dev/zero", gcsim(*att, "--q", "/dev/zero"),
            ["/dev/zero", "not a regular file"], [j("o1")])
    refused("attention --q FIFO", gcsim(*att, "--q", j("fifo")), ["fifo", "pipe"], [j("o1")])
    refused("attention --q DIR", gcsim(*att, "--q", d), [d, "is a folder"], [j("o1")])
    refused("tokenize /dev/zero", gcsim("tokenize", "/dev/zero", "--tokenizer", "bytes"),
            ["/dev/zero", "not a regular file"])
    refused("tokenize DIR", gcsim("tokenize", d, "--tokenizer", "bytes"), [d, "is a folder"])
    model = os.path.join(ROOT, "data", "models", "bytes-5x256-softmax")
    refused("ppl --text FIFO", gcsim("ppl", "--model", model, "--text", j("fifo")),
            ["fifo", "pipe"])
    refused("attention --cell /dev/zero",
            gcsim(*att[:-2], "--q", j("q.npy"), "--cell", "/dev/zero"),
            ["/dev/zero", "not a regular file"], [j("o1")])
    refused("fit --curves /dev/zero", gcsim("fit", "--curves", "/dev/zero", "--out", j("c.h5")),
            ["/dev/zero", "not a regular file"], [j("c.h5")])
    refused("import --read-iv /dev/zero",
            gcsim("import", "--read-iv", "/dev/zero", "--out", j("c.h5")),
            ["/dev/zero", "not a regular file"], [j("c.h5")])
    refused("characterize --plan /dev/zero",
            gcsim("characterize", "--plan", "/dev/zero", "--out", j("c.h5")),
            ["/dev/zero", "sweep plan"], [j("c.h5")])
    refused("characterize --plan DIR", gcsim("characterize", "--plan", d, "--out", j("c.h5")),
            [d, "is a folder"], [j("c.h5")])
    refused("characterize --tech /dev/zero",
            gcsim("characterize", "--tech", "/dev/zero", "--out", j("c.h5")),
            ["/dev/zero", "technology file"], [j("c.h5")])


def npy_cases(d, j):
    att = lambda q, k="k.npy": gcsim("attention", "--q", j(q), "--k", j(k), "--v", j("v.npy"),
                                     "--out", j("o2"), "--attention", "paper-cubic")
    with open(j("huge.npy"), "wb") as f:
        f.write(npy_blob("(4611686018427387906, 1, 64)", bytes(512)))
    refused(".npy shape overflows", att("huge.npy"), [j("huge.npy"), "too large"], [j("o2")])
    a = np.random.default_rng(0).uniform(0, 0.9, (1, 4, 4)).astype(np.float32)
    a[0, 1, 2] = np.nan
    np.save(j("nan.npy"), a)
    refused("NaN in q", att("nan.npy"), [j("nan.npy"), "element 6 is NaN"], [j("o2")])
    a[0, 1, 2] = np.inf
    np.save(j("inf.npy"), a)
    refused("Inf in k", att("q.npy", "inf.npy"), [j("inf.npy"), "+inf"], [j("o2")])
    with open(j("v3.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x03\x00" + struct.pack("<I", 1000) + b"{'descr'")
    refused(".npy v3 header truncated", att("v3.npy"),
            [j("v3.npy"), "format version 3", "declares 1000 bytes"], [j("o2")])
    with open(j("zero.npy"), "wb") as f:
        f.write(npy_blob("(0, 4)", bytes(64)))
    refused(".npy data vs shape (0,4)", att("zero.npy"),
            [j("zero.npy"), "shape (0,4)", "disagree"], [j("o2")])
    refused("--decay-lambda inf",
            gcsim("attention", "--q", j("q.npy"), "--k", j("k.npy"), "--v", j("v.npy"),
                  "--out", j("o2"), "--attention", "paper-cubic", "--decay-lambda", "inf"),
            ["--decay-lambda", "inf"], [j("o2")])


def checkpoint_cases(d, j):
    cfg, w = ref.random_model(5, 1, 2, 16, 256, 32)
    with open(j("text.txt"), "w") as f:
        f.write("hello analog world " * 10)

    def model(name, cfg_obj=None, cfg_text=None, weights=None, st_edit=None):
        p = j(name)
        ref.write_model_dir(p, cfg_obj or cfg, weights or w)
        if cfg_text is not None:
            with open(os.path.join(p, "config.json"), "w") as f:
                f.write(cfg_text)
        if st_edit:
            st = os.path.join(p, "model.safetensors")
            raw = open(st, "rb").read()
            with open(st, "wb") as f:
                f.write(st_edit(raw))
        return p

    ppl = lambda p: gcsim("ppl", "--model", p, "--text", j("text.txt"), "--tokenizer", "bytes")
    good = model("good")
    p = ppl(good)
    if p.returncode:
        sys.exit("the good tiny model does not run:\n" + p.stderr)
    big = dict(w)
    big["ln_f.bias"] = w["ln_f.bias"].copy()
    big["ln_f.bias"][0] = 3e38
    refused("safetensors weight 3e38", ppl(model("big", weights=big)),
            ["ln_f.bias", "3e+38", "outside the range"])
    ref.write_llmc(j("big.bin"), cfg, big, 256)
    refused("llm.c weight 3e38", ppl(j("big.bin")), ["big.bin", "lnfb", "3e+38"])
    refused("negative layer_norm_epsilon", ppl(model("eps", dict(cfg, layer_norm_epsilon=-1e-5))),
            ["config.json", "layer_norm_epsilon", "(0, 0.1]"])
    refused("n_layer of type string", ppl(model("typ", dict(cfg, n_layer="x"))),
            ["config.json", "n_layer", "is a string"])
    refused("activation_function: 5", ppl(model("act", dict(cfg, activation_function=5))),
            ["config.json", "activation_function", "must be a string"])
    text = json.dumps(cfg)
    refused("duplicate JSON key", ppl(model("dup", cfg_text=text[:-1] + ', "n_layer": 2}')),
            ["config.json", "\"n_layer\" appears twice"])
    refused("text after the config JSON", ppl(model("trail", cfg_text=text + " garbage")),
            ["config.json", "unexpected text after the JSON"])

    def overlap(raw):
        n = struct.unpack("<Q", raw[:8])[0]
        h = json.loads(raw[8:8 + n])
        b, e = h["ln_f.bias"]["data_offsets"]
        h["ln_f.weight"]["data_offsets"] = [b, e]  # two tensors on the same bytes
        hb = json.dumps(h).encode()
        hb += b" " * (-len(hb) % 8)
        return struct.pack("<Q", len(hb)) + hb + raw[8 + n:]
    refused("overlapping data_offsets", ppl(model("overlap", st_edit=overlap)),
            ["model.safetensors", "overlap"])


def cell_cases(d, j):
    good = j("cell.h5")
    synthetic_cell.write_cell(good)
    att = lambda c: gcsim("attention", "--q", j("q.npy"), "--k", j("k.npy"), "--v", j("v.npy"),
                          "--out", j("o3"), "--cell", c)

    def set_attr(obj, k, v):
        return lambda f: f[obj].attrs.__setitem__(k, v)
    p = edit_h5(good, j("veq.h5"), set_attr("leak", "v_eq_V", np.nan))
    refused("cell v_eq_V = NaN", att(p), [p, "/leak", "v_eq_V", "nan"], [j("o3")])
    p = edit_h5(good, j("rev.h5"), lambda f: replace(f, "read/charge",
                                                       f["read/charge"][()][:, ::-1]))
    refused("cell reversed read/charge", att(p), [p, "/read/charge", "falls with v_store"],
            [j("o3")])
    p = edit_h5(good, j("zeros.h5"), lambda f: replace(f, "read/charge", np.zeros(
        f["read/charge"].shape, np.int32)))
    refused("cell all-zero integer charge", att(p), [p, "/read/charge", "flat"], [j("o3")])
    p = edit_h5(good, j("zc2p.h5"), lambda f: replace(f, "c2p/pulse", np.zeros(
        f["c2p/pulse"].shape, np.int64)))
    refused("cell all-zero integer c2p pulse", att(p), [p, "c2p/pulse", "does not rise"],
            [j("o3")])
    p = edit_h5(good, j("volt.h5"), set_attr("params", "vdd_V", 1e6))
    refused("cell vdd_V = 1e6", att(p), [p, "vdd_V", "(0, 10]"], [j("o3")])


def curves_cases(d, j):
    curves = j("curves.h5")
    synthetic_curves.write_curves(curves)
    fit = lambda c: gcsim("fit", "--curves", c, "--out", j("fitted.h5"))
    p = edit_h5(curves, j("v2.h5"), lambda f: f.attrs.__setitem__("format_version", 2.0))
    refused("fit: format_version 2", fit(p), [p, "format_version 2", "not supported"],
            [j("fitted.h5")])
    p = edit_h5(curves, j("nov.h5"), lambda f: f.attrs.__delitem__("format_version"))
    refused("fit: no format_version", fit(p),
            [p, "the root has no attribute format_version"], [j("fitted.h5")])
    p = edit_h5(curves, j("nan.h5"), lambda f: f["leak/v_store"].__setitem__((0, 3), np.nan))
    refused("plot: NaN in leak/v_store", gcsim("plot", p, "--out", j("plots")),
            [p, "/leak/v_store", "non-finite"], [j("plots", "leak.png")])
    p = edit_h5(curves, j("amps.h5"), lambda f: f["read/dc_current"].__setitem__((0, 0), 5.0))
    refused("fit: a 5 A cell current", fit(p), [p, "/read/dc_current", "outside"],
            [j("fitted.h5")])
    synthetic_curves.write_iv_csv(j("iv.csv"))
    with open(j("bytes.csv"), "wb") as f:  # quoted in the message: must stay one UTF-8 line
        f.write(b"vstore_V\xff\xfe,vin_V\x1b[31m\r,current_A\n0,0,0\n")
    p = subprocess.run([GCSIM, "import", "--read-iv", j("bytes.csv"), "--out", j("i.h5")],
                       capture_output=True, timeout=60)
    try:
        text = p.stderr.decode("utf-8")
    except UnicodeDecodeError:
        text = "NOT UTF-8: %r" % p.stderr
    refused("CSV header with raw bytes", subprocess.CompletedProcess(p.args, p.returncode, "",
                                                                     text),
            [j("bytes.csv"), "header must be", "vstore_V??"], [j("i.h5")])
    refused("import --t-max inf",
            gcsim("import", "--read-iv", j("iv.csv"), "--t-max", "inf", "--out", j("i.h5")),
            ["--t-max", "inf"], [j("i.h5")])
    refused("import --vdd below vstore",
            gcsim("import", "--read-iv", j("iv.csv"), "--vdd", "0.5", "--out", j("i.h5")),
            ["--vdd 0.5 V", "iv.csv", "0.9 V"], [j("i.h5")])


def spice_cases(d, j):
    with open(j("nan.plan"), "w") as f:
        f.write("leak_tau_mult nan\n")
    refused("plan leak_tau_mult nan",
            gcsim("characterize", "--plan", j("nan.plan"), "--out", j("s.h5")),
            [j("nan.plan"), "leak_tau_mult", "[1, 100]"], [j("s.h5")])
    si = os.path.join(ROOT, "spice", "tech", "si.tech")
    for s, range_text in (("c_store=-1f", "[1e-16, 1e-12] F"), ("vdd=0", "[0.3, 5] V"),
                          ("temp=-300", "[-55, 150] degC"), ("t_write=0", "[1e-11, 1e-05] s"),
                          ("v_in=0", "[0.1, 5] V")):
        refused("--set " + s, gcsim("characterize", "--set", s, "--out", j("s.h5")),
                ["--set " + s, range_text, si], [j("s.h5")])
    refused("--set v_in=0.3 (below vdd/2)",
            gcsim("characterize", "--set", "v_in=0.3", "--out", j("s.h5")),
            [si, "v_in = 0.3 V", "(vdd/2, vdd]"], [j("s.h5")])
    tech = j("bad.tech")
    with open(si) as f, open(tech, "w") as g:
        for line in f:
            line = line.replace("../models/", os.path.join(ROOT, "spice", "models") + "/")
            g.write(line.replace("param vdd        0.9 ", "param vdd        9.0 "))
    refused(".tech default outside its range",
            gcsim("characterize", "--tech", tech, "--out", j("s.h5")),
            [tech, "vdd = 9 V", "[0.3, 5] V"], [j("s.h5")])
    for t in ("si", "igzo"):
        p = gcsim("characterize", "--list-params", "--tech", t)
        rows = [l for l in p.stdout.splitlines() if l and not l.startswith("#")]
        missing = [l.split()[0] for l in rows if " any " in l]
        print("%-36s %d parameters, %s" % (t + ".tech ranges", len(rows),
                                            "all with a range" if not missing else missing))
        if p.returncode or not rows or missing:
            failures.append(t + ".tech parameters without a range: %s" % missing)


def tokenizer_cases(d, j):
    bpe = os.path.join(os.environ.get("GCSIM_DATA", os.path.join(ROOT, "..", "shared", "data")),
                       "gpt2-bpe")
    if not os.path.exists(os.path.join(bpe, "encoder.json")):
        print("no GPT-2 BPE files in %s: empty vocab.bpe case skipped" % bpe)
        return
    os.mkdir(j("bpe"))
    shutil.copy(os.path.join(bpe, "encoder.json"), j("bpe", "encoder.json"))
    open(j("bpe", "vocab.bpe"), "w").close()
    with open(j("t.txt"), "w") as f:
        f.write("hello world\n")
    refused("empty vocab.bpe", gcsim("tokenize", j("t.txt"), "--bpe-dir", j("bpe")),
            [j("bpe", "vocab.bpe"), "no merges"])


def main():
    d = tempfile.mkdtemp(prefix="gcsim_loaders_")
    j = lambda *p: os.path.join(d, *p)
    try:
        rng = np.random.default_rng(1)
        for n in ("q", "k", "v"):
            np.save(j(n + ".npy"), rng.uniform(0, 0.9, (1, 4, 4)).astype(np.float32))
        for case in (streams, npy_cases, checkpoint_cases, cell_cases, curves_cases,
                     spice_cases, tokenizer_cases):
            case(d, j)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("FAILED:", failures)
        sys.exit(1)


if __name__ == "__main__":
    main()
