#!/usr/bin/env bash
# The designer's variation table: bits per byte of the main job's silicon-adapted model over
# temperature x process corner x chip instances, without and with adaptation per chip.
#
# For each temperature T and corner C:
#   1. characterize the silicon cell at T and C (default plan) and a Monte Carlo of its
#      instances (test plan, MC instances, seed 1), fit both into cell_T_C.h5 with /variation;
#   2. score the main job's model (adapted to the nominal 27 C tt cell) on that cell: the
#      nominal chip, and chips 1..CHIPS (seeded draws of the variation model);
#   3. adapt the shipped paper-linear model to that condition's nominal cell ("recalibrated":
#      what calibrating per condition recovers) and to each chip (calibrating each chip after
#      fabrication), and score each adapted model on its own chip.
# Every step writes its own file and is skipped when that file exists, so an interrupted run
# resumes. The steps of one stage run JOBS at a time. Prints the table and writes table.md.
#
# usage: scripts/variation-table.sh OUT
# env: GCSIM (build/harness/gcsim), GCSIM_DATA (../shared/data), GCSIM_RESULTS (results: the
#      main job's calibration.txt and model-linear-adapted-si), MAIN_MODEL (that model; the
#      same command makes it again as OUT/model_27_tt), TEMPS ("27 85"),
#      CORNERS ("tt ss ff"), CHIPS (8), ADAPT_CHIPS (chips adapted per condition, 8),
#      SET_<corner> (more characterize options at that corner; SET_ss defaults to "--set
#      t_write=12e-9": at ss the 3 ns write does not settle near mid-rail and fit refuses
#      the cell),
#      MC (100), TOKENS (16384), JOBS (cores / 2), STOP_AFTER=fit|adapt (stop once the
#      cells, or the adapted models, exist).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/variation-table.sh OUT}
g=$(realpath "${GCSIM:-build/harness/gcsim}")
data=${GCSIM_DATA:-../shared/data}
res=${GCSIM_RESULTS:-results}
temps=${TEMPS:-27 85}
corners=${CORNERS:-tt ss ff}
chips=${CHIPS:-8}
adapt_chips=${ADAPT_CHIPS:-8}
mc=${MC:-100}
SET_ss=${SET_ss---set t_write=12e-9}
tokens=${TOKENS:-16384}
jobs=${JOBS:-$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))}
text=$data/text/wikitext2_wiki.test.raw
model=${MAIN_MODEL:-$res/model-linear-adapted-si}
for f in "$text" "$res/calibration.txt"; do
  [ -e "$f" ] || { echo "variation-table: $f is missing (run scripts/run-pipeline.sh first)" >&2; exit 1; }
done
mkdir -p "$out"

# run_all: the lines of stdin are commands; run them JOBS at a time, stop on the first failure
run_all() { xargs -P "$jobs" -I{} -d '\n' bash -c '{}'; }

# once FILE COMMAND...: run COMMAND (writing FILE) unless FILE exists; its output to FILE.log
once() { printf '[ -e %q ] || { %s > %q 2>&1 || { echo "failed: %s (see %q)" >&2; exit 255; }; }\n' \
  "$1" "${*:2}" "$1.log" "$1" "$1.log"; }

ppl() { # json model cell [options]
  once "$1" "$g" ppl --model "$2" --cell "$3" --text "$text" --ctx 1024 --stride 512 \
    --max-tokens "$tokens" --json "$1" "${@:4}"
}

echo "== characterize and Monte Carlo at each temperature and corner ($jobs at a time)"
for t in $temps; do for c in $corners; do
  more=SET_$c
  [ -e "$out/cell_${t}_$c.h5" ] && continue # fitted already
  once "$out/curves_${t}_$c.h5" "$g" characterize --tech si --set temp=$t --corner $c ${!more:-} \
    --jobs 2 --out "$out/curves_${t}_$c.h5"
  once "$out/mc_${t}_$c.h5" "$g" characterize --tech si --set temp=$t --corner $c ${!more:-} \
    --plan data/sweeps/test.plan --mc $mc --seed 1 --jobs 2 --out "$out/mc_${t}_$c.h5"
