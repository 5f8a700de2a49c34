"""Oracle: softmax cross-entropy with class weights and label smoothing against F.cross_entropy (mean reduction),
probabilities, the gradient, and finite differences in double."""
import torch
import torch.nn.functional as F

import harness
from fdcheck import numeric_grad

harness.setup()

for n, k in [(1, 2), (8, 2), (17, 3), (64, 3), (5, 10)]:
    for weighted in (False, True):
        for ls in (0.0, 0.1, 0.35):
            logits = torch.randn(n, k) * 3
            labels = torch.randint(0, k, (n,), dtype=torch.int32)
            weight = torch.rand(k) + 0.2 if weighted else None
            dloss = float(torch.rand(()) + 0.5)
            inputs = {"logits": logits, "labels": labels}
            if weighted:
                inputs["weight"] = weight
            out = harness.run_op("cross_entropy", inputs, label_smoothing=ls, dloss=dloss)
            # The reference in float64: cmt's float32 result is compared with the exact value, not with
            # another float32 summation order (p - target cancels in the gradient).
            zt = logits.double().requires_grad_(True)
            loss = F.cross_entropy(zt, labels.long(), weight=weight.double() if weighted else None, label_smoothing=ls)
            (loss * dloss).backward()
            what = f"ce n{n} k{k} weighted={weighted} ls={ls}"
            harness.assert_close(out["loss"], loss.detach().reshape(1), 1e-6, 1e-5, what + " loss")
            harness.assert_close(out["probs"], torch.softmax(logits.double(), 1), 2e-7, 1e-5, what + " probs")
            harness.assert_close(out["dlogits"], zt.grad, 3e-7, 1e-5, what + " dlogits")

logits, labels, weight = torch.randn(4, 3), torch.tensor([0, 2, 1, 2], dtype=torch.int32), torch.rand(3) + 0.5
out = harness.run_op("cross_entropy", {"logits": logits, "labels": labels, "weight": weight}, label_smoothing=0.2, dloss=1.0)
fn = lambda z: F.cross_entropy(z, labels.long(), weight=weight.double(), label_smoothing=0.2)
harness.assert_close(out["dlogits"], numeric_grad(fn, [logits], 0, torch.tensor(1.0)), 1e-7, 1e-5, "ce dlogits vs fd")

bad = {"logits": torch.randn(2, 3), "labels": torch.tensor([0, 3], dtype=torch.int32)}
if harness._args.device == "cpu":
    harness.expect_error(lambda: harness.run_op("cross_entropy", bad, label_smoothing=0.0, dloss=1.0), "outside [0, 3)",
                         "ce rejects a bad label")
else:  # a device cannot throw: the loss is NaN, which the trainer's NaN check reports
    loss = harness.run_op("cross_entropy", bad, label_smoothing=0.0, dloss=1.0)["loss"]
    if not torch.isnan(loss).all():
        harness._failures.append(f"ce with a bad label on {harness._args.device}: loss {loss} is not NaN")
harness.expect_error(lambda: harness.run_op("cross_entropy", {"logits": torch.randn(2, 3), "labels": torch.tensor([0, 1])},
                                            label_smoothing=0.0, dloss=1.0), "'labels' must be i32", "ce rejects i64 labels")
harness.finish()
