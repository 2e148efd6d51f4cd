"""Checkpoints: Hugging Face-style safetensors + config.json, written without the
`safetensors` package (u64 little-endian header length, JSON header, raw little-endian data).

A checkpoint is a folder:
  model.safetensors   GPT-2 names, Conv1D layout (h.{i}.attn.c_attn.weight is (C, 3C) ...),
                      plus hardware tensors h.{i}.attn.hw.{q,k,v,o}_scale / _bias (n_head)
                      and h.{i}.attn.hw.target_mean / target_std (4, n_head; rows q,k,v,o)
  config.json         Hugging Face GPT-2 fields + a "gcsim" block (our configuration)
                      (hardware tensors are float32 also in a bf16 export)
  train_state.pt      optimizer state and step (only for resuming; never shipped)
Writes are atomic (temporary file in the same folder, then rename).
"""
import json
import os
import struct

import numpy as np
import torch

from model import GPT, default_config, hf_state, load_hf_state

_DT = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
       torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.uint8: "U8", torch.int8: "I8"}
_NP = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.int16,
       "I64": np.int64, "I32": np.int32, "I16": np.int16, "U8": np.uint8, "I8": np.int8}


def _atomic_write(path, write):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_safetensors(path, tensors, metadata=None):
    """tensors: name → torch tensor (any of the dtypes above). Names sorted, data packed."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        dt = _DT[t.dtype]
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().astype(
            np.dtype(_NP[dt]).newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)

    def write(f):
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    _atomic_write(path, write)


def load_safetensors(path):
    """→ (dict name → torch tensor, metadata dict). Raises ValueError naming the file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: truncated safetensors file" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("%s: header length %d beyond end of file" % (path, n))
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as e:
        raise ValueError("%s: bad JSON header (%s)" % (path, e))
    meta = header.pop("__metadata__", {})
    base, out = 8 + n, {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        if base + e > len(data) or b > e:
            raise ValueError("%s: tensor %s lies outside the file" % (path, name))
        arr = np.frombuffer(data[base + b:base + e], dtype=np.dtype(_NP[h["dtype"]]).newbyteorder("<"))
        t = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="), copy=True)).reshape(h["shape"])
        if h["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        out[name] = t
    return out, meta


def hf_config(cfg):
    """config.json contents: Hugging Face GPT-2 fields plus our block."""
    return {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
        "vocab_size": cfg["vocab_size"], "n_positions": cfg["n_ctx"], "n_ctx": cfg["n_ctx"],
        "n_embd": cfg["n_embd"], "n_layer": cfg["n_layer"], "n_head": cfg["n_head"],
        "n_inner": None, "layer_norm_epsilon": cfg["ln_eps"],
        "activation_function": "gelu_new" if cfg["gelu"] == "tanh" else "gelu",
        "tie_word_embeddings": True, "bos_token_id": 0, "eos_token_id": 0,
        "gcsim": dict(tokenizer=tokenizer_of(cfg),
                      **{k: v for k, v in cfg.items() if k not in ("checkpoint_attn", "tokenizer")}),
    }


def tokenizer_of(cfg):
    """The tokenizer a model reads (gcsim runs it without --tokenizer): train/data.py makes
    exactly two kinds of data, bytes (vocabulary 256) and GPT-2 BPE (50257)."""
    return cfg.get("tokenizer") or ("bytes" if cfg["vocab_size"] == 256 else "gpt2")


def portable_path(path):
    """A path as recorded in loss curves and checkpoints: relative paths as given, absolute
    ones relative to the working directory when inside it, else only their last component,
    so that shipped files name no machine's folders."""
    if path is None or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else os.path.basename(os.path.normpath(path))


def save_checkpoint(folder, model, dtype=torch.float32, extra_meta=None):
    os.makedirs(folder, exist_ok=True)
    # hardware tensors (scalers, target statistics) stay at least float32 (bf16 would round
    # the scalers to 3 digits); a float64 checkpoint keeps everything float64 (the C loader
    # reads F32, F16 and BF16 only: use float32 or bf16 for gcsim)
    hw_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    tensors = {n: (t.to(hw_dtype if ".hw." in n else dtype) if t.is_floating_point() else t)
               for n, t in hf_state(model).items()}
    meta = {"format": "pt", "gcsim_attention": model.cfg["attention"]}
    meta.update(extra_meta or {})
    save_safetensors(os.path.join(folder, "model.safetensors"), tensors, meta)
    js = json.dumps(hf_config(model.cfg), indent=2).encode() + b"\n"
    _atomic_write(os.path.join(folder, "config.json"), lambda f: f.write(js))


def read_config(folder):
    with open(os.path.join(folder, "config.json")) as f:
        j = json.load(f)
    # the architecture from Hugging Face's fields, how to run it from our block (whose C
    # writer, gcsim adapt, names two keys its own way)
    g = dict(vocab_size=j["vocab_size"], n_ctx=j["n_positions"], n_layer=j["n_layer"],
             n_head=j["n_head"], n_embd=j["n_embd"],
             gelu="erf" if j.get("activation_function") == "gelu" else "tanh",
             ln_eps=j.get("layer_norm_epsilon", 1e-5))
    alias = {"cell_file": "cell_h5", "token_period_s": "seconds_per_token"}
    g.update({alias.get(k, k): v for k, v in j.get("gcsim", {}).items()})
    return default_config(**g)


def load_checkpoint(folder, dtype=torch.float32, **override):
    """Build the model a checkpoint describes (with `override` applied to its config,
    e.g. attention="paper-cubic") and load its tensors."""
    cfg = read_config(folder)
    cfg.update(override)
    cfg = default_config(**cfg)
    model = GPT(cfg).to(dtype)
    tensors, _ = load_safetensors(os.path.join(folder, "model.safetensors"))
    load_hf_state(model, tensors)
    return model
