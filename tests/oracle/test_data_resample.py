"""Oracle: resampling (bilinear, antialiased when shrinking), HU window and min-max against PyTorch."""
import torch
import torch.nn.functional as F

import harness

harness.setup()

# 2D: torch's bilinear (align_corners=False), with and without antialias, shrinking and growing.
for (h, w), (oh, ow) in [((17, 23), (8, 9)), ((32, 32), (11, 64)), ((9, 7), (20, 15)), ((64, 48), (16, 12))]:
    x = torch.randn(2, h, w)
    for aa in [True, False]:
        want = F.interpolate(x.unsqueeze(1), size=(oh, ow), mode="bilinear", align_corners=False, antialias=aa)[:, 0]
        got = harness.run_op("resample", {"x": x.reshape(2, 1, h, w, 1)}, size=[1, oh, ow], antialias=aa)["y"]
        harness.assert_close(got.reshape(2, oh, ow), want, 2e-5, 1e-4, f"bilinear {h}x{w}->{oh}x{ow} antialias={aa}")

# 3D without antialias: torch's trilinear; with several channels.
x = torch.randn(1, 3, 9, 10, 11)
want = F.interpolate(x, size=(5, 13, 6), mode="trilinear", align_corners=False)
got = harness.run_op("resample", {"x": x.permute(0, 2, 3, 4, 1).contiguous()}, size=[5, 13, 6], antialias=False)["y"]
harness.assert_close(got, want.permute(0, 2, 3, 4, 1), 2e-5, 1e-4, "trilinear 9x10x11->5x13x6, C=3")

# 3D antialiased = the 2D antialiased filter applied per axis (separable): check against torch in two steps.
x = torch.randn(1, 12, 14, 16)
hw = F.interpolate(x, size=(6, 5), mode="bilinear", align_corners=False, antialias=True)  # (1, 12, 6, 5)
d = F.interpolate(hw.permute(0, 2, 1, 3), size=(4, 5), mode="bilinear", align_corners=False,
                  antialias=True).permute(0, 2, 1, 3)  # D shrinks with H as the channel axis
got = harness.run_op("resample", {"x": x.reshape(1, 12, 14, 16, 1)}, size=[4, 6, 5], antialias=True)["y"]
harness.assert_close(got.reshape(1, 4, 6, 5), d, 2e-5, 1e-4, "antialiased 12x14x16->4x6x5")

x = torch.randn(3, 4, 5, 6, 1) * 800 - 300
out = harness.run_op("window_minmax", {"x": x}, lo=-1000.0, hi=400.0)
harness.assert_close(out["window"], ((x + 1000) / 1400).clamp(0, 1), 1e-6, 1e-5, "HU window")
flat = x.reshape(3, -1)
mn, mx = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
harness.assert_close(out["minmax"], ((flat - mn) / (mx - mn)).reshape(x.shape), 1e-6, 1e-5, "min-max per sample")
harness.finish()
