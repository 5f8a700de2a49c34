"""Oracle: the attention decoder of the paper's Fig. 5 (engine/layers/attention_decoder.h) against
PyTorch's own modules with the same weights, in 2D (ConvTranspose2d, avg_pool2d, bilinear) and 3D
(ConvTranspose3d, avg_pool3d, trilinear): the output, the input gradient, every parameter gradient,
the decoder's map U and the attention map sigmoid(resize(U)), in float64 on the PyTorch side."""
import torch
import torch.nn.functional as F

import harness

harness.setup()


def channels_first(x, dims):  # cmt's (N, D, H, W, C) as (N, C, H, W) in 2D, (N, C, D, H, W) in 3D
    x = x.permute(0, 4, 1, 2, 3)
    return x[:, :, 0] if dims == 2 else x


def channels_last(x, dims):
    x = x.unsqueeze(2) if dims == 2 else x
    return x.permute(0, 2, 3, 4, 1)


def torch_decoder(x, w1, b1, w2, b2, dims, size):
    """F' = F * P with P = meanpool(meanpool(U)), U = deconv2(deconv1(channel mean of F)); the map."""
    deconv = F.conv_transpose2d if dims == 2 else F.conv_transpose3d
    pool = F.avg_pool2d if dims == 2 else F.avg_pool3d
    a = x.mean(dim=1, keepdim=True)
    u = deconv(deconv(a, w1, b1, stride=2), w2, b2, stride=2)
    p = pool(pool(u, 2), 2)
    mode = "bilinear" if dims == 2 else "trilinear"
    attention = torch.sigmoid(F.interpolate(u, size=size, mode=mode, align_corners=False))
    return x * p, u, attention


cases = [  # dims, F (N, D, H, W, C), input size (D, H, W) the map is resized to
    (2, (2, 1, 5, 6, 12), (1, 37, 45)),
    (2, (3, 1, 4, 4, 40), (1, 64, 64)),
    (3, (2, 2, 3, 4, 8), (16, 24, 29)),
    (3, (1, 3, 3, 3, 33), (24, 24, 24)),
]
for dims, shape, size in cases:
    kd = 2 if dims == 3 else 1
    x = torch.randn(shape)
    dy = torch.randn(shape)
    w1, w2 = 0.7 * torch.randn(kd, 2, 2), 0.7 * torch.randn(kd, 2, 2)
    b1, b2 = torch.randn(1), torch.randn(1)
    out = harness.run_op("attention_decoder", {"x": x, "dy": dy, "deconv1.weight": w1, "deconv1.bias": b1,
                                               "deconv2.weight": w2, "deconv2.bias": b2}, dims=dims, size=list(size))

    wshape = (1, 1, 2, 2) if dims == 2 else (1, 1, 2, 2, 2)
    leaves = [t.double().clone().requires_grad_(True) for t in (channels_first(x, dims), w1.reshape(wshape), b1,
                                                                 w2.reshape(wshape), b2)]
    y, u, attention = torch_decoder(*leaves, dims, size[1:] if dims == 2 else size)
    y.backward(channels_first(dy, dims).double())
    xt, w1t, b1t, w2t, b2t = leaves
    what = f"{dims}D F {shape}"
    harness.assert_close(out["y"], channels_last(y.detach(), dims), 1e-5, 1e-5, "y " + what)
    harness.assert_close(out["dx"], channels_last(xt.grad, dims), 1e-5, 1e-5, "dx " + what)
    harness.assert_close(out["u"], channels_last(u.detach(), dims), 1e-5, 1e-5, "U " + what)
    harness.assert_close(out["map"], channels_last(attention.detach(), dims), 1e-6, 1e-5, f"map {what} -> {size}")
    for name, leaf in (("deconv1.weight", w1t), ("deconv1.bias", b1t), ("deconv2.weight", w2t), ("deconv2.bias", b2t)):
        harness.assert_close(out["grad:" + name], leaf.grad.reshape(-1), 1e-5, 1e-5, f"d{name} {what}")
harness.finish()
