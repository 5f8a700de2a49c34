"""Finite differences in double precision for the layer oracle tests: the numeric gradient of
sum(fn(*args) * dy) with respect to args[i], by central differences on a float64 re-implementation."""
import torch


def numeric_grad(fn, args, i, dy, h=1e-6):
    args = [a.double().clone() if torch.is_tensor(a) and a.is_floating_point() else a for a in args]
    dy = dy.double()
    x = args[i]
    g = torch.zeros_like(x)
    flat, gflat = x.view(-1), g.view(-1)
    for j in range(flat.numel()):
        old = flat[j].item()
        flat[j] = old + h
        up = (fn(*args) * dy).sum().item()
        flat[j] = old - h
        down = (fn(*args) * dy).sum().item()
        flat[j] = old
        gflat[j] = (up - down) / (2 * h)
    return g
