"""Weight exchange (docs/models.md): torchvision's models with random weights, exported by
tools/export_torchvision.py and loaded by name, give the same eval-mode logits in cmt (2D, fp32,
relative error < 1e-4); a model/weights mismatch is reported clearly."""
import os
import subprocess
import tempfile

import torch
import torchvision

import harness

harness.setup()
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
export = os.path.join(root, "tools", "export_torchvision.py")
tmp = tempfile.mkdtemp(prefix="cmt-tv-")

# vgg19_bn covers VGG (plain vgg19 differs only by its batch norms; its parameter count is tested in C++).
for name, side in [("resnet50", 64), ("efficientnet_b4", 64), ("vgg19_bn", 32)]:
    path = os.path.join(tmp, f"{name}.h5")
    seed = int(torch.randint(0, 2**30, ()))
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(num_classes=10).eval()
    # Random BN statistics, so eval mode does more than the identity.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.save(model.state_dict(), path + ".pth")
    subprocess.run(["/usr/bin/python3", export, "--model", name, "--out", path, "--state-dict", path + ".pth", "--num-classes", "10"],
                   check=True)
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        want = model(x).double()
    got = harness.run_op("classifier_logits", {"x": x.permute(0, 2, 3, 1)}, model=name, classes=10, weights=path)["logits"]
    scale = want.abs().max().item()
    harness.assert_close(got, want, 1e-4 * scale, 1e-4, f"{name} logits equal torchvision's at {side}x{side}")
    os.remove(path + ".pth")

harness.expect_error(lambda: harness.run_op("load_weights", {}, model="resnet50", classes=7, weights=os.path.join(tmp, "resnet50.h5")),
                     "fc.weight (file [10, 2048], model [7, 2048])", "a mismatched classifier is named with both shapes")
harness.expect_error(lambda: harness.run_op("load_weights", {}, model="vgg19", classes=10, weights=os.path.join(tmp, "resnet50.h5")),
                     "missing from the file", "another model's weights: missing names listed")
harness.finish()