done; done | run_all
for t in $temps; do for c in $corners; do
  once "$out/cell_${t}_$c.h5" "$g" fit --curves "$out/curves_${t}_$c.h5" \
    --variation "$out/mc_${t}_$c.h5" --out "$out/cell_${t}_$c.h5" --json "$out/fit_${t}_$c.json"
done; done | run_all
[ "${STOP_AFTER:-}" != fit ] || exit 0

echo "== adapt per condition and per chip"
for t in $temps; do for c in $corners; do
  cell=$out/cell_${t}_$c.h5
  # a model is made again only while a score still needs it (the main model: always)
  [ -e "$out/ppl_${t}_${c}_recalibrated.json" ] && [ "$out/model_${t}_$c" != "$model" ] ||
  once "$out/model_${t}_$c" "$g" adapt --model data/models/bytes-5x256-paper-linear \
    --text "$res/calibration.txt" --cell "$cell" --out "$out/model_${t}_$c"
  for s in $(seq 1 "$adapt_chips"); do
    [ -e "$out/ppl_${t}_${c}_chip${s}_adapted.json" ] ||
    once "$out/model_${t}_${c}_chip$s" "$g" adapt --model data/models/bytes-5x256-paper-linear \
      --text "$res/calibration.txt" --cell "$cell" --chips 1 --chip-seed $s \
      --out "$out/model_${t}_${c}_chip$s"
  done
done; done | run_all

[ "${STOP_AFTER:-}" != adapt ] || exit 0
[ -e "$model/config.json" ] || { echo "variation-table: $model is missing" >&2; exit 1; }
echo "== perplexity: nominal chip, chips 1..$chips, recalibrated, adapted per chip"
for t in $temps; do for c in $corners; do
  cell=$out/cell_${t}_$c.h5
  ppl "$out/ppl_${t}_${c}_nominal.json" "$model" "$cell"
  ppl "$out/ppl_${t}_${c}_recalibrated.json" "$out/model_${t}_$c" "$cell"
  for s in $(seq 1 "$chips"); do
    ppl "$out/ppl_${t}_${c}_chip$s.json" "$model" "$cell" --chips 1 --chip-seed $s
  done
  for s in $(seq 1 "$adapt_chips"); do
    ppl "$out/ppl_${t}_${c}_chip${s}_adapted.json" "$out/model_${t}_${c}_chip$s" "$cell" \
      --chips 1 --chip-seed $s
  done
done; done | run_all

python3 - "$out" "$chips" "$adapt_chips" "$temps" "$corners" <<'EOF'
import json, statistics, sys
out, chips, adapt, temps, corners = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4].split(), sys.argv[5].split()
def bpb(name):
    d = json.load(open(f"{out}/ppl_{name}.json"))
    return d["bpb_mean"] if "bpb_mean" in d else d["bits_per_byte"]
def stats(v):
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.mean(v):.4f} +- {sd:.4f} (worst {max(v):.4f})"
rows = ["| T (C) | corner | nominal chip | chips 1..%d, main job's model | recalibrated to "
        "the condition | chips 1..%d as they are | chips 1..%d, each adapted to itself |"
        % (chips, adapt, adapt), "|---|---|---|---|---|---|---|"]
for t in temps:
    for c in corners:
        raw = [bpb(f"{t}_{c}_chip{s}") for s in range(1, chips + 1)]
        ada = [bpb(f"{t}_{c}_chip{s}_adapted") for s in range(1, adapt + 1)]
        rows.append(f"| {t} | {c} | {bpb(f'{t}_{c}_nominal'):.4f} | {stats(raw)} | "
                    f"{bpb(f'{t}_{c}_recalibrated'):.4f} | {stats(raw[:adapt])} | {stats(ada)} |")
open(f"{out}/table.md", "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
EOF
