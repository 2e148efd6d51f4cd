# The shared start of the GPU calls (source it with the call's name, e.g. `call4`): unbuffered
# Python, the repository as working directory, OUT for what comes back (the call's log is
# OUT/NAME.log), the token shards built from the compressed corpus (train/corpus_xz, carried).
# left: seconds left of a 575 s call; bring_back RUN...: a run's bf16 weights, config and loss
# curve into OUT/RUN.
export PYTHONUNBUFFERED=1 PY="${PY:-python3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"; cd "$ROOT"
OUT="${OUT:-train/out}"; mkdir -p "$OUT"
export DATA="${DATA:-train/shards}" RUNS="${RUNS:-train/runs}"
exec > >(tee "$OUT/$1.log") 2>&1
$PY train/data.py build --corpus train/corpus_xz --out "$DATA"
left() { echo $(( 575 - SECONDS )); }
bring_back() {
  for r in "$@"; do
    mkdir -p "$OUT/$r"
    cp "$RUNS/$r/bf16/model.safetensors" "$RUNS/$r/bf16/config.json" "$RUNS/$r/loss.json" "$OUT/$r/" || true
  done
}
