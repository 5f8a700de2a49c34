"""`cmt bench memory` and train_step.py --max-batch (the largest batch that fits, docs/performance.md) on tiny 2D and
3D configs under a small limit: the answer B fits and B + 1 does not when probed on their own, a larger
limit (given through CMT_MEMORY_LIMIT) gives a larger answer, --max-batch caps it, every probe gives its
memory back, both sides search the same way, the table's ratio, and clear errors for bad options."""
import contextlib
import io
import json
import os
import tempfile
import types

import harness

harness.setup()
DEVICE = harness.device()  # cpu in CI; tests/gpu/run.sh passes cuda:0
TORCH_DEVICE = harness.torch_device()
memory_table, train_step = harness.bench_compare("memory_table", "train_step")
tmp = tempfile.mkdtemp(prefix="cmt-bench-memory-")
NET = ["--backbone", "resnet50", "--width", "0.125", "--depth", "0.34", "--latent-dim", 64, "--size", 16]


def memory(dims, *args, env=None, name="bench_memory"):
    """One `cmt bench memory` run on the tiny network; its single result."""
    harness.cmt("bench", "memory", *NET, "--dims", dims, "--device", DEVICE, "--out", tmp, "--name", name, *args, env=env)
    with open(os.path.join(tmp, name + ".json")) as f:
        doc = json.load(f)
    harness.check(len(doc["runs"]) == 1 and not doc.get("failures"), f"{name}: one run, no failures")
    return doc, doc["runs"][0]


