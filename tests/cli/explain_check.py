"""Checks what `cmt explain` wrote (tests/cli/explain.sh): explain.json parses and lists every input
with its files; each PNG decodes (signature, chunk CRCs, inflated size); each map file holds the
image and maps of the right shapes, in [0, 1], with the maximum where explain.json says.
Usage: explain_check.py OUT_DIR RUNS SIZE (RUNS: 1 or 2; SIZE: D,H,W)."""
import json
import os
import struct
import sys
import zlib

import h5py
import numpy as np

out, runs, size = sys.argv[1], int(sys.argv[2]), tuple(int(v) for v in sys.argv[3].split(","))


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def png_size(path):
    """Width, height and channels of an 8-bit PNG, after checking every chunk and the pixel data."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            fail(f"{path}: bad CRC in {kind}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header
    channels = {0: 1, 2: 3}[colour]
    if depth != 8 or len(zlib.decompress(idat)) != height * (1 + width * channels):
        fail(f"{path}: pixel data does not match {width}x{height}x{channels}")
    return width, height, channels


report = json.load(open(os.path.join(out, "explain.json")))
if len(report["runs"]) != runs:
    fail(f"explain.json lists {len(report['runs'])} runs, want {runs}")
for entry in report["inputs"]:
    if "error" in entry:
        continue
    files = entry["files"]
    if len(entry["results"]) != runs:
        fail(f"{entry['source']}: {len(entry['results'])} results")
    w, h, c = png_size(os.path.join(out, files["overview"]))
    if c != 3 or w < size[2] * (1 + runs) or h < size[1]:
        fail(f"{files['overview']}: {w}x{h}x{c} is too small for {1 + runs} panels")
    if size[0] > 1:
        png_size(os.path.join(out, files["montage"]))
    elif "montage" in files:
        fail("an X-ray got a montage")
    with h5py.File(os.path.join(out, files["maps"]), "r") as f:
        if f["image"].shape != size:
            fail(f"{files['maps']}: image {f['image'].shape}, want {size}")
        for k, result in enumerate(entry["results"]):
            suffix = "" if k == 0 else "_compare"
            m = f["map" + suffix][...]
            if m.shape != size or m.min() < 0 or m.max() > 1:
                fail(f"{files['maps']}: map{suffix} {m.shape} in [{m.min()}, {m.max()}]")
            peak = np.unravel_index(int(np.argmax(m)), size)
            if list(peak) != [result["peak"][a] for a in ("z", "y", "x")]:
                fail(f"{entry['source']}: the map's maximum is at {peak}, explain.json says {result['peak']}")
            if f["cam" + suffix].shape != tuple(result["feature_size"]):
                fail(f"{files['maps']}: cam{suffix} {f['cam' + suffix].shape} against feature_size {result['feature_size']}")
            if f.attrs["class" + suffix] != result["class"]:
                fail(f"{files['maps']}: class attribute {f.attrs['class' + suffix]} against {result['class']}")
            if abs(sum(result["probabilities"].values()) - 1) > 1e-4:
                fail(f"{entry['source']}: probabilities do not sum to 1")
print(f"ok: {len(report['inputs'])} inputs in {out}")
