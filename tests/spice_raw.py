"""Reads ngspice raw files (binary or ASCII, real data) into {vector name: numpy array}.

An independent reader for the tests: it shares no code with gcsim's driver."""
import numpy as np


def read_raw(path):
    with open(path, "rb") as f:
        data = f.read()
    header = {}
    names = []
    pos = 0
    while True:
        end = data.index(b"\n", pos)
        line = data[pos:end].decode("latin-1")
        pos = end + 1
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "variables":
            n = int(header["no. variables"])
            for _ in range(n):
                end = data.index(b"\n", pos)
                fields = data[pos:end].decode("latin-1").split()
                pos = end + 1
                names.append(fields[1].lower())
            continue
        if key in ("binary", "values"):
            break
        header[key] = value.strip()
    n_vars = int(header["no. variables"])
    n_points = int(header["no. points"])
    if "complex" in header.get("flags", ""):
        raise ValueError(f"{path}: complex data not supported")
    if key == "binary":
        values = np.frombuffer(data, dtype="<f8", count=n_vars * n_points, offset=pos)
    else:
        tokens = data[pos:].decode("latin-1").split()
        # each point: index, then n_vars values
        values = np.array([float(t) for i, t in enumerate(tokens) if i % (n_vars + 1) != 0])
    values = values.reshape(n_points, n_vars)
    return {name: values[:, i].copy() for i, name in enumerate(names)}
