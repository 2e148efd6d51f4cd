"""`gcsim tokenize` (GPT-2 BPE) gives the same ids as OpenAI's encoder.py algorithm.

The reference below re-implements encoder.py (bytes_to_unicode, get_pairs, bpe by merge rank,
the pre-tokeniser pattern through the `regex` module, the reference's own dependency). It is
compared with the C tokenizer on hand-made texts (contractions, whitespace runs, digits,
accents, CJK, emoji, control characters, every Unicode space) and on WikiText-2 test, whose
token count must be equal; decode(encode(x)) == x is checked by `gcsim tokenize --check`.
Also: invalid UTF-8 is refused with a message naming the byte offset, and the byte tokenizer
gives one id per byte.
"""
import json
import os
import subprocess
import sys
import tempfile
from functools import lru_cache

import numpy as np
import regex as re

GCSIM = os.environ.get("GCSIM", "")
DATA = os.environ.get("GCSIM_DATA", "")
BPE = os.path.join(DATA, "gpt2-bpe")


# ------------------------------------------------------------------------------------------
# encoder.py, re-implemented

def bytes_to_unicode():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def get_pairs(word):
    return {(a, b) for a, b in zip(word, word[1:])}


class Encoder:
    def __init__(self, folder):
        with open(os.path.join(folder, "encoder.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(folder, "vocab.bpe"), encoding="utf-8") as f:
            merges = f.read().split("\n")[1:-1]
        self.ranks = {tuple(m.split()): i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    @lru_cache(maxsize=None)
    def bpe(self, token):
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return token
        while True:
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        return " ".join(word)

    def encode(self, text):
        ids = []
        for tok in re.findall(self.pat, text):
            tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(tok).split(" "))
        return ids


# ------------------------------------------------------------------------------------------

def c_tokenize(path, tokenizer="gpt2", check=True):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "ids.npy")
        cmd = [GCSIM, "tokenize", path, "--tokenizer", tokenizer, "--bpe-dir", BPE, "--out", out]
        if check:
            cmd.append("--check")
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return None, r
        return np.load(out).tolist(), r


failures = 0


def expect(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


def main():
    global failures
    enc = Encoder(BPE)
    spaces = "".join(chr(c) for c in [9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x1680, 0x2000, 0x2001,
                                      0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
    samples = {
        "contractions": "I'm sure you'll see they've done it; she'd say it's theirs. DON'T 'S 'Ll",
        "whitespace": "a  b   c\t\td\n\n\ne \n \n  f    \n\n   ",
        "digits": "In 1984, 3.14159 and 1,000,000 (or ٣٤٥ and ²³) were 12345678901234567890.",
        "accents": "Café naïve résumé Zürich Ångström façade São Paulo ñandú Œuvre",
        "cjk": "日本語のテキストと中文文本，한국어 텍스트。",
        "emoji": "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and ✨sparkles✨",
        "controls": "nul\x00bel\x07esc\x1b[0m del\x7f c1\x80\x9f <|endoftext|> end",
        "unicode spaces": "x" + spaces + "y" + spaces.replace("\n", "") + "z " + spaces,
        "mixed": "Hello,World!!! ...   --- ¿Qué? «quotes» “curly” 'single' x=y+z*2 #tag @user",
        "empty": "",
    }
    with tempfile.TemporaryDirectory() as d:
        for name, text in samples.items():
            p = os.path.join(d, "s.txt")
            with open(p, "wb") as f:
                f.write(text.encode("utf-8"))
            got, r = c_tokenize(p)
            want = enc.encode(text)
            expect(got == want, f"{name}: {len(want)} tokens" + ("" if got == want else
                                                                  f"\n  C   {got}\n  ref {want}"))

        # every code point class at once: one character of each of 2000 spaced code points
        chars = "".join(chr(c) for c in range(32, 0x30000, 97) if not 0xD800 <= c <= 0xDFFF)
        text = " ".join(chars[i:i + 7] for i in range(0, len(chars), 7))
        p = os.path.join(d, "u.txt")
        with open(p, "wb") as f:
            f.write(text.encode("utf-8"))
        got, r = c_tokenize(p)
        want = enc.encode(text)
        expect(got == want, f"sampled code points: {len(want)} tokens")

        # invalid UTF-8 is refused with the offset
        with open(p, "wb") as f:
            f.write(b"valid text \xff\xfe then")
        got, r = c_tokenize(p, check=False)
        expect(got is None and "byte 11" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
               f"invalid UTF-8 refused: {r.stderr.strip()}")

        # byte tokenizer
        raw = bytes(range(256)) + b"\xff\xfe abc"
        with open(p, "wb") as f:
            f.write(raw)
        got, r = c_tokenize(p, "bytes")
        expect(got == list(raw), "bytes tokenizer: one id per byte, round trip")

    wiki = os.path.join(DATA, "text", "wikitext2_wiki.test.raw")
    with open(wiki, "rb") as f:
        text = f.read().decode("utf-8")
    want = enc.encode(text)
    got, r = c_tokenize(wiki)
    expect(got is not None and len(got) == len(want),
           f"wikitext2 test: C {len(got) if got else None} tokens, reference {len(want)}")
    expect(got == want, "wikitext2 test: identical ids")
    expect(got is not None and "round trip" in r.stdout, "wikitext2 test: decode(encode(x)) == x")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
