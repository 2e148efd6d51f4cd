"""`gcsim eval` refuses a bad task file with one line on stderr naming the file and the line
(not JSON, not an object, missing or mistyped fields, gold out of range, no or empty choices,
invalid UTF-8, an empty context without an end-of-text token, a continuation longer than the
window), a non-zero exit status, and no output written.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_gpt2_ref as ref  # noqa: E402

GCSIM = ref.env("GCSIM")
failures = 0


def expect(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


GOOD = {"lambada": '{"text": "the gain cell leaks"}',
        "mc": '{"context": "The cell", "choices": ["leaks", "reads"], "gold": 0}'}
# (task, bad line (bytes), words the message must hold)
CASES = [
    ("lambada", b'{"text": "an unfinished', ["not a JSON object"]),
    ("lambada", b'["a list"]', ["not a JSON object"]),
    ("lambada", b'{"text": "a b"} trailing', ["not a JSON object"]),
    ("lambada", b'{"txt": "a b"}', ['no "text"']),
    ("lambada", b'{"text": 5}', ['"text" must be a string']),
    ("lambada", b'{"text": "oneword"}', ["no space"]),
    ("lambada", b'{"text": "ends with "}', ["ends with a space"]),
    ("lambada", b'{"text": " word"}', ["context is empty", "end-of-text"]),
    ("lambada", b'{"text": "caf\xc3 au lait"}', ["invalid UTF-8", "byte 14"]),
    ("lambada", b'{"text": "over \xc0\xaflong"}', ["invalid UTF-8"]),
    ("lambada", b'{"text": "surrogate \xed\xa0\x80 here"}', ["invalid UTF-8"]),
    ("mc", b'{"context": "c", "choices": ["a", "b"]}', ['no "gold"']),
    ("mc", b'{"context": "c", "choices": ["a", "b"], "gold": 2}', ['"gold" 2 is out of range']),
    ("mc", b'{"context": "c", "choices": ["a", "b"], "gold": -1}', ["out of range"]),
    ("mc", b'{"context": "c", "choices": ["a", "b"], "gold": 0.5}', ["integer"]),
    ("mc", b'{"context": "c", "choices": ["a", "b"], "gold": "0"}', ["integer"]),
    ("mc", b'{"context": "c", "choices": [], "gold": 0}', ['"choices" is empty']),
    ("mc", b'{"context": "c", "choices": ["a", ""], "gold": 0}', ["choices[1] is empty"]),
    ("mc", b'{"context": "c", "choices": ["a"], "gold": 0}', ["at least 2"]),
    ("mc", b'{"context": "c", "choices": "a b", "gold": 0}', ["array"]),
    ("mc", b'{"context": "c", "choices": ["a", 7], "gold": 0}', ["choices[1] is not a string"]),
    ("mc", b'{"choices": ["a", "b"], "gold": 0}', ['"context"', '"contexts"']),
    ("mc", b'{"context": "c", "gold": 0}', ['no "choices"']),
    ("mc", b'{"context": "c", "contexts": ["a", "b"], "continuation": "x", "gold": 0}',
     ['either']),
    ("mc", b'{"contexts": ["a", "b"], "gold": 0}', ['"continuation"']),
    ("mc", b'{"context": "  ", "choices": ["a", "b"], "gold": 0}', ["only whitespace"]),
    ("mc", b'{"context": "c", "choices": ["a", "b\xff"], "gold": 0}', ["invalid UTF-8"]),
    ("mc", b'{"context": "c", "choices": ["a", "b"], "gold": 0, "target_delimiter": 1}',
     ['"target_delimiter" must be a string']),
]

cfg, w = ref.random_model(3, 1, 2, 128, 256, 32)
with tempfile.TemporaryDirectory() as d:
    md = os.path.join(d, "model")
    ref.write_model_dir(md, cfg, w)
    out_json, out_ex = os.path.join(d, "out.json"), os.path.join(d, "ex.jsonl")

    def run(task, lines, extra=()):
        path = os.path.join(d, "task.jsonl")
        for p in (out_json, out_ex):
            if os.path.exists(p):
                os.remove(p)
        with open(path, "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        r = ref.run([GCSIM, "eval", "--task", task, "--data", path, "--model", md,
                     "--tokenizer", "bytes", "--json", out_json, "--per-example", out_ex,
                     *extra], expect_ok=False, text=False)
        return path, r.returncode, r.stderr.decode("utf-8", "replace").strip()

    for task, bad, words in CASES:
        good = GOOD[task].encode()
        path, rc, err = run(task, [good, good, b"", bad, good])  # the bad one is line 4
        one = len(err.splitlines()) == 1
        named = f"{path}:4:" in err and all(x in err for x in words)
        clean = not os.path.exists(out_json) and not os.path.exists(out_ex)
        expect(rc != 0 and one and named and clean,
               f"{bad[:60]!r}: {err if one else repr(err)}")

    # evaluation-time errors name the line too: a continuation longer than the window
    path, rc, err = run("mc", [GOOD["mc"].encode(), b'{"context": "c", "choices": '
                                b'["a", "a very long choice"], "gold": 0}'], ["--max-length", "8"])
    expect(rc != 0 and len(err.splitlines()) == 1 and f"{path}:2: choice 1" in err and
           "window" in err and not os.path.exists(out_json),
           f"continuation longer than --max-length: {err}")
    path, rc, err = run("mc", [b""])
    expect(rc != 0 and "no examples" in err and len(err.splitlines()) == 1,
           f"no examples: {err}")
    path, rc, err = run("mcq", [GOOD["mc"].encode()])
    expect(rc != 0 and "mcq" in err and len(err.splitlines()) == 1, f"unknown task: {err}")
    # and the good lines alone are accepted, with output
    path, rc, err = run("mc", [GOOD["mc"].encode()] * 3)
    expect(rc == 0 and os.path.exists(out_json) and
           json.load(open(out_json))["examples"] == 3, "good lines are accepted")
sys.exit(1 if failures else 0)
