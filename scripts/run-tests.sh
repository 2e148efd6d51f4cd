#!/usr/bin/env bash
# Builds gcsim with AddressSanitizer + UndefinedBehaviorSanitizer and warnings as errors,
# then runs the whole test suite. Extra arguments go to `meson test` (e.g. a test name).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${GCSIM_TEST_BUILD:-build-test}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true \
    -Dbuildtype=debugoptimized
fi
ninja -C "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
# Benchmarks and the GPT-2-124M-shaped parity checks are meson benchmarks (bench/meson.build),
# not part of this suite.
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
