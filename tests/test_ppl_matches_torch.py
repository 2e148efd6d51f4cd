"""`gcsim ppl` follows Hugging Face's sliding-window protocol and matches the float64 PyTorch
reference to 1e-4 (token perplexity, bits per byte, word perplexity), with the token, byte and
word counts of the text; on WikiText-2 test a random model's perplexity is near the vocabulary
size (sanity).

usage: test_ppl_matches_torch.py [VARIANT]   (softmax by default)
"""
import json
import math
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_gpt2_ref as ref  # noqa: E402
from test_tokenizer_matches_reference import Encoder, bytes_to_unicode  # noqa: E402

GCSIM = ref.env("GCSIM")
DATA = ref.env("GCSIM_DATA")
BPE = os.path.join(DATA, "gpt2-bpe")
TOL = 1e-4
variant = sys.argv[1] if len(sys.argv) > 1 else "softmax"

failures = 0


def expect(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


wiki = os.path.join(DATA, "text", "wikitext2_wiki.test.raw")
with open(wiki, "rb") as f:
    raw = f.read()
cut = raw.index(b"\n", 2500) + 1  # a prefix ending at a line break
text = raw[:cut].decode("utf-8")
ids = Encoder(BPE).encode(text)

# confident predictions (large embeddings), so that scoring the wrong position shows. The
# analog quantisers are discontinuous: float32 against float64 can flip a level, which a very
# confident model turns into a large NLL change, so analog variants use milder embeddings.
cfg, w = ref.random_model(3, 2, 2, 128, 50257, 256, hw=variant.startswith("paper"),
                          wte_std=0.1 if variant.startswith("paper") else 0.3)
cfg_flat, w_flat = ref.random_model(3, 2, 2, 128, 50257, 256)
ctx, stride = 128, 48
with tempfile.TemporaryDirectory() as d:
    md = os.path.join(d, "model")
    ref.write_model_dir(md, cfg, w)
    tp = os.path.join(d, "prefix.txt")
    with open(tp, "wb") as f:
        f.write(raw[:cut])
    js = os.path.join(d, "out.json")
    r = ref.run([GCSIM, "ppl", "--model", md, "--text", tp, "--bpe-dir", BPE, "--attention",
                 variant, "--ctx", str(ctx), "--stride", str(stride), "--json", js])
    print(r.stdout.strip())
    with open(js) as f:
        got = json.load(f)

    nll, count = ref.sliding_nll(cfg, ref.stored_values(w, "F32"), ids, ctx, stride, variant)
    nbytes, nwords = len(raw[:cut]), len(text.split())
    want = {"token_perplexity": math.exp(nll / count),
            "bits_per_byte": nll / (nbytes * math.log(2)),
            "word_perplexity": math.exp(nll / nwords)}
    expect(got["tokens"] == len(ids) and got["tokens_scored"] == count == len(ids) - 1,
           f"tokens {got['tokens']} (scored {got['tokens_scored']}), reference {len(ids)} "
           f"({count})")
    expect(got["bytes"] == nbytes and got["words"] == nwords,
           f"bytes {got['bytes']} words {got['words']}, reference {nbytes} {nwords}")
    for k, v in want.items():
        e = abs(got[k] - v) / v
        expect(e <= TOL, f"{k} {got[k]:.6f}, reference {v:.6f}, rel err {e:.2g} (tol {TOL})")

    # --shard K/N: the shards' windows partition the run; their nll and counts add up to it
    whole_nll, parts = got["nll_nats"], []
    for k in (1, 2, 3):
        ref.run([GCSIM, "ppl", "--model", md, "--text", tp, "--bpe-dir", BPE, "--attention",
                 variant, "--ctx", str(ctx), "--stride", str(stride), "--shard", f"{k}/3",
                 "--json", js])
        with open(js) as f:
            parts.append(json.load(f))
    s_nll = sum(p["nll_nats"] for p in parts)
    expect(sum(p["tokens_scored"] for p in parts) == count and
           sum(p["windows"] for p in parts) == got["windows"] and
           abs(s_nll - whole_nll) <= 1e-9 * whole_nll and
           all("bits_per_byte" not in p for p in parts),
           f"--shard k/3: nll {s_nll:.9g} vs {whole_nll:.9g}, scored "
           f"{[p['tokens_scored'] for p in parts]} (whole {count})")

    # --max-tokens keeps a prefix: its bytes and words are those of the kept tokens
    r = ref.run([GCSIM, "ppl", "--model", md, "--text", tp, "--bpe-dir", BPE, "--ctx", "64",
                 "--max-tokens", "100", "--json", js])
    with open(js) as f:
        got = json.load(f)
    kept = Encoder(BPE).encode(text)[:100]
    inv = {v: k for k, v in Encoder(BPE).encoder.items()}
    bd = {c: b for b, c in bytes_to_unicode().items()}
    kept_bytes = bytes(bd[c] for t in kept for c in inv[t])
    nll2, count2 = ref.sliding_nll(cfg, ref.stored_values(w, "F32"), kept, 64, 64)
    expect(got["tokens"] == 100 and got["bytes"] == len(kept_bytes) and
           got["words"] == len(kept_bytes.decode("utf-8", "replace").split()) and
           abs(got["token_perplexity"] - math.exp(nll2 / count2)) <= TOL * math.exp(nll2 / count2),
           f"--max-tokens 100: {got['tokens']} tokens, {got['bytes']} bytes, ppl "
           f"{got['token_perplexity']:.4f} vs {math.exp(nll2 / count2):.4f}")

    if variant == "softmax":
        # sanity: a random model is about as perplexed as a uniform guess over the vocabulary
        ref.write_model_dir(md, cfg_flat, w_flat)
        r = ref.run([GCSIM, "ppl", "--model", md, "--text", wiki, "--bpe-dir", BPE,
                     "--ctx", "256", "--max-tokens", "8192", "--json", js])
        with open(js) as f:
            got = json.load(f)
        expect(0.5 * 50257 < got["token_perplexity"] < 2 * 50257,
               f"wikitext2 test, random model: token perplexity {got['token_perplexity']:.0f} "
               f"(vocabulary 50257)")

    # errors are one line, naming the problem
    r = ref.run([GCSIM, "ppl", "--model", md, "--text", tp, "--bpe-dir", BPE, "--ctx", "999"],
                expect_ok=False)
    expect(r.returncode != 0 and "999" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
           f"--ctx beyond the model refused: {r.stderr.strip()}")
    r = ref.run([GCSIM, "ppl", "--model", md, "--text", tp, "--bpe-dir", BPE, "--shard", "4/3"],
                expect_ok=False)
    first = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
    expect(r.returncode != 0 and "4/3" in first, f"--shard 4/3 refused: {first}")
sys.exit(1 if failures else 0)