def in_process(main, argv):
    """A script's main() here (no second torch import): its exit code and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse's usage errors
            rc = e.code
    return types.SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())


def probe(dims, batch, limit):
    return memory(dims, "--probe", batch, "--limit", limit, name=f"probe{dims}d")[1]


for dims in (2, 3):
    # Calibration without a tight limit: the peaks at 4 and 12 samples are the two limits below.
    peak4, peak12 = (probe(dims, b, "8G")["peak_bytes"] for b in (4, 12))
    harness.check(0 < peak4 < peak12, f"{dims}D: more samples, more memory ({peak4} < {peak12} bytes)")

    doc, r = memory(dims, "--limit", peak4, name=f"search{dims}d")
    b = r["max_batch"]
    harness.check(doc["limit_bytes"] == peak4 and doc["limit_source"] == "--limit", f"{dims}D: limit {peak4} bytes from --limit")
    harness.check(4 <= b < 12 and r["max_views"] == 2 * b and not r["capped"], f"{dims}D: largest batch {b} under the batch-4 peak")
    probes = {p["batch"]: p for p in r["probes"]}
    harness.check(probes[b]["fits"] and not probes[b + 1]["fits"] and r["peak_bytes"] == probes[b]["peak_bytes"] <= peak4,
                  f"{dims}D: the search itself saw {b} fit ({r['peak_bytes']} bytes) and {b + 1} fail")
    harness.check(all(p["peak_bytes"] <= peak4 for p in r["probes"] if p["fits"]), f"{dims}D: every probe that fit stayed within the limit")
    harness.check(all(p["bytes_in_use_before"] == p["bytes_in_use_after"] for p in r["probes"]),
                  f"{dims}D: every probe gave all its memory back ({len(r['probes'])} probes)")
    harness.check(all("out of memory" in p["error"] and f"limit of {peak4 >> 20} MiB ({peak4} bytes)" in p["error"]
                      for p in r["probes"] if not p["fits"]), f"{dims}D: failed probes say out of memory and name the limit")
    # The same search on PyTorch's side probes the same batches, given the same answers.
    seen = []
    harness.check(train_step.largest_batch(1024, lambda n: seen.append(n) or probes[n]["fits"]) == b
                  and seen == [p["batch"] for p in r["probes"]], f"{dims}D: train_step.py searches the same way ({seen})")

    # B and B + 1 on their own: the first fits, the second runs out of memory.
    fit, over = probe(dims, b, peak4), probe(dims, b + 1, peak4)
    harness.check(fit["fits"] and fit["peak_bytes"] == r["peak_bytes"], f"{dims}D: batch {b} alone fits ({fit['peak_bytes']} bytes)")
    harness.check(not over["fits"] and "would pass the limit" in over["probes"][0]["error"], f"{dims}D: batch {b + 1} alone does not")

    # A larger limit, through the environment this time: a larger answer.
    doc, r2 = memory(dims, env={"CMT_MEMORY_LIMIT": str(peak12)}, name=f"larger{dims}d")
    harness.check(doc["limit_source"] == "CMT_MEMORY_LIMIT" and doc["limit_bytes"] == peak12 and r2["max_batch"] >= 12 > b,
                  f"{dims}D: limit {peak12} bytes (CMT_MEMORY_LIMIT) fits {r2['max_batch']} > {b}")

# --max-batch caps the search (doubling stops at the cap); --export writes the first step for PyTorch's side.
export = os.path.join(tmp, "export")
doc, r = memory(2, "--limit", "8G", "--max-batch", 3, "--export", export, name="capped")
harness.check(r["max_batch"] == 3 and r["capped"] and [p["batch"] for p in r["probes"]] == [1, 2, 3], f"--max-batch 3: capped at 3 ({r['probes']})")
harness.check(os.path.isfile(os.path.join(export, "resnet50-2d-16-b2", "index.json")), "--export wrote the batch-2 first step")
harness.check(train_step.largest_batch(100, lambda n: n <= 1000) == 100 and train_step.largest_batch(100, lambda n: False) == 0,
              "train_step.largest_batch: the cap, and 0 when nothing fits")

# PyTorch's side: the same equality check, then the search (on the CPU: says it was not measured).
cap = 8  # on a GPU: a short real search (tests/gpu/run.sh's memory steps search the full networks)
rc = train_step.main(["--export", export, "--device", TORCH_DEVICE, "--max-batch", str(cap), "--out", tmp])
with open(os.path.join(tmp, "memory_torch.json")) as f:
    theirs = json.load(f)
rows = {s["setting"]: s for c in theirs["configs"] for s in c["settings"]}
harness.check(rc == 0 and theirs["bench"] == "memory_torch" and sorted(rows) == ["amp_bf16", "channels_last", "eager"],
              f"train_step.py --max-batch: one row per setting ({sorted(rows)})")
if TORCH_DEVICE == "cpu":
    harness.check(all(s["not_measured"].startswith("not measured on the CPU") and "max_batch" not in s for s in rows.values()),
                  "on the CPU: not measured, no guess")
else:
    for s in rows.values():
        got = {p["batch"]: p["fits"] for p in s["probes"]}
        harness.check(got[s["max_batch"]] and (s["capped"] or not got[s["max_batch"] + 1]), f"torch {s['setting']}: {s['max_batch']} fits, one more does not")

# The table: cmt's largest batch beside PyTorch's. On the CPU PyTorch has no number: give its eager row one.
with open(os.path.join(tmp, "search2d.json")) as f:
    ours = json.load(f)
b = ours["runs"][0]["max_batch"]
if TORCH_DEVICE == "cpu":
    rows["eager"].update(max_batch=b - 1, max_views=2 * (b - 1), capped=False, peak_bytes=1 << 20)
    theirs["memory_limit_bytes"] = ours["limit_bytes"]
    with open(os.path.join(tmp, "memory_torch.json"), "w") as f:
        json.dump(theirs, f)
table = in_process(memory_table.main, ["--ours", os.path.join(tmp, "search2d.json"), "--torch", os.path.join(tmp, "memory_torch.json"),
                                       "--json", os.path.join(tmp, "memory_ratios.json")])
print(table.stdout)
with open(os.path.join(tmp, "memory_ratios.json")) as f:
    ratios = {r["torch_setting"]: r for r in json.load(f)["ratios"]}
if TORCH_DEVICE == "cpu":
    e = ratios["eager"]
    harness.check(table.returncode == 0 and e["cmt_max_batch"] == b and abs(e["batch_ratio"] - b / (b - 1)) < 1e-12
                  and f"{b / (b - 1):.2f}" in table.stdout and "not measured on the CPU" in table.stdout,
                  f"table: batch x = {b} / {b - 1}, printed beside the rows not measured")
    # The same rows under a different limit: no ratio.
    theirs["memory_limit_bytes"] = 2 * ours["limit_bytes"]
    lines, rs = memory_table.compare([ours], [theirs])
    harness.check(rs[0]["batch_ratio"] is None and any("limit differs" in line for line in lines), "table: different limits, no ratio")
else:
    harness.check(table.returncode == 0 and all(r["batch_ratio"] is None or r["batch_ratio"] > 0 for r in ratios.values()), "table on the GPU")

# Bad options and values: usage errors (exit 2) name the option; bad limits are clear runtime errors.
bad = harness.cmt("bench", "memory", *NET, "--device", DEVICE, "--batch", 4, expect=2)
harness.check("--batch" in bad.stderr, f"--batch is not an option (the batch is searched): {bad.stderr.strip()[:160]}")
bad = harness.cmt("bench", "memory", *NET, "--device", DEVICE, "--probe", 2, "--max-batch", 4, expect=2)
harness.check("--probe" in bad.stderr and "--max-batch" in bad.stderr, f"--probe with --max-batch: {bad.stderr.strip()[:160]}")
bad = harness.cmt("bench", "memory", *NET, "--device", DEVICE, "--max-batch", 0, expect=2)
harness.check("--max-batch" in bad.stderr, f"--max-batch 0: {bad.stderr.strip()[:160]}")
bad = harness.cmt("bench", "memory", *NET, "--device", DEVICE, "--limit", "12X", "--out", tmp, expect=1)
harness.check("--limit: '12X' is not a byte count" in bad.stderr, f"--limit 12X: {bad.stderr.strip()[:200]}")
bad = harness.cmt("bench", "memory", *NET, "--device", DEVICE, "--out", tmp, env={"CMT_MEMORY_LIMIT": "lots"}, expect=1)
harness.check("CMT_MEMORY_LIMIT: 'lots' is not a byte count" in bad.stderr, f"CMT_MEMORY_LIMIT=lots: {bad.stderr.strip()[:200]}")
if DEVICE == "cpu":
    bad = harness.cmt("bench", "memory", *NET, "--device", "cpu", "--out", tmp, env={"CMT_MEMORY_LIMIT": ""}, expect=1)
    harness.check("needs --limit or CMT_MEMORY_LIMIT" in bad.stderr, f"CPU without a limit: {bad.stderr.strip()[:200]}")
bad = in_process(train_step.main, ["--export", export, "--max-batch", "--settings", "compile"])
harness.check(bad.returncode == 2 and "compile" in bad.stderr and "not searched" in bad.stderr, f"--max-batch with compile: {bad.stderr.strip()[-200:]}")
bad = in_process(train_step.main, ["--export", export, "--max-batch", "--memory-limit", "80GB"])
harness.check(bad.returncode == 2 and "'80GB' is not a byte count" in bad.stderr, f"--memory-limit 80GB: {bad.stderr.strip()[-200:]}")
harness.finish()
