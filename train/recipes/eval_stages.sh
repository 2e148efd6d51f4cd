#!/bin/bash
# Scores the stages of the pipeline and the two controls with `gcsim ppl` (C) on the whole
# WikiText-2 test: raw bytes, ctx 1024, stride 512. The adapted stages are adapted first
# (gcsim adapt on the linear checkpoint, its recorded targets; 3_cubic_searched adds one pass
# of the coordinate search, `--search 1`: about 45 minutes on 2 cores). Each stage is scored
# in SHARDS parts (gcsim ppl --shard), P parts at a time with THREADS threads each (the byte
# models have 4 heads, so more than 4 threads per part buys little); parts already scored are
# kept, so an interrupted run resumes. A stage's parts are then added up into ppl_<stage>.json.
#   GCSIM  gcsim binary              TEXT    wikitext2_wiki.test.raw
#   CALIB  calibration text          CELLS   folder with cell_si.h5 and cell_igzo.h5
#   CONTROLS  folder with the runs 5a_linear_scratch and 5b_cubic_from_softmax (optional)
#   STAGES  names to score (default: all)   OUT  results (JSON, logs)   ADAPTED  adapted models
#   PARTS  which of the SHARDS parts to score here (default: all; e.g. "1 2 3 4" on one machine
#          and "5 6 7 8" on another, into the same OUT)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
: "${GCSIM:=$ROOT/build/harness/gcsim}" "${TEXT:=$ROOT/../shared/data/text/wikitext2_wiki.test.raw}"
: "${CALIB:=$ROOT/results/calibration.txt}" "${CELLS:=$ROOT/results}" "${OUT:=$ROOT/results/stages}"
: "${ADAPTED:=$OUT}" "${CONTROLS:=}" "${STAGES:=}" "${SHARDS:=1}" "${PARTS:=}" "${P:=4}" "${THREADS:=4}"
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
M="$ROOT/data/models"
mkdir -p "$OUT" "$ADAPTED"
# stage model attention [cell]
all=(
  "1_software $M/bytes-5x256-softmax softmax"
  "2_linear $M/bytes-5x256-paper-linear paper-linear"
  "3_cubic_copied $M/bytes-5x256-paper-linear paper-cubic"
  "3_cubic_adapted $ADAPTED/linear-adapted-cubic paper-cubic"
  "3_cubic_searched $ADAPTED/linear-searched-cubic paper-cubic"
  "4_cubic_finetuned $M/bytes-5x256-paper-cubic paper-cubic"
  "3_si_copied $M/bytes-5x256-paper-linear calibrated $CELLS/cell_si.h5"
  "3_si_adapted $ADAPTED/linear-adapted-si calibrated $CELLS/cell_si.h5"
  "3_igzo_adapted $ADAPTED/linear-adapted-igzo calibrated $CELLS/cell_igzo.h5"
)
[ -n "$CONTROLS" ] && all+=("5a_linear_scratch $CONTROLS/5a_linear_scratch paper-linear"
                            "5b_cubic_from_softmax $CONTROLS/5b_cubic_from_softmax paper-cubic")
runs=()
for r in "${all[@]}"; do
  [ -z "$STAGES" ] || [[ " $STAGES " == *" ${r%% *} "* ]] && runs+=("$r")
done

adapt() { # attention out cell|"" [gcsim adapt options]
  [ -f "$ADAPTED/$2/model.safetensors" ] && return
  "$GCSIM" adapt --model "$M/bytes-5x256-paper-linear" --text "$CALIB" --tokenizer bytes \
    --attention "$1" ${3:+--cell "$3"} "${@:4}" --out "$ADAPTED/$2" > "$OUT/adapt_$2.log"
  echo "adapted $2: $(tail -n 1 "$OUT/adapt_$2.log")"
}
for r in "${runs[@]}"; do
  set -- $r
  case $1 in
    3_cubic_adapted) adapt paper-cubic linear-adapted-cubic "" & ;;
    3_cubic_searched) adapt paper-cubic linear-searched-cubic "" --search 1 & ;;
    3_si_adapted) adapt calibrated linear-adapted-si "$4" & ;;
    3_igzo_adapted) adapt calibrated linear-adapted-igzo "$4" & ;;
  esac
done
wait

part() { # stage shard model attention [cell]
  local js="$OUT/ppl_$1.part$2.json"
  [ -f "$js" ] && return
  if "$GCSIM" ppl --model "$3" --text "$TEXT" --tokenizer bytes --ctx 1024 --stride 512 \
      --attention "$4" ${5:+--cell "$5"} --shard "$2/$SHARDS" --json "$js.tmp" \
      > "$OUT/ppl_$1.part$2.log" 2>&1; then
    mv "$js.tmp" "$js"
  else
    echo "$1 part $2: FAILED: $(tail -n 1 "$OUT/ppl_$1.part$2.log")"
  fi
}
for r in "${runs[@]}"; do
  set -- $r
  for k in ${PARTS:-$(seq 1 "$SHARDS")}; do
    while [ "$(jobs -rp | wc -l)" -ge "$P" ]; do wait -n || true; done
    part "$1" "$k" "${@:2}" &
  done
done
wait

for r in "${runs[@]}"; do
  set -- $r
  python3 - "$OUT" "$1" "$SHARDS" <<'EOF'
import json, math, os, sys
out, stage, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
paths = [os.path.join(out, f"ppl_{stage}.part{k}.json") for k in range(1, n + 1)]
if not all(os.path.exists(p) for p in paths):
    print(f"{stage}: {sum(map(os.path.exists, paths))} of {n} parts scored")
    sys.exit(0)
parts = [json.load(open(p)) for p in paths]
r = {k: parts[0][k] for k in ("model", "text", "attention", "ctx", "stride", "tokens", "bytes",
                              "words")}
r["cell"] = parts[0].get("cell")
for k in ("nll_nats", "tokens_scored", "windows", "seconds"):
    r[k] = sum(p[k] for p in parts)
r["token_perplexity"] = math.exp(r["nll_nats"] / r["tokens_scored"])
r["bits_per_byte"] = r["nll_nats"] / (r["bytes"] * math.log(2))
r["word_perplexity"] = math.exp(r["nll_nats"] / r["words"])
json.dump(r, open(os.path.join(out, f"ppl_{stage}.json"), "w"), indent=1)
print(f"{stage}: bits per byte {r['bits_per_byte']:.4f} ({r['tokens_scored']} tokens, "
      f"{r['windows']} windows, {r['seconds']:.0f} s in {n} parts)")
EOF
done
