"""Lesion masks and attention-map scores end to end: cmt synth -> cmt prepare carries each phantom's mask
into the dataset on the image's grid (read back with h5py, nibabel and PIL), and `cmt explain-score`
on random maps files (written with h5py, with ties, all-zero maps and samples without a lesion)
agrees with numpy/scipy: pointing game with tolerance, energy share, Wilson and t intervals,
scipy.stats.ttest_rel and the exact binomial (McNemar) test."""
import json
import os
import tempfile

import h5py
import nibabel
import numpy as np
import torch
from PIL import Image
from scipy import ndimage, stats

import harness

seed = harness.setup()
check = harness.check
rng = np.random.default_rng(seed)


def read_dataset(path):
    with h5py.File(path, "r") as h:
        return {k: h[k][:] for k in ["images", "masks", "has_mask", "mask_voxels", "labels", "patient_ids", "class_names"]} | {
            "version": int(h.attrs["version"])}


def synth_mask(raw, mod, pid):
    """The mask file synth wrote, as (D, H, W) 0/1 on the image's grid."""
    if mod == "xray":
        return (np.asarray(Image.open(os.path.join(raw, "xray", "masks", f"{pid}.png"))) > 0)[None].astype(np.uint8)
    img = nibabel.load(os.path.join(raw, "ct", "masks", f"{pid}.nii.gz"))
    # Reoriented to the DICOM axial layout (slices S, rows P, columns L) as cmt reads CT: RAS+ axes flipped on x and y.
    data = np.asarray(nibabel.as_closest_canonical(img).dataobj)  # (x R, y A, z S) after canonicalisation
    return np.ascontiguousarray(data[::-1, ::-1, :].transpose(2, 1, 0)).astype(np.uint8)


def lesion_brighter(x, m):
    """Inside the mask the image is brighter than in the mirror image of the mask (other side, no lesion there)."""
    mm = m.astype(bool)
    mirror = np.flip(mm, axis=-1) & ~mm
    return mirror.any() and x[mm].mean() > x[mirror].mean()


