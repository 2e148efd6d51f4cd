#!/usr/bin/env bash
# The main job, offline on shipped defaults: netlists -> curves.h5 -> cell.h5 -> perplexity ->
# results/report.html.
#  1. characterize the silicon and IGZO gain cells in ngspice, plot every sweep;
#  2. fit each to a behavioural cell model (with held-out residuals);
#  3. adapt the shipped hardware-trained byte-level GPT-2 to each calibrated cell;
#  4. measure bits per byte on WikiText-2 test (first GCSIM_PPL_TOKENS bytes) for the
#     software model, the paper's linear and cubic models and both calibrated cells (the
#     analog ones with their energy and latency per token on the same text, cost_ppl_*.json),
#     and for the silicon cell at four token periods; what a token costs at GPT-2 124M
#     shape on each calibrated cell (cost_si.json, cost_igzo.json, their stacked bars),
#     against the shipped GPU measurement;
#  5. sweep the silicon cell's storage capacitor (gcsim sweep: 3 points, coarse plan, 8 kB);
#     validate the silicon model against SPICE (20 patterns of a 64-cell column);
#  6. with GCSIM_LAMBADA=1, score the whole LAMBADA test set (gcsim eval) with the software,
#     paper-linear, paper-cubic and silicon-adapted models (about 30 minutes on 2 cores);
#  7. write results/report.html (gcsim report): every number with its source.
# Results land in results/ (GCSIM_RESULTS); evaluation text comes from GCSIM_DATA
# (default ../shared/data beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${GCSIM_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release >/dev/null
ninja -C "$build" >/dev/null
g=$build/harness/gcsim
out=${GCSIM_RESULTS:-results}
data=${GCSIM_DATA:-../shared/data}
tokens=${GCSIM_PPL_TOKENS:-32768}
text=$data/text/wikitext2_wiki.test.raw
calib=$data/corpus/brown.txt.xz
for f in "$text" "$calib"; do
  [ -f "$f" ] || { echo "run-pipeline: $f is missing: set GCSIM_DATA (see README, Data)" >&2; exit 1; }
done
mkdir -p "$out"

for tech in si igzo; do
  echo "== $tech: characterize, plot, fit"
  "$g" characterize --tech "$tech" --jobs 2 --out "$out/curves_$tech.h5"
  "$g" plot "$out/curves_$tech.h5" --out "$out/plots_$tech"
  "$g" fit --curves "$out/curves_$tech.h5" --out "$out/cell_$tech.h5" --json "$out/fit_$tech.json"
done

echo "== adaptation batch: the first 64 kB of the Brown corpus (training data, not evaluation)"
head -c 65536 < <(xz -dc "$calib") > "$out/calibration.txt"
models=data/models
for tech in si igzo; do
  "$g" adapt --model "$models/bytes-5x256-paper-linear" --text "$out/calibration.txt" \
    --cell "$out/cell_$tech.h5" --out "$out/model-linear-adapted-$tech" > "$out/adapt_$tech.log"
  tail -n 1 "$out/adapt_$tech.log"
done

echo "== perplexity on WikiText-2 test, first $tokens bytes, ctx 1024, stride 512"
# each model folder names its tokenizer and attention (config.json, "gcsim" block)
ppl() { # name model [more options]
  "$g" ppl --model "$2" --text "$text" --ctx 1024 --stride 512 --max-tokens "$tokens" \
    --json "$out/ppl_$1.json" "${@:3}" | grep 'bits per byte' | sed "s/^/$1: /"
}
ppl software "$models/bytes-5x256-softmax"
ppl paper-linear "$models/bytes-5x256-paper-linear" --cost "$out/cost_ppl_paper-linear.json"
ppl paper-cubic "$models/bytes-5x256-paper-cubic" --cost "$out/cost_ppl_paper-cubic.json"
ppl calibrated-si "$out/model-linear-adapted-si" --cost "$out/cost_ppl_calibrated-si.json"
ppl calibrated-igzo "$out/model-linear-adapted-igzo" --cost "$out/cost_ppl_calibrated-igzo.json"

echo "== what a token costs at GPT-2 124M shape (12 layers x 12 heads x 768), each cell"
# the activity of the adapted model on the first 8 kB of the text, per head and token
for tech in si igzo; do
  "$g" cost --model "$out/model-linear-adapted-$tech" --text "$text" --ctx 1024 --stride 512 \
    --max-tokens 8192 --shape 12x12x768 --cost "$out/cost_$tech.json" \
    | grep -E '^(total|latency per token|vs )' | sed "s/^/$tech: /"
done

echo "== perplexity against the token period: the silicon-adapted model, its cell read at 4 periods"
for p in 1e-7 1e-6 1e-5 1e-4; do
  "$g" ppl --model "$out/model-linear-adapted-si" --text "$text" --ctx 1024 --stride 512 \
    --max-tokens "$tokens" --token-period "$p" --json "$out/ppl_period_si_$p.json" \
    | grep 'bits per byte' | sed "s/^/token period $p s: /"
done

echo "== a design-space sweep: the silicon cell's storage capacitor, read 10 us apart"
# each point: characterize (coarse plan) -> fit -> adapt -> ppl, cached in $out/cache, its
# row in $out/table.json; a larger capacitor holds its charge longer (retention ~ C / I_leak)
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
cat > "$out/sweep_c_store.json" <<EOF
{"name": "storage capacitor of the silicon cell, tokens 10 us apart (main job)",
 "axes": {"tech": ["si"], "set:c_store": ["4f", "8f", "16f"], "token_period_s": [1e-5]},
 "chain": {"plan": "$(abs data/sweeps/test.plan)",
           "model": "$(abs "$models/bytes-5x256-paper-linear")", "calibration": "calibration.txt",
           "text": "$(abs "$text")", "tokens": 8192, "ctx": 1024, "stride": 512,
           "adapt_max_iter": 30}}
EOF
"$g" sweep "$out/sweep_c_store.json" --out "$out"
sed 's/^/  /' "$out/table.csv"

echo "== the behavioural model against SPICE: 20 patterns of a 64-cell silicon column"
"$g" validate --cell "$out/cell_si.h5" --tech si --samples 20 --jobs 2 --out "$out/validate_si"

if [ "${GCSIM_LAMBADA:-0}" = 1 ]; then
  lambada=$data/text/lambada_test.jsonl
  [ -f "$lambada" ] || { echo "run-pipeline: $lambada is missing" >&2; exit 1; }
  echo "== LAMBADA (lambada_openai), whole test set: accuracy and perplexity"
  lam() { # name model
    "$g" eval --task lambada --data "$lambada" --model "$2" --json "$out/eval_lambada_$1.json" \
      --per-example "$out/eval_lambada_$1.examples.jsonl" | grep -E "^(acc|perplexity) " |
      sed "s/^/$1: /"
  }
  lam softmax "$models/bytes-5x256-softmax"
  lam paper-linear "$models/bytes-5x256-paper-linear"
  lam paper-cubic "$models/bytes-5x256-paper-cubic"
  lam adapted-si "$out/model-linear-adapted-si"
fi

"$g" report --results "$out"
echo "results in $out/ (open $out/report.html)"
