"""A model folder says how it runs (config.json's "gcsim" block) and every language-model
command reads it; options override it; the JSON records the whole configuration used.
- The shipped paper-cubic model runs with no flag: bytes tokenizer, paper-cubic, and the same
  bits per byte as with every setting given explicitly.
- `gcsim adapt --cell X` writes a model whose block names the tokenizer, the variant and the
  cell (relative to the model folder): `gcsim ppl` on it needs no flag and equals the explicit
  run, also after the folder and the cell moved together.
- The token period is an input: on the calibrated path it changes bits per byte, and one that
  ages the keys of the window through many retention times (paper-cubic cell, tau = 5 ms)
  makes them much worse; a cell's default, layers x (t_write + 3 T_max), is what the JSON
  records.
- A bad block is refused naming config.json and the key.

usage: test_model_describes_itself.py   (GCSIM, GCSIM_ROOT, GCSIM_DATA from the environment)"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_cell  # noqa: E402
from test_gpt2_ref import env, run  # noqa: E402

GCSIM, ROOT = env("GCSIM"), env("GCSIM_ROOT")
TEXT = os.path.join(env("GCSIM_DATA"), "text", "wikitext2_wiki.test.raw")
MODELS = os.path.join(ROOT, "data", "models")
failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def ppl(d, model, *extra, tokens=2048):
    js = os.path.join(d, "ppl.json")
    r = run([GCSIM, "ppl", "--model", model, "--text", TEXT, "--max-tokens", str(tokens),
             "--ctx", "512", "--json", js] + list(extra))
    with open(js) as f:
        return json.load(f), r.stdout


def shipped(d):
    m = os.path.join(MODELS, "bytes-5x256-paper-cubic")
    got, out = ppl(d, m)
    c = got["attention_config"]
    expect(got["tokenizer"] == "bytes" and got["attention"] == "paper-cubic" and
           c["window"] == 1024 and c["tile"] == 64 and c["lambda_per_token"] == 1.6e-4 and
           "(from the model)" in out,
           "shipped paper-cubic runs with no flag: %s, %s, window %d, tile %d"
           % (got["tokenizer"], got["attention"], c["window"], c["tile"]))
    want, _ = ppl(d, m, "--tokenizer", "bytes", "--attention", "paper-cubic", "--window", "1024",
                  "--tile", "64", "--decay-lambda", "1.6e-4")
    expect(got["bits_per_byte"] == want["bits_per_byte"],
           "the same as every setting given: %.6f = %.6f" % (got["bits_per_byte"],
                                                             want["bits_per_byte"]))


def adapted(d):
    cells = os.path.join(d, "cells")
    os.makedirs(cells)
    cell = os.path.join(cells, "cell.h5")
    synthetic_cell.write_cell(cell)
    calib = os.path.join(d, "calib.txt")
    with open(TEXT, "rb") as f, open(calib, "wb") as g:
        g.write(f.read(4096))
    out = os.path.join(d, "adapted")
    run([GCSIM, "adapt", "--model", os.path.join(MODELS, "bytes-5x256-paper-linear"), "--text",
         calib, "--ctx", "512", "--batch", "2", "--max-iter", "3", "--cell", cell, "--out", out])
    with open(os.path.join(out, "config.json")) as f:
        block = json.load(f)["gcsim"]
    expect(block.get("tokenizer") == "bytes" and block.get("attention") == "calibrated" and
           block.get("cell_file") == "../cells/cell.h5",
           "adapt records tokenizer, variant and the cell beside the model: %s"
           % {k: block.get(k) for k in ("tokenizer", "attention", "cell_file")})
    got, _ = ppl(d, out)
    want, _ = ppl(d, out, "--tokenizer", "bytes", "--attention", "calibrated", "--cell", cell)
    expect(got["attention"] == "calibrated" and got["bits_per_byte"] == want["bits_per_byte"],
           "ppl on the adapted model needs no flag: %.6f = %.6f" % (got["bits_per_byte"],
                                                                   want["bits_per_byte"]))
    moved = os.path.join(d, "moved")
    os.makedirs(moved)
    shutil.move(out, os.path.join(moved, "adapted"))
    shutil.move(cells, os.path.join(moved, "cells"))
    again, _ = ppl(d, os.path.join(moved, "adapted"))
    expect(again["bits_per_byte"] == got["bits_per_byte"],
           "moved with its cell, the same: %.6f" % again["bits_per_byte"])
    latency = 5 * (synthetic_cell.T_WRITE + 3 * synthetic_cell.T_MAX)
    period = again["attention_config"]["token_period_s"]
    expect(abs(period - latency) <= 1e-12 * latency,
           "a cell's default token period is 5 layers x (t_write + 3 T_max) = %.4g s (got %.4g)"
           % (latency, period))


def token_period(d):
    m = os.path.join(MODELS, "bytes-5x256-paper-linear")
    bpb = []
    for p in ("1e-7", "1e-5", "1e-3"):
        got, _ = ppl(d, m, "--cell-preset", "paper-cubic", "--token-period", p, tokens=1024)
        bpb.append(got["bits_per_byte"])
        expect(got["attention_config"]["token_period_s"] == float(p),
               "--token-period %s recorded" % p)
    # near the period the model was trained at (0.8 us) the loss need not be monotone; a
    # period whose 1024 tokens span many retention times must be worse than both
    expect(bpb[0] != bpb[1] and bpb[2] > max(bpb[0], bpb[1]) + 0.1,
           "the token period matters, and a long one (1 ms: 1024 tokens = 200 tau) is worse: "
           "bits per byte %s at 0.1, 10, 1000 us" % ["%.4f" % x for x in bpb])


def bad_block(d):
    m = os.path.join(d, "bad")
    shutil.copytree(os.path.join(MODELS, "bytes-5x256-softmax"), m)
    with open(os.path.join(m, "config.json")) as f:
        cfg = json.load(f)
    for key, value, word in (("window", "x", "window"), ("attention", "quantum", "quantum"),
                             ("tokenizer", 5, "tokenizer"), ("decay", [1], "decay")):
        c = json.loads(json.dumps(cfg))
        c["gcsim"][key] = value
        with open(os.path.join(m, "config.json"), "w") as f:
            json.dump(c, f)
        r = run([GCSIM, "ppl", "--model", m, "--text", TEXT, "--max-tokens", "64"],
                expect_ok=False)
        err = r.stderr.strip()
        expect(r.returncode != 0 and "config.json" in err and word in err and
               len(err.splitlines()) == 1, "gcsim.%s = %r refused: %s" % (key, value, err))


with tempfile.TemporaryDirectory() as tmp:
    shipped(tmp)
    adapted(tmp)
    token_period(tmp)
    bad_block(tmp)
if failures:
    sys.exit("FAILED: %s" % failures)
