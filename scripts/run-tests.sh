#!/usr/bin/env bash
# Builds gcsim with AddressSanitizer + UndefinedBehaviorSanitizer and warnings as errors,
# then runs the whole test suite, then the fuzz suite: the libFuzzer harnesses of tests/fuzz,
# built by clang in a second build folder, about 20 s each. Extra arguments go to the main
# suite's `meson test` (e.g. a test name) and skip the fuzz suite.
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
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=$?
[ $# -eq 0 ] || exit $status

# The fuzz suite (tests/fuzz/meson.build): one harness per loader, a fixed short budget each.
fuzz=${GCSIM_FUZZ_BUILD:-build-fuzz}
if [ ! -f "$fuzz/build.ninja" ]; then
  CC=clang meson setup "$fuzz" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dwerror=true -Dbuildtype=debugoptimized
fi
ninja -C "$fuzz"
meson test -C "$fuzz" --suite fuzz --print-errorlogs --num-processes 2 || status=$?
exit $status
