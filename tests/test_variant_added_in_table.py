"""A variant added only in the variant table works end to end. gcsim-stand-in is gcsim whose
attention library was built with one more row (tests/stand_in_variant.h: the paper's data path
with its own g(y), window 48 and tile 16 by default) and no other change. Checked:
- `gcsim-stand-in attention --attention stand-in` (parallel and streaming) against the float64
  reference of PAPER.md §3 evaluated with the row's g, window and tile (attention_reference.py;
  tolerances as in test_attention_matches_reference.py);
- `gcsim-stand-in ppl --attention stand-in` on a tiny hardware GPT-2 against the float64 PyTorch
  reference with that cell (1e-4, as test_ppl_matches_torch.py), and its JSON records the
  variant and the row's defaults;
- the regular gcsim does not know the variant (the row exists only in the test build).

usage: test_variant_added_in_table.py GCSIM_STAND_IN stand_in_variant.h"""
import json
import math
import os
import re
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attention_cli  # noqa: E402
import attention_reference as aref  # noqa: E402
import test_attention_matches_reference as tam  # noqa: E402
import test_gpt2_ref as ref  # noqa: E402

stand_in, header = sys.argv[1], sys.argv[2]
with open(header) as f:
    src = f.read()
G_UA = [float(x) for x in re.search(r"stand_in_g_ua\[4\] = \{([^}]*)\}", src).group(1).split(",")]
WINDOW = int(re.search(r"c->window = (\d+);", src).group(1))
TILE = int(re.search(r"c->tile = (\d+);", src).group(1))
UA_TMAX_C = 1e-6 * 15e-9
failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def attention_case():
    attention_cli.GCSIM = stand_in
    q, k, v = attention_cli.inputs(5, 2, 120, 16)
    run = attention_cli.Run(q, k, v)
    o, S, phi, margin = aref.paper(q, k, v, window=WINDOW, tile=TILE, lam=1.6e-4, coeffs=G_UA)
    for mode in ("parallel", "streaming"):
        r = run.call(["--attention", "stand-in", "--mode", mode])
        name = "stand-in %s" % mode
        tam.check(name + " S", r["S"] / UA_TMAX_C, S, 2e-6 * np.abs(S).max())
        tam.check(name + " phi", r["phi"], phi, 2e-6)
        tam.check_out(name, r["out"], o, margin, True)
        c = r["settings"]["attention_config"]
        expect(c["variant"] == "stand-in" and c["window"] == WINDOW and c["tile"] == TILE,
               "%s: settings.json records the row's defaults (window %d, tile %d)"
               % (mode, c["window"], c["tile"]))
    failures.extend(tam.failures)


def g_stand_in(y):
    return G_UA[0] + G_UA[1] * y + G_UA[2] * y ** 2 + G_UA[3] * y ** 3


def ppl_case(d):
    cfg, w = ref.random_model(3, 2, 2, 128, 256, 256, hw=True, wte_std=0.1)
    md = os.path.join(d, "model")
    ref.write_model_dir(md, cfg, w)
    text = bytes(range(32, 127)) * 3
    tp, js = os.path.join(d, "text.txt"), os.path.join(d, "out.json")
    with open(tp, "wb") as f:
        f.write(text)
    ctx, stride = 128, 48
    ref.run([stand_in, "ppl", "--model", md, "--text", tp, "--tokenizer", "bytes",
             "--attention", "stand-in", "--ctx", str(ctx), "--stride", str(stride),
             "--json", js])
    with open(js) as f:
        got = json.load(f)
    ids = np.frombuffer(text, np.uint8).astype(np.int64)
    cell = dict(g=g_stand_in, window=WINDOW, tile=TILE)
    nll, count = ref.sliding_nll(cfg, ref.stored_values(w, "F32"), ids, ctx, stride,
                                 "stand-in", cell=cell)
    want = nll / (len(text) * math.log(2))
    err = abs(got["bits_per_byte"] - want) / want
    expect(err <= 1e-4 and got["tokens_scored"] == count,
           "ppl --attention stand-in: bits per byte %.6f, reference %.6f (rel err %.2g, tol 1e-4)"
           % (got["bits_per_byte"], want, err))
    c = got["attention_config"]
    expect(got["attention"] == "stand-in" and c["window"] == WINDOW and c["tile"] == TILE,
           "ppl JSON records the variant and its defaults")
    r = ref.run([os.environ["GCSIM"], "ppl", "--model", md, "--text", tp, "--tokenizer",
                 "bytes", "--attention", "stand-in"], expect_ok=False)
    expect(r.returncode != 0 and "unknown attention variant 'stand-in'" in r.stderr,
           "the regular gcsim refuses it: " + r.stderr.strip())


torch.set_num_threads(2)
attention_case()
with tempfile.TemporaryDirectory() as d:
    ppl_case(d)
if failures:
    sys.exit("FAILED: %s" % failures)
