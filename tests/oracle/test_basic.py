"""Oracle: the basic op family (axpy, sum/mean, bf16 cast) against PyTorch."""
import torch

import harness

harness.setup()

for shape in [(1,), (17,), (3, 5, 7), (2, 3, 9, 11, 4)]:
    x = torch.randn(shape)
    y = torch.randn(shape)
    alpha = float(torch.randn(()))
    out = harness.run_op("axpy", {"x": x, "y": y}, alpha=alpha)
    harness.assert_close(out["y"], y + torch.tensor(alpha, dtype=torch.float32) * x, 1e-6, 1e-6, f"axpy {shape}")

    s = harness.run_op("sum", {"x": x})
    harness.assert_close(s["sum"], x.double().sum().reshape(1), 1e-5, 1e-6, f"sum {shape}")
    harness.assert_close(s["mean"], x.double().mean().reshape(1), 1e-6, 1e-5, f"mean {shape}")

    c = harness.run_op("cast_bf16", {"x": x * 100})
    want = (x * 100).to(torch.bfloat16)
    harness.assert_close(c["bf16"].float(), want.float(), 0, 0, f"bf16 cast {shape} (bit-exact rounding)")
    harness.assert_close(c["back"], want.float(), 0, 0, f"bf16 -> f32 {shape}")

harness.expect_error(lambda: harness.run_op("axpy", {"x": torch.randn(3), "y": torch.randn(4)}, alpha=1.0),
                     "shape mismatch", "axpy rejects mismatched shapes")
harness.finish()
