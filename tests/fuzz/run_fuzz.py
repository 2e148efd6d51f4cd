#!/usr/bin/env python3
"""Runs one libFuzzer harness of tests/fuzz for a fixed time and reports what it did.

The seeds (the harness's corpus folder plus any --seed-file) are copied into a scratch
folder, so a run adds nothing to the source tree; the harness's regressions folder is read
too, so every saved crash input is replayed before the fuzzing starts. Crash, leak and
timeout inputs go to WORK/artifacts; save one as tests/fuzz/regressions/NAME/<what-it-is>
once its cause is known. The closing line gives the executions made:
    fuzz NAME: N executions in S s (R/s), 0 crashes
Exit status: libFuzzer's (0: nothing found), 77 when the harness skipped itself.

    run_fuzz.py HARNESS --name NAME --corpus DIR --work DIR [--regressions DIR]
                [--seed-file FILE ...] [--seconds S] [--seed N] [-- LIBFUZZER-ARGS]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("harness")
    ap.add_argument("--name", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--regressions")
    ap.add_argument("--seed-file", action="append", default=[])
    ap.add_argument("--suppressions")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    argv, extra = sys.argv[1:], []
    if "--" in argv:  # what follows goes to libFuzzer as it is
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    a = ap.parse_args(argv)

    shutil.rmtree(a.work, ignore_errors=True)
    corpus = os.path.join(a.work, "corpus")
    artifacts = os.path.join(a.work, "artifacts")
    os.makedirs(corpus)
    os.makedirs(artifacts)
    seeds = [os.path.join(a.corpus, f) for f in sorted(os.listdir(a.corpus))] \
        if os.path.isdir(a.corpus) else []
    for f in seeds + a.seed_file:
        shutil.copy(f, os.path.join(corpus, os.path.basename(f)))
    dirs = [corpus]
    if a.regressions and os.path.isdir(a.regressions) and os.listdir(a.regressions):
        dirs.append(a.regressions)

    env = dict(os.environ)
    # Sanitizers stop at the first report; libFuzzer then saves the input. Options the caller
    # set come after these, so they win.
    env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1:abort_on_error=0:" \
                          "allocator_may_return_null=0:symbolize=1:" + env.get("ASAN_OPTIONS", "")
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:" + env.get("UBSAN_OPTIONS", "")
    if a.suppressions:
        env["LSAN_OPTIONS"] = f"suppressions={a.suppressions}:print_suppressions=0"
    env.setdefault("TMPDIR", "/tmp")
    for p in ("/usr/lib/llvm-14/bin/llvm-symbolizer", shutil.which("llvm-symbolizer") or ""):
        if p and os.path.exists(p):
            env.setdefault("ASAN_SYMBOLIZER_PATH", p)
            break

    # -error_exitcode=1: libFuzzer's default, 77, is what meson reads as a skip.
    cmd = [a.harness, f"-max_total_time={a.seconds}", f"-seed={a.seed}", "-timeout=10",
           "-error_exitcode=1", "-rss_limit_mb=2048", "-print_final_stats=1",
           f"-artifact_prefix={artifacts}/", *extra, *dirs]
    print(" ".join(cmd), flush=True)
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    dt = time.monotonic() - t0
    out = p.stdout
    sys.stdout.write(out[-20000:] if p.returncode == 0 else out)
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    runs = int(m.group(1)) if m else 0
    found = sorted(os.listdir(artifacts))
    if p.returncode == 77:
        print(f"fuzz {a.name}: skipped")
        return 77
    m = re.search(r"fuzz: contained: (\d+) inputs", out)
    contained = f" ({m.group(1)} inputs crashed or hung the HDF5 reader process, contained)" \
        if m else ""
    if p.returncode == 0 and found:
        # The harness itself never failed: these inputs were saved by libFuzzer's malloc limit
        # inside a forked HDF5 reader process, whose failure the loader reported as an error.
        contained += f" ({len(found)} saved by the reader process's malloc limit, contained)"
        found = []
    print(f"fuzz {a.name}: {runs} executions in {dt:.0f} s ({runs / max(dt, 1e-9):.0f}/s), "
          f"{len(found)} crashes{contained}")
    saved = {}
    if len(dirs) > 1:
        for f in os.listdir(dirs[1]):
            with open(os.path.join(dirs[1], f), "rb") as fh:
                saved[fh.read()] = os.path.join(dirs[1], f)
    harness = os.path.abspath(a.harness)
    for f in found:
        path = os.path.join(artifacts, f)
        with open(path, "rb") as fh:
            known = saved.get(fh.read())
        what = f"the saved regression input {known} still fails" if known else "new crash input"
        print(f"  {what}: {path} (reproduce: {harness} {path})")
    if p.returncode != 0 and not found:
        print(f"  libFuzzer exited with status {p.returncode}")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
