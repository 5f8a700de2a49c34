"""Oracle: our DICOM reader against pydicom on files written by others (python3-pydicom's test
files) and on our phantom series, shuffled and renamed."""
import os
import random
import shutil
import subprocess
import tempfile

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.pixel_data_handlers.util import apply_modality_lut
import torch

import harness

seed = harness.setup()


def ours(path):
    return harness.run_op("dicom_read", {}, path=path)["pixels"]


def theirs(path, like=None):
    ds = pydicom.dcmread(like or path)
    arr = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    return torch.from_numpy(arr.reshape(-1))


# Uncompressed, both VRs, both endiannesses; rescaled HU for CT_small.
for name in ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm",
             "MR_small_RLE.dcm"]:
    path = get_testdata_file(name)
    harness.assert_close(ours(path), theirs(path), 0, 0, f"{name} equals pydicom (rescaled)")

# JPEG-LS lossless and JPEG lossless: pydicom here has no decoder for them, so the lossless
# compressed file must equal pydicom's reading of the uncompressed original.
for name, original in [("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm")]:
    harness.assert_close(ours(get_testdata_file(name)), theirs(get_testdata_file(original)), 0, 0,
                         f"{name} equals uncompressed {original}")

# Errors: truncated pixel data and objects without pixels name the file and the reason.
harness.expect_error(lambda: ours(get_testdata_file("MR_truncated.dcm")), "MR_truncated.dcm", "truncated file is named")
for name in ["rtplan.dcm", "reportsi.dcm"]:
    harness.expect_error(lambda: ours(get_testdata_file(name)), "no pixel data", f"{name} has no pixel data")

# Our phantom series through our reader and through pydicom, files shuffled and renamed.
with tempfile.TemporaryDirectory(prefix="cmt-dicom-") as tmp:
    subprocess.run([harness.cmt_binary(), "synth", "--out", tmp, "--modality", "ct", "--format", "dicom", "--count", "2",
                    "--seed", str(seed), "--size", "12x16x20"], check=True, capture_output=True)
    series = os.path.join(tmp, "ct", "dicom", "covid19", "P0001")
    files = sorted(os.listdir(series))
    slices = [pydicom.dcmread(os.path.join(series, f)) for f in files]
    slices.sort(key=lambda s: float(s.ImagePositionPatient[2]))
    want = np.stack([apply_modality_lut(s.pixel_array, s) for s in slices]).astype(np.float64)
    rng = random.Random(seed)
    shuffled = os.path.join(tmp, "shuffled")
    os.makedirs(shuffled)
    names = [f"x{rng.randrange(10**6):06d}_{i}" for i in range(len(files))]
    rng.shuffle(files)
    for f, n in zip(files, names):
        shutil.copy(os.path.join(series, f), os.path.join(shuffled, n))
    out = harness.run_op("dicom_series", {}, files=[os.path.join(shuffled, n) for n in names])
    harness.assert_close(out["volume"], torch.from_numpy(want), 0, 0, "phantom series (shuffled, renamed) equals pydicom")
    assert want.shape == (12, 16, 20), want.shape
    dz = float(slices[1].ImagePositionPatient[2]) - float(slices[0].ImagePositionPatient[2])
    harness.assert_close(out["spacing"][0:1], torch.tensor([dz]), 1e-4, 0, "z spacing from positions")
    # A duplicate position is refused, naming the series.
    dup = os.path.join(tmp, "dup")
    os.makedirs(dup)
    shutil.copy(os.path.join(series, sorted(os.listdir(series))[0]), os.path.join(dup, "a.dcm"))
    shutil.copy(os.path.join(series, sorted(os.listdir(series))[0]), os.path.join(dup, "b.dcm"))
    harness.expect_error(lambda: harness.run_op("dicom_series", {}, files=[os.path.join(dup, "a.dcm"), os.path.join(dup, "b.dcm")]),
                         "duplicate slice position", "duplicate positions refused")

harness.finish()
