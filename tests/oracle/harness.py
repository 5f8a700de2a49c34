"""Runs one cmt op through cmt_op_runner on tensors made here and compares with PyTorch.

Each oracle test script imports this module: `run_op(name, inputs, **args)` returns the op's
outputs as torch tensors; `assert_close` reports the worst element on failure. Inputs are fresh
random values each run; the seed is printed so a failure can be replayed (CMT_TEST_SEED)."""

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

_DTYPES = {torch.float32: "f32", torch.bfloat16: "bf16", torch.float16: "f16", torch.uint8: "u8",
           torch.int16: "i16", torch.int32: "i32", torch.int64: "i64"}
_TORCH = {v: k for k, v in _DTYPES.items()}

_args = None


def setup():
    """Parses --runner/--cmt, seeds torch, and returns the seed."""
    global _args
    parser = argparse.ArgumentParser()
    parser.add_argument("--runner", required=True)
    parser.add_argument("--cmt", required=False)
    parser.add_argument("--device", default="cpu")
    _args = parser.parse_args()
    seed = int(os.environ.get("CMT_TEST_SEED", time.time_ns() % (2**31)))
    torch.manual_seed(seed)
    print(f"seed {seed} (replay with CMT_TEST_SEED={seed})")
    return seed


def cmt_binary():
    return _args.cmt


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def bench_compare(*names):
    """The PyTorch-side scripts of bench/compare (train_step, train_table, memory_table), imported."""
    path = os.path.join(ROOT, "bench", "compare")
    if path not in sys.path:
        sys.path.insert(0, path)
    return tuple(importlib.import_module(n) for n in names)


def torch_device():
    """The device for those scripts' --device: cpu, or cuda when the tests run cmt on a GPU."""
    return "cpu" if _args.device == "cpu" else "cuda"


def device():
    """The --device the script was given (cpu in CI, cuda:0 in tests/gpu/run.sh)."""
    return _args.device


def run_op(name, inputs, device=None, **args):
    with tempfile.TemporaryDirectory(prefix="cmt-oracle-") as tmp:
        spec = {"device": device or _args.device, "args": args, "inputs": {}}
        for key, t in inputs.items():
            t = t.detach().contiguous().cpu()
            fname = f"{key}.bin"
            raw = t.view(torch.int16) if t.dtype in (torch.bfloat16, torch.float16) else t
            raw.numpy().tofile(os.path.join(tmp, fname))
            spec["inputs"][key] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "file": fname}
        with open(os.path.join(tmp, "spec.json"), "w") as f:
            json.dump(spec, f)
        proc = subprocess.run([_args.runner, name, tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"cmt_op_runner {name} failed ({proc.returncode}): {proc.stderr.strip()}")
        with open(os.path.join(tmp, "outputs.json")) as f:
            outs = json.load(f)
        result = {}
        for key, o in outs.items():
            dtype = _TORCH[o["dtype"]]
            raw_dtype = torch.int16 if dtype in (torch.bfloat16, torch.float16) else dtype
            data = torch.from_file(os.path.join(tmp, o["file"]), size=max(1, _numel(o["shape"])), dtype=raw_dtype)
            data = data[: _numel(o["shape"])].clone()
            if raw_dtype != dtype:
                data = data.view(dtype)
            result[key] = data.reshape(o["shape"])
        return result


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


_failures = []


def assert_close(got, want, atol, rtol, what):
    """Checks every element: |got - want| <= atol + rtol * |want|. Records, prints, continues."""
    got = got.double().reshape(-1)
    want = want.double().reshape(-1)
    if got.shape != want.shape:
        _failures.append(f"{what}: shape {tuple(got.shape)} != {tuple(want.shape)}")
        print("FAIL", _failures[-1])
        return
    diff = (got - want).abs()
    bad = ~(diff <= atol + rtol * want.abs())
    if bad.any():
        i = int(bad.nonzero()[0])
        _failures.append(f"{what}: {int(bad.sum())}/{got.numel()} elements off (atol {atol}, rtol {rtol}); "
                         f"first at {i}: got {got[i].item():.8g} want {want[i].item():.8g}; max abs {diff.max().item():.3g}")
        print("FAIL", _failures[-1])
    else:
        print(f"ok   {what}: {got.numel()} elements, max abs diff {diff.max().item() if diff.numel() else 0:.3g}")


def expect_error(fn, fragment, what):
    """The call must fail with a message containing `fragment`."""
    try:
        fn()
    except RuntimeError as e:
        if fragment in str(e):
            print(f"ok   {what}: error names '{fragment}'")
            return
        _failures.append(f"{what}: error without '{fragment}': {e}")
    else:
        _failures.append(f"{what}: no error")
    print("FAIL", _failures[-1])


def check(cond, what):
    """Records a named yes/no check."""
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        _failures.append(what)


def cmt(*args, expect=0, env=None):
    """Runs the cmt command (single-threaded OpenMP, so runs are reproducible); checks its exit code."""
    full_env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    proc = subprocess.run([_args.cmt, *map(str, args)], capture_output=True, text=True, env=full_env)
    if expect is not None and proc.returncode != expect:
        raise SystemExit(f"cmt {' '.join(map(str, args))} exited {proc.returncode} (want {expect}):\n{proc.stderr[-3000:]}")
    return proc


def finish():
    if _failures:
        print(f"{len(_failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
