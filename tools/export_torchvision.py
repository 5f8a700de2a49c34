#!/usr/bin/python3
"""Exports a torchvision model's state dict to HDF5 in cmt's layouts, for `cmt train --init-weights`
(a user's ImageNet weights) and for the logits test. Needs Debian's python3-torch, python3-torchvision
and python3-h5py; never needed at run time.

  tools/export_torchvision.py --model resnet50 --out resnet50.h5 [--state-dict weights.pth] [--seed 0]

Layouts: conv weights (K, C, R, S) -> (K, 1, R, S, C) (channels last, depth 1); the 1x1 convs of
squeeze-excitation -> (K, C) (cmt uses linear layers there); VGG's first FC layer has its input
columns permuted from (C, H, W) to (H, W, C) order; num_batches_tracked is dropped."""
import argparse

import h5py
import torch
import torchvision


def convert(name, t, model_name):
    t = t.detach().float().cpu()
    if name.endswith("num_batches_tracked"):
        return None
    if t.dim() == 4:
        if ".fc1." in name or ".fc2." in name:  # squeeze-excitation 1x1 convs
            return t.reshape(t.shape[0], t.shape[1])
        return t.permute(0, 2, 3, 1).unsqueeze(1).contiguous()  # K,C,R,S -> K,1,R,S,C
    if model_name.startswith("vgg") and name == "classifier.0.weight":
        k, n = t.shape
        c = 512
        side = int(round((n // c) ** 0.5))
        return t.reshape(k, c, side, side).permute(0, 2, 3, 1).reshape(k, n).contiguous()
    return t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=["vgg19", "vgg19_bn", "resnet50", "efficientnet_b4"])
    p.add_argument("--out", required=True)
    p.add_argument("--state-dict", help="a .pth state dict to export (default: a random initialisation)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-classes", type=int, default=1000)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    model = getattr(torchvision.models, args.model)(num_classes=args.num_classes)
    if args.state_dict:
        model.load_state_dict(torch.load(args.state_dict, map_location="cpu"))
    tmp = args.out + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = "cmt-torchvision-weights"
        f.attrs["model"] = args.model
        for name, t in model.state_dict().items():
            c = convert(name, t, args.model)
            if c is not None:
                f.create_dataset(name, data=c.numpy())
    import os
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
