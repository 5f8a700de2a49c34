"""NIfTI input against nibabel: volumes written by nibabel with different affines (RAS, LPS, an
oblique-free sagittal permutation, qform only), voxel types and scl_slope/scl_inter, prepared at their own
size (no resampling) and read back with h5py, must hold nibabel's voxel values in the DICOM axial layout:
slices inferior->superior, rows anterior->posterior, columns right->left (nibabel's closest canonical RAS
array, flipped in x and y and transposed to (z, y, x)); spacing follows the axes. A 2D NIfTI is an X-ray,
a 4D one is refused."""
import os
import subprocess
import tempfile

import h5py
import nibabel as nib
import numpy as np

import harness
from harness import check

seed = harness.setup()
cmt = harness.cmt_binary()
rng = np.random.default_rng(seed)
LO, HI = -1024.0, 1024.0  # the window covers every value: stored = (v - LO) / (HI - LO)


def expected_layout(img):
    """nibabel's own reorientation, to (slices S, rows P, cols L), and the spacing along them."""
    can = nib.as_closest_canonical(img)
    data = np.asarray(can.get_fdata(), dtype=np.float64)  # RAS+: +x right, +y anterior, +z superior
    zooms = can.header.get_zooms()[:3]
    return data[::-1, ::-1, :].transpose(2, 1, 0), (zooms[2], zooms[1], zooms[0])


def prepare(folder, out, extra=()):
    return subprocess.run([cmt, "prepare", "--input", folder, "--out", out, "--folds", "1", *extra],
                          capture_output=True, text=True)


def make_case(name, shape, affine, dtype, slope_inter=None, qform_only=False, gz=True):
    raw = rng.integers(-900, 900, size=shape)
    if slope_inter:
        slope, inter = slope_inter
        stored = np.round((raw - inter) / slope).astype(dtype)
    else:
        stored = raw.astype(dtype)
    img = nib.Nifti1Image(stored, affine)
    if slope_inter:
        img.header.set_slope_inter(*slope_inter)
    if qform_only:
        img.set_qform(affine, code=1)
        img.set_sform(None, code=0)
    return img, name + (".nii.gz" if gz else ".nii")


ras = np.diag([0.7, 0.8, 2.5, 1.0])
lps = np.diag([-0.7, -0.8, 2.5, 1.0])
# Sagittal: i runs anterior->posterior, j inferior->superior, k left->right.
sagittal = np.array([[0, 0, 1.2, 0], [-0.9, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 0, 1]], dtype=float)
cases = [
    make_case("ras_int16", (6, 5, 4), ras, np.int16),
    make_case("lps_float32", (5, 7, 3), lps, np.float32, gz=False),
    make_case("sagittal_scaled", (4, 6, 5), sagittal, np.int16, slope_inter=(2.0, -3.0)),
    make_case("qform_only", (5, 4, 6), lps, np.int16, qform_only=True),
]

with tempfile.TemporaryDirectory(prefix="cmt-nifti-") as tmp:
    for img, fname in cases:
        folder = os.path.join(tmp, fname.split(".")[0])
        os.makedirs(os.path.join(folder, "a"))
        path = os.path.join(folder, "a", fname)
        nib.save(img, path)
        want, spacing = expected_layout(nib.load(path))  # as written to disk (rounding of the header included)
        d, h, w = want.shape
        out = os.path.join(tmp, fname.split(".")[0] + ".h5")
        p = prepare(folder, out, ["--size", f"{d}x{h}x{w}", f"--window={LO},{HI}"])
        check(p.returncode == 0, f"{fname}: prepare succeeds ({p.stderr.strip()[-300:]})")
        if p.returncode != 0:
            continue
        check("modality ct (inferred" in p.stdout, f"{fname}: a 3D NIfTI is inferred as CT")
        with h5py.File(out, "r") as f:
            got = f["images"][0].astype(np.float64) / 65535.0 * (HI - LO) + LO
            check(f["images"].shape[1:] == (d, h, w), f"{fname}: shape {f['images'].shape[1:]} == {(d, h, w)}")
            err = np.abs(got - want).max()
            check(err <= (HI - LO) / 65535.0, f"{fname}: voxel values equal nibabel's in the DICOM layout (max error {err:.4f})")
            check(np.allclose(f["spacing"][0], spacing, atol=1e-5), f"{fname}: spacing {f['spacing'][0]} == {spacing}")
            check(list(f["original_shape"][0]) == [d, h, w], f"{fname}: original shape recorded")

    # A 2D image is a radiograph; a 4D series is refused, naming the file.
    xr = os.path.join(tmp, "xray")
    for c in ["normal", "covid"]:
        os.makedirs(os.path.join(xr, c))
        nib.save(nib.Nifti1Image(rng.random((8, 9, 1)).astype(np.float32), ras), os.path.join(xr, c, "img.nii.gz"))
    p = prepare(xr, os.path.join(tmp, "xray.h5"), ["--size", "9x8"])
    check(p.returncode == 0 and "modality xray (inferred" in p.stdout, f"2D NIfTI inferred as X-ray ({p.stdout[-200:]} {p.stderr[-200:]})")
    four = os.path.join(tmp, "four", "a")
    os.makedirs(four)
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 3), np.int16), ras), os.path.join(four, "t.nii.gz"))
    p = prepare(os.path.join(tmp, "four"), os.path.join(tmp, "four.h5"), ["--modality", "ct"])
    check(p.returncode != 0 and "t.nii.gz: a 4D NIfTI image" in p.stderr, f"4D NIfTI refused by name ({p.stderr.strip()[-200:]})")
harness.finish()
