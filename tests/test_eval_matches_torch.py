"""`gcsim eval` scores LAMBADA and multiple-choice examples as lm-evaluation-harness does: its
per-example log-likelihoods equal a float64 PyTorch reference to 1e-4 (relative) and its
greedy-match decisions, predictions, context truncation and aggregates (acc, acc_norm, their
standard errors, perplexity) equal the reference's, on a tiny random model, with contexts
shared (one prefill into the stream, continuations streamed from its snapshot) and not (one
pass per request, --no-share). The reference is written here from the harness's definitions
(lambada_openai's text.split(' '), _encode_pair, the left truncation to max_length + 1 tokens,
argmax of loglik and of loglik / len(choice), mean_stderr) on the GPT-2 forward of
test_gpt2_ref.py, without reading the C code.

The items include multiple-choice items that share a context (consecutive items too), a
choice whose longer continuation truncates its context differently, per-choice contexts
(WinoGrande's form), a custom target delimiter, trailing whitespace in a context, non-ASCII
choices (acc_norm counts characters) and, for the BPE, an empty context (the end-of-text
token). So that greedy decisions are not all "no", the model's position embeddings are
planted so that contexts of one length predict one target word: such examples match, others
with the same length match partly (and count as no). Sharing evaluates each run of equal
consecutive contexts once.

usage: test_eval_matches_torch.py VARIANT TOKENIZER [WINDOW]
       (softmax|paper-cubic, bytes|gpt2; WINDOW: an analog window of that many keys, in
       sub-arrays of 16, shorter than the contexts, so that the stream's ring wraps)
"""
import json
import math
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_gpt2_ref as ref  # noqa: E402
from test_tokenizer_matches_reference import Encoder  # noqa: E402

GCSIM = ref.env("GCSIM")
DATA = ref.env("GCSIM_DATA")
TOL = 1e-4
variant = sys.argv[1] if len(sys.argv) > 1 else "softmax"
tokenizer = sys.argv[2] if len(sys.argv) > 2 else "bytes"
window = int(sys.argv[3]) if len(sys.argv) > 3 else None
geometry = dict(cell=dict(g=ref.g_cubic if variant == "paper-cubic" else ref.g_linear,
                          window=window, tile=16)) if window else {}
failures = 0


