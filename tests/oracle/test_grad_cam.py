"""Grad-CAM and Grad-CAM++ (models/grad_cam.h, docs/explain.md) of small CMT-CNNs of every backbone in
2D and 3D with random weights and batch norm statistics equal a float64 PyTorch reference: the feature
map taken by a forward hook on the same layer, its gradient by a tensor hook, the maps computed as
pytorch-grad-cam computes them and upsampled by F.interpolate."""
import torch
import torch.nn.functional as F

import cmt_reference as ref
import harness

harness.setup()

# backbone, dims, side, width, depth: small models whose last stage is 3x3 (2D) or 2^3 (3D).
cases = [("resnet50", 2, 96, 0.125, 0.34), ("resnet50", 3, 64, 0.125, 0.34),
         ("efficientnet_b4", 2, 96, 0.125, 0.2), ("efficientnet_b4", 3, 64, 0.125, 0.2),
         ("vgg19_bn", 2, 96, 0.125, 0.5), ("vgg19", 3, 64, 0.0625, 0.5)]


def last_stage(model):
    """The module whose output cmt's feature_map_gradient returns."""
    if model.kind == "resnet50":
        return model.backbone.layer4
    return model.backbone.features


def torch_cam(a, g, method):
    """pytorch-grad-cam's GradCAM / GradCAMPlusPlus weights on (N, C, *spatial) activations and gradients."""
    dims = tuple(range(2, a.dim()))
    shape = (*a.shape[:2], *([1] * len(dims)))
    if method == "gradcam":
        w = g.mean(dims)
    else:
        g2, g3 = g ** 2, g ** 3
        aij = g2 / (2 * g2 + a.sum(dims).reshape(shape) * g3 + 1e-7)
        aij = torch.where(g != 0, aij, torch.zeros_like(aij))
        w = (torch.clamp(g, min=0) * aij).sum(dims)
    return torch.relu((w.reshape(shape) * a).sum(1))


def check_case(backbone, dims, side, width, depth, method):
    n, classes = 2, 3
    shape = (n, 1, side, side, 1) if dims == 2 else (n, side, side, side, 1)
    images = torch.randn(shape)
    targets = [int(t) for t in torch.randint(0, classes, (n,))]
    seed = int(torch.randint(0, 2**30, ()))
    out = harness.run_op("grad_cam", {"images": images}, backbone=backbone, dims=dims, width=width, depth=depth, latent=16,
                         classes=classes, seed=seed, method=method, targets=targets)
    model = ref.CmtReference(backbone, dims, width, depth, 16, classes).double().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(ref.to_torch_layout(out["param:" + name].double(), dims))
        for name, b in model.named_buffers():
            if not name.endswith("num_batches_tracked"):
                b.copy_(out["buffer:" + name].double())
    seen = {}

    def keep(module, inputs, output):
        seen["a"] = output
        output.register_hook(lambda grad: seen.__setitem__("g", grad))

    last_stage(model).register_forward_hook(keep)
    x = images.double().squeeze(-1).unsqueeze(1) if dims == 3 else images.double()[:, 0].movedim(-1, 1)
    _, logits = model(x)
    logits.gather(1, torch.tensor(targets).reshape(n, 1)).sum().backward()
    a, g = seen["a"].detach(), seen["g"]
    what = f"{backbone} {dims}D {side}^{dims} {method}"
    to_ours = (lambda t: t.movedim(1, -1)) if dims == 3 else (lambda t: t.unsqueeze(2).movedim(1, -1))
    harness.assert_close(out["logits"], logits.detach(), 1e-4, 1e-3, f"{what}: logits")
    harness.assert_close(out["features"], to_ours(a), 1e-4 * a.abs().max().item(), 1e-3, f"{what}: feature map")
    harness.assert_close(out["gradient"], to_ours(g), 1e-4 * g.abs().max().item(), 1e-3, f"{what}: its gradient")
    cam = torch_cam(a, g, method)
    cam_ours = cam if dims == 3 else cam.unsqueeze(1)
    harness.assert_close(out["cams"], cam_ours, 1e-4 * cam.abs().max().item(), 1e-3, f"{what}: map at the feature size")
    up = F.interpolate(cam.unsqueeze(1), size=x.shape[2:], mode="trilinear" if dims == 3 else "bilinear", align_corners=False)[:, 0]
    flat = up.reshape(n, -1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    want = torch.where(hi > lo, (flat - lo) / (hi - lo).clamp(min=1e-300), torch.zeros_like(flat))
    if not bool((hi > lo).all()):
        print(f"note {what}: a map is constant (every weighted sum <= 0); both sides must give zeros")
    harness.assert_close(out["maps"].reshape(n, -1), want, 1e-3, 0, f"{what}: upsampled map in [0, 1]")


for case in cases:
    for method in ("gradcam", "gradcampp"):
        check_case(*case, method)
harness.finish()
