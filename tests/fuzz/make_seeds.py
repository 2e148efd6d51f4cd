#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/NAME/): small valid files
of each format, so the fuzzer starts from inputs that get past the first checks. The files
are committed; run this again (from the source root) only to change them:

    python3 tests/fuzz/make_seeds.py [--gcsim build/harness/gcsim]

The HDF5 seeds are written by gcsim itself (`gcsim import`, `gcsim fit`) and by the test
suite's synthetic generators (tests/synthetic_*.py, h5py); everything else is made here.
Files that stand for several files (a model folder, BPE files, two CSV tables) are joined
with a line "--8<--" (fuzz_util.h)."""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
SEP = b"\n--8<--\n"


def put(name, fname, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


# ------------------------------------------------------------------------------------------
# npy

def npy_seeds():
    import io
    arrays = {
        "f4-2x3-v1": (np.arange(6, dtype="<f4").reshape(2, 3), (1, 0)),
        "f8-5-v2": (np.linspace(-1, 1, 5).astype("<f8"), (2, 0)),
        "u4-scalar-v1": (np.array(7, dtype="<u4"), (1, 0)),
        "u1-1x1x4-v3": (np.arange(4, dtype="|u1").reshape(1, 1, 4), (3, 0)),
        "f4-empty-v1": (np.zeros((0, 3), dtype="<f4"), (1, 0)),
    }
    for name, (a, version) in arrays.items():
        b = io.BytesIO()
        np.lib.format.write_array(b, a, version=version)
        put("npy", name + ".npy", b.getvalue())


# ------------------------------------------------------------------------------------------
# GPT-2 checkpoints: a model of L=1, NH=1, C=4, maxT=8, V=10

L, NH, C, T, V = 1, 1, 4, 8, 10


def llmc_seeds():
    Vp = 16
    rng = np.random.default_rng(1)
    sizes = [Vp * C, T * C, L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C,
             L * C, L * C, L * 4 * C * C, L * 4 * C, L * C * 4 * C, L * C, C, C]
    header = np.zeros(256, dtype="<i4")
    header[:8] = [20240326, 3, T, V, L, NH, C, Vp]
    params = (rng.standard_normal(sum(sizes)) * 0.1).astype("<f4")
    put("llmc", "tiny-L1-C4.bin", header.tobytes() + params.tobytes())


def st_tensors(prefix="", hw=False):
    rng = np.random.default_rng(2)

    def r(*shape):
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    t = {"wte.weight": r(V, C), "wpe.weight": r(T, C)}
    for l in range(L):
        h = f"h.{l}."
        t.update({h + "ln_1.weight": r(C) + 1, h + "ln_1.bias": r(C),
                  h + "attn.c_attn.weight": r(C, 3 * C), h + "attn.c_attn.bias": r(3 * C),
                  h + "attn.c_proj.weight": r(C, C), h + "attn.c_proj.bias": r(C),
                  h + "ln_2.weight": r(C) + 1, h + "ln_2.bias": r(C),
                  h + "mlp.c_fc.weight": r(C, 4 * C), h + "mlp.c_fc.bias": r(4 * C),
                  h + "mlp.c_proj.weight": r(4 * C, C), h + "mlp.c_proj.bias": r(C)})
        if hw:
            for s in "qkvo":
                t[h + f"attn.hw.{s}_scale"] = np.ones(NH, np.float32)
                t[h + f"attn.hw.{s}_bias"] = np.full(NH, 0.45, np.float32)
            t[h + "attn.hw.target_mean"] = r(4, NH)
            t[h + "attn.hw.target_std"] = np.abs(r(4, NH))
    t.update({"ln_f.weight": r(C) + 1, "ln_f.bias": r(C)})
    return {prefix + k: v for k, v in t.items()}


def safetensors(tensors, dtype="F32"):
    header, blobs, at = {"__metadata__": {"format": "pt"}}, [], 0
    for name, a in tensors.items():
        if dtype == "F16":
            b = a.astype("<f2").tobytes()
        elif dtype == "BF16":
            b = (a.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            b = a.astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def safetensors_seeds():
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_layer": L,
           "n_head": NH, "n_embd": C, "n_positions": T, "n_ctx": T, "vocab_size": V,
           "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}
    described = dict(cfg, activation_function="gelu",
                     gcsim={"tokenizer": "bytes", "attention": "softmax", "window": 4})
    seeds = {
        "f32-plain": (cfg, st_tensors(), "F32"),
        "f16-prefixed-hw": (cfg, st_tensors("transformer.", hw=True), "F16"),
        "bf16-described": (described, st_tensors(hw=True), "BF16"),
    }
    for name, (c, t, dtype) in seeds.items():
        put("safetensors", name,
            json.dumps(c, indent=1).encode() + SEP + safetensors(t, dtype))


# ------------------------------------------------------------------------------------------
# tokenizers

def bytes_to_unicode():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tokenizer_seeds():
    texts = {
        "ascii": "Hello, world! It's a test: 123 + 4.5 = 127.5\n",
        "contractions": "I'm sure you'll see they've done it; she'd say it's theirs. DON'T",
        "whitespace": "a  b   c\t\td\n\n\ne \n \n  f    \n\n   ",
        "unicode": "Café naïve Zürich 日本語 한국어 ٣٤٥ ²³ «quotes» “curly”",
        "emoji": "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷 ✨",
        "spaces": "x\u0085\u00a0\u1680\u2000\u2028\u3000y <|endoftext|> z",
    }
    for name, s in texts.items():
        put("tokenizer", name + ".txt", s.encode("utf-8"))
    put("tokenizer", "invalid.bin", b"valid \xff\xfe \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80")


def bpe_seeds():
    m = bytes_to_unicode()
    tokens = [m[b] for b in range(256)]

    def tok(s):
        return "".join(m[b] for b in s.encode("utf-8"))

    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"),
              ("o", "n"), ("Ġ", "w"), ("Ġw", "or"), ("o", "r"), ("l", "d"), ("Ġwor", "ld")]
    merges = [(tok(" ") if a == "Ġ" else a, b) for a, b in merges]
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    for a, b in merges:
        for x in (a, b):
            if x not in tokens:
                tokens.append(x)
    enc = {t: i for i, t in enumerate(tokens)}
    encoder = json.dumps(enc, ensure_ascii=False).encode("utf-8")
    vocab = ("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)).encode("utf-8")
    put("bpe_files", "small", encoder + SEP + vocab)
    put("bpe_files", "bytes-only", json.dumps({t: i for i, t in enumerate(tokens[:256])},
                                              ensure_ascii=False).encode("utf-8") + SEP)


# ------------------------------------------------------------------------------------------
# technology files and sweep plans (the shipped ones are seeds too: tests/fuzz/meson.build)

def tech_seeds():
    params = ("vdd 0.9 V; temp 27 degC; c_store 8f F; v_in 0.9 V; t_max 15n s; v_wwl_on 1.2 V; "
              "v_wwl_off -0.3 V; t_write 20n s; t_edge 50p s; c_bl 20f F; c_int 100f F; "
              "a_ol 1meg 1; r_out 100 ohm; i_ramp 1u A; i_ramp_out 1u A; v_cmp 0.45 V; "
              "v_hys 10m V; r_dly 10k ohm; c_dly 1f F; r_latch 10k ohm; c_latch 1f F; "
              "i_gate0 1e-15 A; v_gate 0.1 V; w_mir 1u m; w_mirp 2u m; l_mir 100n m; "
              "w_sw 200n m; w_swp 400n m; l_sw 45n m")
    lines = ["# minimal technology", "name mini", "model_card ../models/si40lp.lib",
             "cell cell_n.sub", "device write_n nsvt", "device read_n nlvt"]
    lines += ["param " + p.strip() + " description" for p in params.split(";")]
    put("tech", "minimal.tech", ("\n".join(lines) + "\n").encode())


def plan_seeds():
    put("sweep_plan", "partial.plan", b"read_nv 8   # few\nleak_tau_mult 2.5\n\n# done\n")
    put("sweep_plan", "empty.plan", b"")


# ------------------------------------------------------------------------------------------
# CSV import and the HDF5 files

def csv_tables(n_v=6, vins=(0.45, 0.9), n_v0=3, n_t=4):
    from synthetic_curves import g_ua
    iv = ["vstore_V,vin_V,current_A"]
    for v in np.linspace(0, 0.9, n_v):
        for vin in vins:
            iv.append("%.6g,%.6g,%.6g" % (v, vin, g_ua(v - 0.45) * 1e-6 * (vin - 0.45) / 0.45))
    leak = ["v0_V,time_s,vstore_V"]
    for v0 in np.linspace(0.1, 0.9, n_v0):
        for t in np.linspace(0, 4e-3, n_t):
            leak.append("%.6g,%.6g,%.6g" % (v0, t, 0.45 + (v0 - 0.45) * np.exp(-t / 5e-3)))
    return "\n".join(iv).encode() + b"\n", "\n".join(leak).encode() + b"\n"


def csv_seeds():
    iv, leak = csv_tables()
    put("csv_import", "read-iv", iv)
    put("csv_import", "read-iv-and-leak", iv + SEP + leak)


def run(*args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{r.stderr}")


def h5_seeds(gcsim):
    from synthetic_cell import write_cell
    from synthetic_curves import write_curves
    with tempfile.TemporaryDirectory() as d:
        iv, leak = csv_tables()
        for name, data in (("iv.csv", iv), ("leak.csv", leak)):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        j = lambda n: os.path.join(d, n)  # noqa: E731
        run(gcsim, "import", "--read-iv", j("iv.csv"), "--levels", "4", "--out", j("imp.h5"))
        run(gcsim, "import", "--read-iv", j("iv.csv"), "--leak", j("leak.csv"), "--levels", "4",
            "--t-write", "20e-9", "--out", j("imp-leak.h5"))
        write_curves(j("full.h5"), n_v=8, n_v0=3, n_t=6)
        run(gcsim, "fit", "--curves", j("imp.h5"), "--out", j("cell-imp.h5"))
        run(gcsim, "fit", "--curves", j("full.h5"), "--out", j("cell-full.h5"))
        write_cell(j("cell-synthetic.h5"))
        for src, harness, dst in (("imp.h5", "curves_h5", "import.h5"),
                                  ("imp-leak.h5", "curves_h5", "import-leak.h5"),
                                  ("full.h5", "curves_h5", "synthetic-full.h5"),
                                  ("cell-imp.h5", "cell_h5", "fit-from-import.h5"),
                                  ("cell-full.h5", "cell_h5", "fit-from-full.h5"),
                                  ("cell-synthetic.h5", "cell_h5", "synthetic.h5")):
            with open(j(src), "rb") as f:
                put(harness, dst, f.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcsim", default=os.path.join(ROOT, "build", "harness", "gcsim"))
    a = ap.parse_args()
    npy_seeds()
    llmc_seeds()
    safetensors_seeds()
    tokenizer_seeds()
    bpe_seeds()
    tech_seeds()
    plan_seeds()
    csv_seeds()
    h5_seeds(a.gcsim)


if __name__ == "__main__":
    main()