def expect(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


if tokenizer == "gpt2":
    from test_tokenizer_matches_reference import bytes_to_unicode
    bpe = Encoder(os.path.join(DATA, "gpt2-bpe"))
    inv, bd = {v: k for k, v in bpe.encoder.items()}, {c: b for b, c in bytes_to_unicode().items()}
    encode, EOT, VOCAB, NPOS = bpe.encode, 50256, 50257, 64

    def decode(ids):
        return bytes(bd[c] for t in ids for c in inv[t]).decode("utf-8")
else:
    encode, EOT, VOCAB, NPOS = (lambda s: list(s.encode("utf-8"))), None, 256, 96

    def decode(ids):
        return bytes(ids).decode("utf-8")
W = NPOS  # the harness's max_length: the model's context


# ------------------------------------------------------------------------------------------
# The harness's request encoding and scoring

def encode_pair(context, continuation):
    """lm-eval's HFLM: (context tokens, continuation tokens)."""
    if context == "":
        return [EOT], encode(continuation)
    n = len(context) - len(context.rstrip())
    if n:
        continuation, context = context[-n:] + continuation, context[:-n]
    whole, ctx = encode(context + continuation), encode(context)
    return ctx, whole[len(ctx):]


def score(model, ctx, cont):
    """(loglik, greedy, context tokens seen, smallest top-2 margin) of one request, as the
    harness's _loglikelihood_tokens."""
    cfg, tensors = model
    inp = (ctx + cont)[-(W + 1):][:-1]
    logp = torch.log_softmax(ref.forward(cfg, tensors, inp, variant, **geometry),
                             -1)[-len(cont):]
    tgt = torch.tensor(cont)
    ll = float(logp.gather(1, tgt[:, None]).sum())
    top2 = torch.topk(logp, 2, -1).values
    greedy = bool((logp.argmax(-1) == tgt).all())
    seen = inp[:len(inp) - len(cont) + 1]
    return ll, greedy, seen, float((top2[:, 0] - top2[:, 1]).min())


def requests(kind, item):
    """[(context, continuation, acc_norm length)] of one example."""
    if kind == "lambada":
        words = item["text"].split(" ")
        return [(" ".join(words[:-1]), " " + words[-1], 1)]
    delim = item.get("target_delimiter", " ")
    if "contexts" in item:
        return [(c, delim + item["continuation"], len(c)) for c in item["contexts"]]
    return [(item["context"], delim + c, len(c)) for c in item["choices"]]


def reference(model, kind, items):
    out = []
    for item in items:
        reqs = [(encode_pair(c, x), n) for c, x, n in requests(kind, item)]
        rows = [score(model, ctx, cont) for (ctx, cont), _ in reqs]
        lls = np.array([r[0] for r in rows])
        lens = np.array([n for _, n in reqs], dtype=float)
        out.append({"loglik": lls.tolist(), "greedy": [r[1] for r in rows],
                    "context_tokens": [len(r[2]) for r in rows],
                    "seen": [tuple(r[2]) for r in rows],
                    "cut": sum(len(r[2]) < len(ctx) for r, ((ctx, _), _) in zip(rows, reqs)),
                    "margin": min(r[3] for r in rows),
                    "pred": int(np.argmax(lls)), "pred_norm": int(np.argmax(lls / lens))})
    return out


def stderr(xs):
    xs = np.asarray(xs, dtype=float)
    return math.sqrt(((xs - xs.mean()) ** 2).sum() / (len(xs) - 1)) / math.sqrt(len(xs))


# ------------------------------------------------------------------------------------------
# Examples

WORDS = ("the gain cell stores a charge that leaks away while the bit line integrates "
         "what every read delivers to the converter and its counter").split()


def sentence(rng, n_words):
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def context_of_tokens(rng, n):
    """A text of exactly n tokens that ends in a word."""
    while True:
        toks = encode(sentence(rng, n))[:n]
        try:
            text = decode(toks)
        except UnicodeDecodeError:
            continue
        if len(toks) == n and encode(text) == toks and text == text.rstrip():
            return text


rng = np.random.default_rng(7)
LC = 20                        # planted: contexts of LC tokens predict the word PLANT
PLANT = "gainx" if tokenizer == "bytes" else "gaincellular"
cfg, w = ref.random_model(11, 2, 2, 128, VOCAB, NPOS, hw=variant != "softmax", wte_std=0.1)
plant_toks = encode(" " + PLANT)
for j, t in enumerate(plant_toks):  # position LC - 1 + j predicts token j of " PLANT"
    w["wpe.weight"][LC - 1 + j] += 3.0 * w["wte.weight"][t]
model = (cfg, ref.stored_values(w, "F32"))

lam_lines = open(os.path.join(DATA, "text", "lambada_test.jsonl"), encoding="utf-8").readlines()
planted = [context_of_tokens(rng, LC) for _ in range(4)]
lambada = [{"text": planted[0] + " " + PLANT}, {"text": planted[1] + " " + PLANT},
           {"text": planted[2] + " " + PLANT[:3] + "q"},   # matches partly: no
           {"text": planted[3] + " " + PLANT + "."},       # one token more: no
           {"text": "Stored " + sentence(rng, 3)}, {"text": sentence(rng, 9)},
           json.loads(lam_lines[0]), json.loads(lam_lines[1]),   # truncated contexts
           {"text": "Ein Satz über die Zelle, " + sentence(rng, 4) + " Ende"}]
if tokenizer == "gpt2":
    lambada.append({"text": " " + PLANT})                 # empty context: end-of-text
mc = [
    {"context": planted[0], "choices": [PLANT[:3] + "q", PLANT, "the cell"], "gold": 1},
    {"context": planted[0], "choices": [PLANT, "bit line", "charge"], "gold": 2},  # shared
    {"context": "Question: what leaks?\nAnswer:", "choices": ["charge", "café", "the line"],
     "gold": 0},
    {"context": sentence(rng, 60), "choices": ["a", sentence(rng, 12)], "gold": 0},  # cut
    {"context": "The cell  ", "choices": ["leaks", "reads"], "gold": 1},   # trailing spaces
    {"context": planted[1], "choices": ["x", "y", PLANT], "gold": 2, "target_delimiter": " "},
    {"contexts": ["The bit line", "The word line"], "continuation": "integrates charge.",
     "gold": 0},
    {"context": planted[2] + ",", "choices": ["and", "or"], "gold": 0,
     "target_delimiter": "\n"},
]
if tokenizer == "gpt2":
    mc.append({"context": "", "choices": ["The cell", "A cell"], "gold": 0})


def chars_not_bytes_item():
    """An item whose acc_norm choice differs when lengths are counted in bytes: "éé" (2
    characters, 4 bytes) against an ASCII choice whose log-likelihood per character lies
    between the accented one's per character and per byte."""
    ctx = "Question: what leaks?\nAnswer:"
    ll_a = score(model, *encode_pair(ctx, " éé"))[0]
    for n in range(1, 6):
        for b in sorted({" ".join(WORDS[i:i + n]) for i in range(len(WORDS) - n)}):
            ll_b = score(model, *encode_pair(ctx, " " + b))[0]
            if ll_a / 2 < ll_b / len(b) < ll_a / 4:
                return {"context": ctx, "choices": ["éé", b], "gold": 1}
    return None


accented = chars_not_bytes_item()
expect(accented is not None, f"acc_norm item that tells characters from bytes: {accented}")
mc.append(accented or mc[0])


def check(kind, mode, items, got, summary, want):
    """gcsim's per-example results and summary against the reference's."""
    expect(len(got) == len(want), f"{kind}: {len(got)} examples (reference {len(want)})")
    worst, wrong = 0.0, []
    for i, (g, x) in enumerate(zip(got, want)):
        for a, b in zip(g["loglik"], x["loglik"]):
            worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
        for key in ("greedy", "context_tokens", "pred", "pred_norm"):
            if g[key] != x[key]:
                wrong.append(f"example {i} {key} {g[key]} (reference {x[key]})")
    expect(worst <= TOL, f"{kind} {variant} {tokenizer}, {mode}: per-example log-likelihoods, "
                         f"largest relative difference {worst:.2e} (tol {TOL})")
    greedy = [v for x in want for v in x["greedy"]]
    expect(not wrong, f"{kind}: greedy decisions ({sum(greedy)} yes of {len(greedy)}), "
                      f"context tokens seen, predictions equal the reference's; smallest "
                      f"top-2 margin {min(x['margin'] for x in want):.3g} nats"
                      + ("" if not wrong else ": " + "; ".join(wrong[:4])))
    expect(0 < sum(greedy) < len(greedy) if kind == "lambada" else True,
           f"{kind}: the set-up has both greedy matches and misses")
    cut = sum(x["cut"] for x in want)
    expect(summary["truncated"] == cut and cut > 0,
           f"{kind}: {summary['truncated']} requests truncated (reference {cut})")
    if kind == "lambada":
        lls = [x["loglik"][0] for x in want]
        acc = [float(x["greedy"][0]) for x in want]
        ref_sum = {"acc": np.mean(acc), "acc_stderr": stderr(acc),
                   "perplexity": math.exp(-np.mean(lls))}
    else:
        acc = [float(x["pred"] == it["gold"]) for x, it in zip(want, items)]
        accn = [float(x["pred_norm"] == it["gold"]) for x, it in zip(want, items)]
        ref_sum = {"acc": np.mean(acc), "acc_stderr": stderr(acc),
                   "acc_norm": np.mean(accn), "acc_norm_stderr": stderr(accn)}
    errs = {k: abs(summary[k] - v) / max(abs(v), 1e-12) for k, v in ref_sum.items()}
    expect(max(errs.values()) <= TOL,
           f"{kind}: " + ", ".join(f"{k} {summary[k]:.6g} (ref {v:.6g})"
                                  for k, v in ref_sum.items()))


def distinct_consecutive(ctxs):
    return sum(1 for i, c in enumerate(ctxs) if i == 0 or c != ctxs[i - 1])


with tempfile.TemporaryDirectory() as d:
    md = os.path.join(d, "model")
    ref.write_model_dir(md, cfg, w)
    for kind, items in (("lambada", lambada), ("mc", mc)):
        task = os.path.join(d, kind + ".jsonl")
        with open(task, "w", encoding="utf-8") as f:
            f.write("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items))
        base = [GCSIM, "eval", "--task", kind, "--data", task, "--model", md, "--tokenizer",
                tokenizer, "--attention", variant, "--bpe-dir", os.path.join(DATA, "gpt2-bpe")]
        if window:
            base += ["--window", str(window), "--tile", "16"]
        ex, js = os.path.join(d, "ex.jsonl"), os.path.join(d, "out.json")
        want = reference(model, kind, items)
        ctxs = [c for x in want for c in x["seen"]]
        logliks = {}
        for mode, extra, evaluated in (("shared contexts", [], distinct_consecutive(ctxs)),
                                       ("--no-share", ["--no-share"], len(ctxs))):
            r = ref.run(base + ["--per-example", ex, "--json", js] + extra)
            print(r.stdout.strip())
            got = [json.loads(line) for line in open(ex)]
            summary = json.load(open(js))
            check(kind, mode, items, got, summary, want)
            expect(summary["contexts_evaluated"] == evaluated,
                   f"{kind}, {mode}: {summary['contexts_evaluated']} contexts evaluated "
                   f"(distinct consecutive: {distinct_consecutive(ctxs)}, requests {len(ctxs)})")
            logliks[mode] = [v for g in got for v in g["loglik"]]
        diff = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(*logliks.values()))
        print(f"     {kind}: shared against --no-share, largest relative difference {diff:.2e}")
sys.exit(1 if failures else 0)
