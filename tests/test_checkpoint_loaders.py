"""Checkpoint loading: llm.c's gpt2_*.bin (version 3, padded vocabulary) gives the reference
logits, and every malformed checkpoint is refused with one line naming the file and the tensor
(or header field) at fault, never a crash.

usage: test_checkpoint_loaders.py TOOL   (TOOL: the test_gpt2_logits executable)
"""
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_gpt2_ref as ref  # noqa: E402

TOOL = sys.argv[1]
TOL = 1e-4
failures = 0


def expect(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


cfg, w = ref.random_model(11, 2, 2, 128, 300, 64)
tokens = np.random.default_rng(1).integers(0, 300, 40).astype(np.uint32)
want = ref.forward(cfg, ref.stored_values(w, "F32"), tokens).numpy()

with tempfile.TemporaryDirectory() as d:
    tok = os.path.join(d, "tok.npy")
    np.save(tok, tokens)
    out = os.path.join(d, "out.npy")

    # llm.c: wte padded to 384 rows; the padding must not leak into the logits
    binp = os.path.join(d, "gpt2_tiny.bin")
    ref.write_llmc(binp, cfg, w, 384)
    with open(binp, "r+b") as f:  # fill the padding rows with garbage
        f.seek(1024 + 300 * 128 * 4)
        f.write(np.full(84 * 128, 7.0, np.float32).tobytes())
    r = ref.run([TOOL, binp, tok, "softmax", out], expect_ok=False)
    got = np.load(out)[0] if r.returncode == 0 else None
    e = ref.rel_err(got, want) if got is not None else float("inf")
    expect(got is not None and got.shape == want.shape and e <= TOL,
           f"llm.c v3 with padded vocabulary: logits max rel err {e:.3g} (tol {TOL})")

    def refused(path, needle, what):
        r = ref.run([TOOL, path, tok, "softmax", out], expect_ok=False)
        lines = r.stderr.strip().splitlines()
        ok = r.returncode == 1 and len(lines) == 1 and needle in r.stderr
        expect(ok, f"{what}: {r.stderr.strip() or r.returncode}")

    blob = open(binp, "rb").read()
    bad = os.path.join(d, "bad.bin")
    open(bad, "wb").write(blob[:len(blob) - 200])
    refused(bad, "'lnfb'", "llm.c truncated in the last tensor")
    open(bad, "wb").write(blob[:1024 + 300 * 128 * 4 + 100])
    refused(bad, "'wte'", "llm.c truncated in wte")
    open(bad, "wb").write(blob[:4] + struct.pack("<i", 5) + blob[8:])
    refused(bad, "version 5", "llm.c version 5")
    open(bad, "wb").write(blob[:600])
    refused(bad, "header", "llm.c truncated header")
    open(bad, "wb").write(blob + b"\0\0\0\0")
    refused(bad, "trailing", "llm.c trailing bytes")

    # safetensors: a good one, then one defect at a time
    good = os.path.join(d, "good")
    ref.write_model_dir(good, cfg, w)
    r = ref.run([TOOL, good, tok, "softmax", out], expect_ok=False)
    expect(r.returncode == 0, "well-formed safetensors loads")
    st = os.path.join(good, "model.safetensors")
    raw = open(st, "rb").read()
    hlen = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + hlen])

    def variant(name, data=None, cfg_text=None):
        p = os.path.join(d, name)
        shutil.rmtree(p, ignore_errors=True)
        os.makedirs(p)
        open(os.path.join(p, "model.safetensors"), "wb").write(raw if data is None else data)
        open(os.path.join(p, "config.json"), "w").write(cfg_text or json.dumps(cfg))
        return p

    def with_header(h):
        hb = json.dumps(h).encode()
        hb += b" " * (-len(hb) % 8)
        return struct.pack("<Q", len(hb)) + hb + raw[8 + hlen:]

    refused(variant("trunc", raw[:len(raw) - 512]), "'ln_f.bias'", "truncated data")
    refused(variant("short", raw[:5]), "truncated", "file shorter than the length field")
    refused(variant("hlen", struct.pack("<Q", 1 << 40) + raw[8:]), "header length",
            "header length past the end")
    refused(variant("json", raw[:8] + b"{" * hlen + raw[8 + hlen:]), "not valid JSON",
            "malformed JSON header")
    h = dict(header)
    del h["h.1.mlp.c_fc.bias"]
    refused(variant("missing", with_header(h)), "missing tensor 'h.1.mlp.c_fc.bias'",
            "missing tensor")
    h = json.loads(json.dumps(header))
    h["h.0.attn.c_attn.weight"]["shape"] = [384, 128]
    refused(variant("shape", with_header(h)), "'h.0.attn.c_attn.weight'", "wrong shape")
    h = json.loads(json.dumps(header))
    h["wpe.weight"]["dtype"] = "I32"
    refused(variant("dtype", with_header(h)), "'wpe.weight' has dtype I32", "wrong dtype")
    h = json.loads(json.dumps(header))
    h["ln_f.weight"]["dtype"] = "Q7"
    refused(variant("dtype2", with_header(h)), "'ln_f.weight': unknown dtype", "unknown dtype")
    h = json.loads(json.dumps(header))
    h["wte.weight"]["data_offsets"][1] += 4
    refused(variant("offs", with_header(h)), "'wte.weight'", "offsets disagree with the shape")
    # a hardware group is all or nothing
    tw = dict(w)
    tw["h.0.attn.hw.q_scale"] = np.ones(2)
    p = os.path.join(d, "hw")
    ref.write_model_dir(p, cfg, tw)
    refused(p, "missing tensor 'h.0.attn.hw.q_bias'", "incomplete hardware scalers")
    tw = dict(w)
    tw["ln_f.bias"] = w["ln_f.bias"].copy()
    tw["ln_f.bias"][3] = np.nan
    ref.write_model_dir(p, cfg, tw)
    refused(p, "'ln_f.bias' holds a non-finite", "NaN in a tensor")
    refused(variant("cfg", cfg_text='{"n_layer": 2, "n_head": 2}'), "n_embd",
            "config.json without n_embd")
    refused(variant("cfg2", cfg_text="not json"), "config.json: not valid JSON",
            "config.json malformed")
    c2 = dict(cfg, n_head=3)
    refused(variant("cfg3", cfg_text=json.dumps(c2)), "not a multiple", "n_embd % n_head != 0")
    c2 = dict(cfg, activation_function="relu")
    refused(variant("cfg4", cfg_text=json.dumps(c2)), "relu", "unsupported activation")
    os.remove(os.path.join(variant("nocfg"), "config.json"))
    refused(os.path.join(d, "nocfg"), "config.json", "missing config.json")
    refused(os.path.join(d, "nothing"), "nothing", "missing model")
sys.exit(1 if failures else 0)
