"""Training data: the shared corpus (../shared/data/corpus/*.xz, never the evaluation sets)
cut into token shards, plus a held-out validation slice.

Tokenisations
  bytes  vocab 256: each UTF-8 byte is its own token. The separator line `<|endoftext|>`
         becomes token 0 (NUL), the document boundary; NUL bytes inside documents (none in
         this corpus) are dropped so that 0 means only "boundary". The boundary token is
         emitted *before* each document, so a model always sees 0 then the document.
  gpt2   GPT-2 BPE ids from the C tool (`gcsim tokenize FILE --tokenizer gpt2 --out ids.npy`);
         the separator becomes id 50256 (<|endoftext|>); ids stored as uint16.
Split: document n of each source file goes to validation when n % VAL_EVERY == VAL_EVERY // 2,
else to training; deterministic, so every machine builds the same split.
Output folder: train_NNN.bin / val_NNN.bin (raw uint8 or uint16, each ≤ 64 MiB) and
meta.json (tokenizer, dtype, vocab size, boundary token, token counts, source SHA-256s).

Usage:  python3 train/data.py build --corpus DIR --out DIR [--tokenizer bytes|gpt2]
                                    [--files a.txt.xz,b.txt.xz] [--max-mb N]
"""
import argparse
import glob
import hashlib
import json
import lzma
import os
import subprocess
import sys
import tempfile

import numpy as np

SEP = b"<|endoftext|>"
BOUNDARY_BYTE = 0
GPT2_EOT = 50256
VAL_EVERY = 100
SHARD_BYTES = 64 * 1024 * 1024


def iter_documents(path, max_bytes=None):
    """Yield the documents (bytes, without separator lines) of one .xz or plain file."""
    opener = lzma.open if path.endswith(".xz") else open
    doc, total = [], 0
    with opener(path, "rb") as f:
        for line in f:
            if line.rstrip(b"\r\n") == SEP:
                if doc:
                    yield b"".join(doc)
                doc = []
                continue
            doc.append(line)
            total += len(line)
            if max_bytes is not None and total >= max_bytes:
                break
    if doc:
        yield b"".join(doc)


class ShardWriter:
    """Appends token arrays to NAME_000.bin, NAME_001.bin ... each at most SHARD_BYTES."""

    def __init__(self, folder, name, dtype, shard_bytes=SHARD_BYTES):
        self.folder, self.name, self.dtype = folder, name, np.dtype(dtype)
        self.cap = shard_bytes // self.dtype.itemsize
        self.index, self.n_in_shard, self.total, self.f = 0, 0, 0, None
        self.files = []

    def _open(self):
        path = os.path.join(self.folder, "%s_%03d.bin" % (self.name, self.index))
        self.files.append(os.path.basename(path))
        self.f = open(path + ".tmp", "wb")

    def _close(self):
        if self.f:
            self.f.close()
            os.replace(self.f.name, self.f.name[:-4])
            self.f = None

    def write(self, arr):
        arr = np.asarray(arr, dtype=self.dtype)
        while arr.size:
            if self.f is None:
                self._open()
            n = min(arr.size, self.cap - self.n_in_shard)
            self.f.write(arr[:n].tobytes())
            arr, self.n_in_shard, self.total = arr[n:], self.n_in_shard + n, self.total + n
            if self.n_in_shard == self.cap:
                self._close()
                self.index, self.n_in_shard = self.index + 1, 0

    def close(self):
        self._close()


def byte_tokens(doc):
    """bytes of one document → uint8 tokens with the boundary token first."""
    a = np.frombuffer(doc, dtype=np.uint8)
    a = a[a != BOUNDARY_BYTE]
    return np.concatenate([np.array([BOUNDARY_BYTE], np.uint8), a])


