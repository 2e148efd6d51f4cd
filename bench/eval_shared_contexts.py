"""Benchmark: multiple-choice evaluation with shared contexts against each choice evaluating its
context again (gcsim eval against gcsim eval --no-share), in the same run.

Shared: a context is prefilled once into the streaming state, snapshotted, and each choice
continues from it by streaming decode. Alone (--no-share): every choice is one parallel pass
over context + choice, as lm-evaluation-harness runs every request. Rounds alternate the
order of the two; the engine's own wall time (JSON "seconds", model loading excluded) is
taken, and the ratio of the medians printed. Two task shapes from the shared data:
  arc-easy   ARC-Easy test, "Question: ...\\nAnswer:" contexts (about 90 bytes), 4 choices of
             about 25 bytes (the harness's arc_easy prompt)
  lambada-mc LAMBADA passages as contexts (about 330 bytes) with 4 one-word endings (its
             own last word and those of the next three passages): HellaSwag's shape
on the shipped byte-level models. The results of the two modes agree (accuracies equal).

usage: eval_shared_contexts.py --gcsim build/harness/gcsim [--items 100] [--rounds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def arc_easy(data, n):
    items = []
    with open(os.path.join(data, "tasks", "arc", "ARC-Easy-Test.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            ch = d["question"]["choices"]
            labels = [c["label"] for c in ch]
            items.append({"context": "Question: " + d["question"]["stem"] + "\nAnswer:",
                          "choices": [c["text"] for c in ch],
                          "gold": labels.index(d["answerKey"])})
            if len(items) == n:
                break
    return items


def lambada_mc(data, n):
    with open(os.path.join(data, "text", "lambada_test.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for _, line in zip(range(n + 3), f)]
    items = []
    for i in range(n):
        words = [texts[i + k].split(" ")[-1] for k in range(4)]
        items.append({"context": " ".join(texts[i].split(" ")[:-1]),
                      "choices": words[i % 4:] + words[:i % 4], "gold": (4 - i % 4) % 4})
    return items


def run(gcsim, model, task, share, out):
    cmd = [gcsim, "eval", "--task", "mc", "--data", task, "--model", model, "--json", out]
    subprocess.run(cmd + ([] if share else ["--no-share"]), check=True,
                   stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gcsim", required=True)
    ap.add_argument("--data", default=os.environ.get("GCSIM_DATA",
                                                     os.path.join(ROOT, "..", "shared", "data")))
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(f"gcsim eval --task mc, shared contexts vs --no-share; {a.rounds} interleaved rounds, "
          f"median engine seconds; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}")
    print(f"{'model':<14} {'task':<11} {'items':>5} {'requests':>8} {'contexts':>9} "
          f"{'shared s':>9} {'alone s':>8} {'ratio':>6}  acc (shared, alone)")
    ok = True
    with tempfile.TemporaryDirectory() as d:
        for name, make in (("arc-easy", arc_easy), ("lambada-mc", lambada_mc)):
            task = os.path.join(d, name + ".jsonl")
            with open(task, "w", encoding="utf-8") as f:
                f.write("".join(json.dumps(x) + "\n" for x in make(a.data, a.items)))
            for variant in ("softmax", "paper-cubic"):
                model = os.path.join(ROOT, "data", "models", "bytes-5x256-" + variant)
                times = {True: [], False: []}
                res = {}
                for r in range(a.rounds):
                    for share in ((True, False) if r % 2 == 0 else (False, True)):
                        res[share] = run(a.gcsim, model, task, share, os.path.join(d, "o.json"))
                        times[share].append(res[share]["seconds"])
                ts, ta = statistics.median(times[True]), statistics.median(times[False])
                same = res[True]["acc"] == res[False]["acc"]
                ok &= same
                print(f"{variant:<14} {name:<11} {res[True]['examples']:>5} "
                      f"{res[True]['requests']:>8} {res[True]['contexts_evaluated']:>4}/"
                      f"{res[False]['contexts_evaluated']:<4} {ts:>9.2f} {ta:>8.2f} "
                      f"{ta / ts:>6.2f}  {res[True]['acc']:.3f} {res[False]['acc']:.3f}"
                      + ("" if same else "  DIFFER"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
