#!/usr/bin/env bash
# Installs every build, run and test dependency of gcsim from Debian's packages.
# Idempotent: does nothing when all packages are already present.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  ngspice libngspice0-dev          # circuit simulator: command line (tests) and shared library
  libgsl-dev libhdf5-dev hdf5-tools libopenblas-dev libcjson-dev libpcre2-dev libssl-dev
  gnuplot-nox                      # PNG plots
  python3 python3-numpy python3-h5py python3-torch   # independent references in tests
  python3-regex                    # the GPT-2 reference tokenizer's own pattern engine (tests)
  xz-utils
  chromium                         # renders results/report.html in the report test
  openmpi-bin libopenmpi-dev       # gcsim sweep over MPI ranks (mpirun); the build works without
  clang libclang-rt-14-dev libomp-dev llvm  # fuzz suite: clang, libFuzzer and sanitizer runtimes,
                                   # clang's OpenMP, llvm-symbolizer for crash stacks
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