def gpt2_tokens(doc, gcsim):
    """GPT-2 ids of one document via the C tool, with <|endoftext|> first."""
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "doc.txt"), os.path.join(d, "ids.npy")
        with open(src, "wb") as f:
            f.write(doc)
        r = subprocess.run([gcsim, "tokenize", src, "--tokenizer", "gpt2", "--out", out],
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("gcsim tokenize failed: " + r.stderr.strip())
        ids = np.load(out).astype(np.int64).ravel()
    return np.concatenate([[GPT2_EOT], ids]).astype(np.uint16)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def build(corpus, out, tokenizer="bytes", files=None, max_mb=None, gcsim=None,
          shard_bytes=SHARD_BYTES):
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(corpus, f) for f in files] if files else sorted(
        glob.glob(os.path.join(corpus, "*.xz")))
    dtype = np.uint8 if tokenizer == "bytes" else np.uint16
    tr = ShardWriter(out, "train", dtype, shard_bytes)
    va = ShardWriter(out, "val", dtype, shard_bytes)
    sources = {}
    for p in paths:
        ndoc = 0
        max_bytes = int(max_mb * 1e6) if max_mb else None
        for n, doc in enumerate(iter_documents(p, max_bytes)):
            toks = byte_tokens(doc) if tokenizer == "bytes" else gpt2_tokens(doc, gcsim)
            (va if n % VAL_EVERY == VAL_EVERY // 2 else tr).write(toks)
            ndoc += 1
        sources[os.path.basename(p)] = {"sha256_compressed": sha256_file(p), "documents": ndoc}
        print("data: %s: %d documents" % (os.path.basename(p), ndoc), file=sys.stderr)
    tr.close()
    va.close()
    meta = {"tokenizer": tokenizer, "dtype": np.dtype(dtype).name,
            "vocab_size": 256 if tokenizer == "bytes" else 50257,
            "boundary_token": BOUNDARY_BYTE if tokenizer == "bytes" else GPT2_EOT,
            "train_tokens": tr.total, "val_tokens": va.total,
            "train_files": tr.files, "val_files": va.files,
            "val_rule": "document n of each file with n %% %d == %d" % (VAL_EVERY, VAL_EVERY // 2),
            "max_mb_per_file": max_mb, "sources": sources}
    with open(os.path.join(out, "meta.json.tmp"), "w") as f:
        json.dump(meta, f, indent=2)
    os.replace(os.path.join(out, "meta.json.tmp"), os.path.join(out, "meta.json"))
    return meta


class Shards:
    """Random windows of T+1 tokens from memory-mapped shards of one split."""

    def __init__(self, folder, split):
        with open(os.path.join(folder, "meta.json")) as f:
            self.meta = json.load(f)
        dt = np.dtype(self.meta["dtype"])
        self.arrays = [np.memmap(os.path.join(folder, n), dtype=dt, mode="r")
                       for n in self.meta[split + "_files"]]
        self.sizes = np.array([a.size for a in self.arrays], dtype=np.float64)
        if self.sizes.sum() == 0:
            raise ValueError("%s: split %s is empty" % (folder, split))

    def batch(self, B, T, rng):
        """→ int64 arrays x, y of shape (B,T) (y is x shifted by one)."""
        out = np.empty((B, T + 1), dtype=np.int64)
        which = rng.choice(len(self.arrays), size=B, p=self.sizes / self.sizes.sum())
        for b, w in enumerate(which):
            a = self.arrays[w]
            s = rng.integers(0, a.size - T - 1)
            out[b] = a[s:s + T + 1]
        return out[:, :-1], out[:, 1:]

    def sequential(self, T, max_tokens=None):
        """Non-overlapping (T+1)-windows (stride T) over the split, for evaluation."""
        left = max_tokens
        for a in self.arrays:
            for s in range(0, a.size - T - 1, T):
                if left is not None and left <= 0:
                    return
                w = np.asarray(a[s:s + T + 1], dtype=np.int64)
                yield w[:-1], w[1:]
                if left is not None:
                    left -= T


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--corpus", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--tokenizer", default="bytes", choices=["bytes", "gpt2"])
    b.add_argument("--files", default=None, help="comma-separated file names inside --corpus")
    b.add_argument("--max-mb", type=float, default=None, help="read at most this many MB per file")
    b.add_argument("--gcsim", default=os.environ.get("GCSIM", "build/gcsim"))
    a = ap.parse_args()
    files = a.files.split(",") if a.files else None
    meta = build(a.corpus, a.out, a.tokenizer, files, a.max_mb, a.gcsim)
    print(json.dumps({k: meta[k] for k in ("tokenizer", "train_tokens", "val_tokens")}))


if __name__ == "__main__":
    main()