with tempfile.TemporaryDirectory(prefix="cmt-masks-") as tmp:
    raw = os.path.join(tmp, "raw")
    harness.cmt("synth", "--out", raw, "--count", "9", "--seed", seed, "--size", "ct=24,xray=48", "--difficulty", "0.1")
    sets = {}
    for mod, fmt, native, small in [("ct", "dicom", "24", "16"), ("xray", "png", "48", "32")]:
        for size in [native, small]:
            out = os.path.join(tmp, f"{mod}{size}.h5")
            p = harness.cmt("prepare", "--input", os.path.join(raw, mod, fmt), "--out", out, "--size", size, "--folds", "3")
            check("9 with a lesion mask" in p.stdout, f"{mod} {size}: prepare reports the masks ({p.stdout.strip()[-80:]})")
            d = read_dataset(out)
            sets[(mod, size)] = (out, d)
            check(d["version"] == 2 and d["masks"].shape == d["images"].shape and d["masks"].dtype == np.uint8,
                  f"{mod} {size}: /masks u8 of the images' shape {d['images'].shape}, format version 2")
            check(set(np.unique(d["masks"])) <= {0, 1} and d["has_mask"].all(), f"{mod} {size}: masks binary, every sample has one")
            check((d["masks"].reshape(len(d["masks"]), -1).sum(1) == d["mask_voxels"]).all(), f"{mod} {size}: /mask_voxels counts them")
            names = [c.decode() if isinstance(c, bytes) else c for c in d["class_names"]]
            normal = np.array([names[l] == "normal" for l in d["labels"]])
            check((d["mask_voxels"][normal] == 0).all(), f"{mod} {size}: normal patients have empty masks")
            x = d["images"].astype(np.float64) / 65535
            lesions = [i for i in range(len(x)) if d["mask_voxels"][i] > 0]
            # Radiographs of bilateral opacities overlap the heart and each other in projection: the
            # mirror test is for the unilateral consolidation there.
            tested = [i for i in lesions if mod == "ct" or names[d["labels"][i]] == "pneumonia"]
            check(len(tested) >= 3 and all(lesion_brighter(x[i], d["masks"][i]) for i in tested),
                  f"{mod} {size}: the image is brighter inside the lesion mask than in its mirror image ({len(tested)} samples)")
            if size == native:
                pids = [p.decode() if isinstance(p, bytes) else p for p in d["patient_ids"]]
                same = all(np.array_equal(d["masks"][i], synth_mask(raw, mod, pid)) for i, pid in enumerate(pids))
                check(same, f"{mod} {size}: at synth's own size the dataset's masks are synth's mask files voxel for voxel")
            if mod == "xray" and size == small:
                # The image's resampling (torch's antialiased bilinear, docs/data.md), thresholded at 0.5.
                n = int(small)
                src = np.stack([synth_mask(raw, mod, f"P{i:04d}") for i in range(9)]).astype(np.float32)
                want = torch.nn.functional.interpolate(torch.from_numpy(src), size=(n, n), mode="bilinear", antialias=True,
                                                       align_corners=False).numpy() >= 0.5
                by_pid = {(p.decode() if isinstance(p, bytes) else p): i for i, p in enumerate(d["patient_ids"])}
                got = np.stack([d["masks"][by_pid[f"P{i:04d}"]] for i in range(9)]).astype(bool)
                off = int((got != want).sum())
                check(off <= got.size // 1000, f"xray {small}: masks resampled as torch resamples the image, then >= 0.5 ({off} voxels off)")

    # Scores: random maps (small integers, so maxima tie) against numpy/scipy.
    for mod, size in [("xray", "48"), ("ct", "16")]:
        ds_path, d = sets[(mod, size)]
        n = len(d["images"])
        order = rng.permutation(n)
        maps_paths = []
        for name in ["a", "b"]:
            maps = rng.integers(0, 4, size=d["images"].shape).astype(np.float32)
            for i in range(n):  # one or two (tied) peaks: on the lesion, near it (within 3 voxels) or anywhere
                m = d["masks"][i].astype(bool)
                dist = ndimage.distance_transform_edt(~m) if m.any() else np.full(m.shape, np.inf)
                for _ in range(1 + int(rng.random() < 0.3)):
                    where = rng.choice(["on", "near", "anywhere"], p=[0.35, 0.35, 0.3] if name == "a" else [0.15, 0.35, 0.5])
                    pool = np.flatnonzero(m if where == "on" else (dist > 0) & (dist <= 3) if where == "near" else np.ones_like(m))
                    if len(pool):
                        maps[i].flat[rng.choice(pool)] = 6
            if name == "b":
                maps[order[0]] = 0  # a map that sums to 0
            path = os.path.join(tmp, f"{mod}-{name}.h5")
            with h5py.File(path, "w") as h:
                h["maps"] = maps[order]
                h["sample_index"] = order.astype(np.int64)
                h.attrs["format"] = "cmt-maps"
                h.attrs["version"] = 1
                h.attrs["run"] = f"model-{name}"
                h.attrs["method"] = "random"
            maps_paths.append((path, maps))
        for tol in [0, 2]:
            out = os.path.join(tmp, f"{mod}-{tol}.json")
            harness.cmt("explain-score", "--maps", maps_paths[0][0], "--dataset", ds_path, "--compare", maps_paths[1][0],
                        "--tolerance", tol, "--json", out)
            with open(out) as f:
                got = json.load(f)
            want = {}
            for key, (path, maps) in zip(["a", "b"], maps_paths):
                per = {}
                for i in order:
                    m = d["masks"][i].astype(bool)
                    if not m.any():
                        continue
                    mp = maps[i].astype(np.float64)
                    dist = ndimage.distance_transform_edt(~m)  # Euclidean voxels to the nearest lesion voxel
                    hit = bool((dist[mp == mp.max()] <= tol).all())
                    share = mp[m].sum() / mp.sum() if mp.sum() > 0 else None
                    per[int(i)] = (hit, share, m.mean())
                want[key] = per
                g = got[key]
                check(g["scored"] == len(per) and g["empty_mask"] == n - len(per) and g["no_mask"] == 0,
                      f"{mod} tol {tol} {key}: {len(per)} scored, {n - len(per)} without a lesion")
                ok = all(s["hit"] == per[s["sample"]][0] and s["lesion_fraction"] == per[s["sample"]][2] and
                         ((s["energy_share"] is None and per[s["sample"]][1] is None) or
                          abs(s["energy_share"] - per[s["sample"]][1]) < 1e-9) for s in g["samples"])
                check(ok and len(g["samples"]) == len(per), f"{mod} tol {tol} {key}: per-sample hits and energy shares")
                hits = sum(v[0] for v in per.values())
                k, nn, z = hits, len(per), stats.norm.ppf(0.975)
                p = k / nn
                centre, half = (p + z * z / (2 * nn)) / (1 + z * z / nn), z * np.sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / (1 + z * z / nn)
                pg = g["pointing_game"]
                check(abs(pg["mean"] - p) < 1e-12 and abs(pg["ci95"][0] - max(0, centre - half)) < 1e-9 and
                      abs(pg["ci95"][1] - min(1, centre + half)) < 1e-9, f"{mod} tol {tol} {key}: hit rate {p:.3f} and its Wilson interval")
                e = np.array([v[1] for v in per.values() if v[1] is not None])
                lo, hi = stats.t.interval(0.95, len(e) - 1, loc=e.mean(), scale=stats.sem(e))
                es = g["energy_share"]
                check(es["n"] == len(e) and abs(es["mean"] - e.mean()) < 1e-9 and abs(es["std"] - e.std(ddof=1)) < 1e-9 and
                      abs(es["ci95"][0] - lo) < 1e-7 and abs(es["ci95"][1] - hi) < 1e-7,
                      f"{mod} tol {tol} {key}: energy share {e.mean():.3f} and its t interval")
            pa, pb = want["a"], want["b"]
            a_only = sum(pa[i][0] and not pb[i][0] for i in pa)
            b_only = sum(pb[i][0] and not pa[i][0] for i in pa)
            mc = stats.binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
            pair = [i for i in pa if pa[i][1] is not None and pb[i][1] is not None]
            t = stats.ttest_rel([pa[i][1] for i in pair], [pb[i][1] for i in pair])
            g = got["paired"]
            check(g["pointing_game"]["a_only"] == a_only and g["pointing_game"]["b_only"] == b_only and
                  abs(g["pointing_game"]["mcnemar_p"] - mc) < 1e-9, f"{mod} tol {tol}: exact McNemar p {mc:.4g} ({a_only} against {b_only})")
            check(g["energy_share"]["n"] == len(pair) and abs(g["energy_share"]["t"] - t.statistic) < 1e-7 and
                  abs(g["energy_share"]["p"] - t.pvalue) < 1e-9, f"{mod} tol {tol}: paired t {t.statistic:.3f}, p {t.pvalue:.3g}")
    # Maps that name another dataset file than the one given are scored, with a warning.
    ds_path, d = sets[("xray", "48")]
    other = os.path.join(tmp, "xray48-refolded.h5")
    harness.cmt("prepare", "--input", os.path.join(raw, "xray", "png"), "--out", other, "--size", "48", "--folds", "3", "--seed", "1")
    path = os.path.join(tmp, "named.h5")
    with h5py.File(path, "w") as h:
        h["maps"] = d["masks"].astype(np.float32)
        h["sample_index"] = np.arange(len(d["masks"]), dtype=np.int64)
        h.attrs.update(format="cmt-maps", version=1, dataset=other)
    p = harness.cmt("explain-score", "--maps", path, "--dataset", ds_path)
    check(f"WARNING: {path} was computed on {other}, another file than {ds_path}" in p.stderr,
          f"maps computed on another dataset file are named ({p.stderr.strip()[:120]})")
    p = harness.cmt("explain-score", "--maps", path, "--dataset", other)
    check("WARNING" not in p.stderr and "pointing game  1.000 (6 of 6 hit)" in p.stdout,
          f"maps of the mask itself on their own dataset: every lesion hit, no warning ({p.stdout.strip()[-200:]})")
harness.finish()
