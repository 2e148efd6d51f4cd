#!/usr/bin/env python3
"""Converts ARC, HellaSwag, PIQA and WinoGrande into the multiple-choice JSONL of `gcsim eval
--task mc`, with lm-evaluation-harness's prompts (arc_easy/arc_challenge, hellaswag, piqa,
winogrande). Standard library only; writes to stdout.

usage: tasks-to-jsonl.py arc FILE               AI2's ARC-*.jsonl (question.stem) or HF rows
       tasks-to-jsonl.py hellaswag FILE         hellaswag_*.jsonl or HF rows (label required)
       tasks-to-jsonl.py piqa FILE LABELS       valid.jsonl and valid-labels.lst
       tasks-to-jsonl.py winogrande FILE        dev.jsonl / HF rows (answer "1" or "2")
"""
import json
import re
import sys


def arc(d):
    q = d["question"]
    stem, ch = (q["stem"], q["choices"]) if isinstance(q, dict) else (q, d["choices"])
    if isinstance(ch, dict):  # HF: {"text": [...], "label": [...]}
        texts, labels = ch["text"], ch["label"]
    else:  # AI2: [{"text", "label"}, ...]
        texts, labels = [c["text"] for c in ch], [c["label"] for c in ch]
    return {"context": "Question: " + stem + "\nAnswer:", "choices": texts,
            "gold": labels.index(d["answerKey"])}


def hellaswag_pre(text):
    text = text.strip().replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def hellaswag(d):
    ctx = d["ctx_a"] + " " + d["ctx_b"].capitalize()  # str.capitalize: the rest lower-cased
    return {"context": hellaswag_pre(d["activity_label"] + ": " + ctx),
            "choices": [hellaswag_pre(e) for e in d["endings"]], "gold": int(d["label"])}


def piqa(d, label):
    return {"context": "Question: " + d["goal"] + "\nAnswer:", "choices": [d["sol1"], d["sol2"]],
            "gold": int(label)}


def winogrande(d):
    i = d["sentence"].index("_")
    return {"contexts": [d["sentence"][:i] + d["option1"], d["sentence"][:i] + d["option2"]],
            "continuation": d["sentence"][i + 1:].strip(), "gold": int(d["answer"]) - 1}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("arc", "hellaswag", "piqa", "winogrande"):
        sys.exit(__doc__)
    kind, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if kind == "piqa":
        with open(sys.argv[3], encoding="utf-8") as f:
            labels = [line.strip() for line in f if line.strip()]
        items = [piqa(d, lab) for d, lab in zip(rows, labels, strict=True)]
    else:
        items = [{"arc": arc, "hellaswag": hellaswag, "winogrande": winogrande}[kind](d)
                 for d in rows]
    for it in items:
        print(json.dumps(it, ensure_ascii=False))


if __name__ == "__main__":
    main()
