#!/usr/bin/env python3
"""An mlpstream model reader written from docs/FORMAT.md alone, in another language, with the
standard library only: the test suite runs it to show the spec is enough to read our files.

    python3 read_model.py MODEL < inputs.json   (inputs: [[x0, x1, ...], ...])

Prints {"outputs": [[...], ...], "classes": [...] | null} computed by its own forward pass.
"""
import json
import math
import struct
import sys
from array import array


def crc32c(data, crc=0):
    table = crc32c.table
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


crc32c.table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    crc32c.table.append(c)


def read(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    meta = header["__metadata__"]
    assert meta["format"] == "mlpstream", meta.get("format")
    major = int(meta["format_version"].split(".")[0])
    assert major == 1, "unsupported major version %d" % major
    arch = json.loads(meta["architecture"])
    names = []
    fan_in = arch["inputs"]
    for i, layer in enumerate(arch["layers"]):
        names += ["layers.%d.weight" % i, "layers.%d.bias" % i]
    if "normalization.mean" in header:
        names += ["normalization.mean", "normalization.std"]
    slots = json.loads(meta["training_state"])["optimizer"]["slots"] if "training_state" in meta else 0
    names += ["optimizer.slot%d" % s for s in range(slots)]
    crc = 0
    tensors = {}
    for name in names:
        entry = header[name]
        assert entry["dtype"] == "F32"
        begin, end = entry["data_offsets"]
        raw = data[begin:end]
        crc = crc32c(raw, crc)
        values = array("f")
        values.frombytes(raw)
        if sys.byteorder == "big":
            values.byteswap()
        tensors[name] = (entry["shape"], values)
    assert "%08x" % crc == meta["data_crc32c"], "checksum mismatch"
    return arch, tensors, json.loads(meta["classes"]) if "classes" in meta else None


def activate(kind, z, slope):
    if kind == "linear":
        return z
    if kind == "relu":
        return [max(v, 0.0) for v in z]
    if kind == "leakyRelu":
        return [v if v > 0 else slope * v for v in z]
    if kind == "tanh":
        return [math.tanh(v) for v in z]
    if kind == "sigmoid":
        return [1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)) for v in z]
    if kind == "softmax":
        m = max(z)
        e = [math.exp(v - m) for v in z]
        s = sum(e)
        return [v / s for v in e]
    raise ValueError("unknown activation " + kind)


def forward(arch, tensors, x):
    if "normalization.mean" in tensors:
        mean = tensors["normalization.mean"][1]
        std = tensors["normalization.std"][1]
        x = [(v - mean[i]) / std[i] for i, v in enumerate(x)]
    for i, layer in enumerate(arch["layers"]):
        (fan_in, units), w = tensors["layers.%d.weight" % i]
        b = tensors["layers.%d.bias" % i][1]
        z = [b[j] + sum(x[p] * w[p * units + j] for p in range(fan_in)) for j in range(units)]
        x = activate(layer["activation"], z, layer.get("leakySlope", 0.01))
    return x


if __name__ == "__main__":
    arch, tensors, classes = read(sys.argv[1])
    rows = json.load(sys.stdin)
    print(json.dumps({"outputs": [forward(arch, tensors, row) for row in rows], "classes": classes}))
