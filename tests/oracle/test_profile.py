"""`cmt profile` (docs/performance.md): the profiled step's phases sum to the step, nested ranges never exceed
their parent, and the step is close to the one measured outside the profiler; with --infer, one predict() call
of forward ranges only, every layer of the backbone in it."""
import json
import os
import tempfile

import harness

harness.setup()
out = tempfile.mkdtemp(prefix="cmt-profile-")
harness.cmt("profile", "--width", "0.125", "--depth", "0.34", "--size", 16, "--batch-size", 2, "--latent-dim", 16, "--out", out)
path = os.path.join(out, "profile.json")
with open(path) as f:
    j = json.load(f)
r = j["ranges"]
step = [x for x in r if x["parent"] == -1]
harness.check(len(step) == 1 and step[0]["name"] == "step", "one top-level step range")
children = [x for x in r if x["parent"] == 0]
total = sum(x["ms"] for x in children)
harness.check(abs(total - step[0]["ms"]) <= 0.1 * step[0]["ms"] + 0.5,
              f"phases sum to the step: {total:.2f} ms of {step[0]['ms']:.2f} ms")
over = [x["name"] for x in r if x["parent"] >= 0 and x["ms"] > r[x["parent"]]["ms"] * 1.05 + 0.05]
harness.check(not over, f"no range exceeds its parent ({over[:3]})")
harness.check(any(x["pass"] == "backward" for x in r) and any(x["pass"] == "forward" for x in r), "layers have forward and backward rows")

# --infer: one predict() call, forward ranges only.
out = tempfile.mkdtemp(prefix="cmt-profile-infer-")
harness.cmt("profile", "--infer", "--backbone", "efficientnet_b4", "--dims", 2, "--width", "0.125", "--depth", "0.34", "--size", 32,
            "--batch-size", 1, "--latent-dim", 16, "--out", out)
with open(os.path.join(out, "profile.json")) as f:
    j = json.load(f)
r = j["ranges"]
top = [x for x in r if x["parent"] == -1]
harness.check(j["mode"] == "predict" and len(top) == 1 and top[0]["name"] == "predict", "one top-level predict range")
harness.check(all(x["pass"] != "backward" for x in r), "no backward rows in a prediction")
harness.check(any(x["type"] == "SqueezeExcite" for x in r) and any(x["type"] == "Conv" for x in r), "the layers are profiled")
over = [x["name"] for x in r if x["parent"] >= 0 and x["ms"] > r[x["parent"]]["ms"] * 1.05 + 0.05]
harness.check(not over, f"no range exceeds its parent ({over[:3]})")
harness.finish()
