"""PyTorch reference of cmt's models (tests only): VGG-19(-BN), ResNet-50 and EfficientNet-B4 in 2D or 3D
with width/depth multipliers, the CMT-CNN latent and head, and the loss L = CE + lambda * NT-Xent,
with cmt's parameter names. Weights convert from cmt's channels-last layouts."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def scaled_channels(c, width):
    v = c * width
    r = max(8, int(v + 4) // 8 * 8)
    if r < 0.9 * v:
        r += 8
    return r


def scaled_depth(n, depth):
    return max(1, int(math.ceil(n * depth)))


class Ops:
    def __init__(self, dims):
        self.dims = dims
        self.conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.bn = nn.BatchNorm3d if dims == 3 else nn.BatchNorm2d
        self.maxpool = nn.MaxPool3d if dims == 3 else nn.MaxPool2d


def vgg(o, width, depth, bn):
    layers, cin = [], 1
    for n, w in zip([2, 2, 4, 4, 4], [64, 128, 256, 512, 512]):
        cout = scaled_channels(w, width)
        for _ in range(scaled_depth(n, depth)):
            layers += [o.conv(cin, cout, 3, padding=1)] + ([o.bn(cout)] if bn else []) + [nn.ReLU()]
            cin = cout
        layers.append(o.maxpool(2, 2))
    side = 2 if o.dims == 3 else 7
    pool = nn.AdaptiveAvgPool3d(side) if o.dims == 3 else nn.AdaptiveAvgPool2d(side)
    net = nn.Module()
    net.features = nn.Sequential(*layers)
    net.pool = pool
    net.channels_last_flatten = True
    return net, cin * side ** o.dims


class Bottleneck(nn.Module):
    def __init__(self, o, cin, width, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = o.conv(cin, width, 1, bias=False), o.bn(width)
        self.conv2, self.bn2 = o.conv(width, width, 3, stride, 1, bias=False), o.bn(width)
        self.conv3, self.bn3 = o.conv(width, cout, 1, bias=False), o.bn(cout)
        self.downsample = nn.Sequential(o.conv(cin, cout, 1, stride, bias=False), o.bn(cout)) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


def resnet50(o, width, depth):
    net = nn.Module()
    stem = scaled_channels(64, width)
    net.conv1, net.bn1 = o.conv(1, stem, 7, 2, 3, bias=False), o.bn(stem)
    net.maxpool = o.maxpool(3, 2, 1)
    cin = stem
    for s, n in enumerate([3, 4, 6, 3]):
        w = scaled_channels(64 << s, width)
        blocks = []
        for b in range(scaled_depth(n, depth)):
            blocks.append(Bottleneck(o, cin, w, 4 * w, 2 if (b == 0 and s > 0) else 1))
            cin = 4 * w
        setattr(net, f"layer{s + 1}", nn.Sequential(*blocks))
    return net, cin


def resnet_features(net, x):
    x = net.maxpool(F.relu(net.bn1(net.conv1(x))))
    for s in range(4):
        x = getattr(net, f"layer{s + 1}")(x)
    return x.flatten(2).mean(2)


class SE(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, squeeze), nn.Linear(squeeze, c)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(F.silu(self.fc1(x.flatten(2).mean(2)))))
        return x * s.reshape(*s.shape, *([1] * (x.dim() - 2)))


def conv_norm(o, cin, cout, k, stride, groups, act):
    layers = [o.conv(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), o.bn(cout)]
    return nn.Sequential(*(layers + ([nn.SiLU()] if act else [])))


class MBConv(nn.Module):
    def __init__(self, o, cin, cout, expand, k, stride):
        super().__init__()
        e = scaled_channels(cin * expand, 1.0)
        blocks = []
        if e != cin:
            blocks.append(conv_norm(o, cin, e, 1, 1, 1, True))
        blocks += [conv_norm(o, e, e, k, stride, e, True), SE(e, max(1, cin // 4)), conv_norm(o, e, cout, 1, 1, 1, False)]
        self.block = nn.Sequential(*blocks)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return y + x if self.residual else y


def efficientnet_b4(o, width, depth):
    width, depth = 1.4 * width, 1.8 * depth
    stages = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
              (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]
    stem = scaled_channels(32, width)
    feats = [conv_norm(o, 1, stem, 3, 2, 1, True)]
    last = stem
    for expand, k, stride, cin, cout, n in stages:
        cin, cout = scaled_channels(cin, width), scaled_channels(cout, width)
        blocks = [MBConv(o, cin if i == 0 else cout, cout, expand, k, stride if i == 0 else 1) for i in range(int(math.ceil(n * depth)))]
        feats.append(nn.Sequential(*blocks))
        last = cout
    feats.append(conv_norm(o, last, 4 * last, 1, 1, 1, True))
    net = nn.Module()
    net.features = nn.Sequential(*feats)
    return net, 4 * last


class CmtReference(nn.Module):
    def __init__(self, backbone, dims, width, depth, latent, classes):
        super().__init__()
        o = Ops(dims)
        self.kind, self.dims = backbone, dims
        if backbone.startswith("vgg"):
            self.backbone, feat = vgg(o, width, depth, backbone == "vgg19_bn")
        elif backbone == "resnet50":
            self.backbone, feat = resnet50(o, width, depth)
        else:
            self.backbone, feat = efficientnet_b4(o, width, depth)
        self.latent = nn.Linear(feat, latent)
        self.head = nn.Linear(latent, classes)

    def features(self, x):
        if self.kind.startswith("vgg"):
            y = self.backbone.pool(self.backbone.features(x))
            return y.movedim(1, -1).flatten(1)  # cmt flattens channels-last
        if self.kind == "resnet50":
            return resnet_features(self.backbone, x)
        return self.backbone.features(x).flatten(2).mean(2)

    def forward(self, x):
        r = self.latent(self.features(x))
        return r, self.head(r)


def to_torch_layout(t, dims):
    """cmt conv weights (K, T, R, S, C) -> torch (K, C, [T,] R, S); others unchanged."""
    if t.dim() == 5:
        t = t.permute(0, 4, 1, 2, 3)
        return t if dims == 3 else t[:, :, 0]
    return t


def from_torch_layout(t, dims):
    if t.dim() == 5:
        return t.permute(0, 2, 3, 4, 1)
    if t.dim() == 4:
        return t.unsqueeze(2).permute(0, 2, 3, 4, 1)
    return t


def ntxent(r, tau):
    """Mean over the 2N rows of -log softmax at the partner, rows 2k and 2k+1 paired."""
    u = F.normalize(r, dim=1, eps=1e-8)
    sim = u @ u.t() / tau
    n = r.shape[0]
    sim = sim.masked_fill(torch.eye(n, dtype=torch.bool, device=r.device), float("-inf"))
    partner = torch.arange(n, device=r.device) ^ 1
    return F.cross_entropy(sim, partner)


def cmt_loss(model, views, labels, lam, tau):
    r, logits = model(views)
    cls = F.cross_entropy(logits, labels)
    cst = ntxent(r, tau) if lam > 0 else torch.zeros((), dtype=r.dtype, device=r.device)
    return cls + lam * cst, cls, cst
