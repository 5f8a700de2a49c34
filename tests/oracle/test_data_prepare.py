"""cmt synth -> cmt prepare -> HDF5 (read with h5py): every sample, label and patient arrives, folds split
by patient and stratify, bad inputs are skipped and named, and a killed prepare leaves nothing under the final name."""
import csv
import os
import shutil
import signal
import subprocess
import tempfile
import time

import h5py
import numpy as np

import harness

seed = harness.setup()
cmt = harness.cmt_binary()


def check(cond, what):
    if cond:
        print(f"ok   {what}")
    else:
        harness._failures.append(what)
        print("FAIL", what)


with tempfile.TemporaryDirectory(prefix="cmt-prepare-") as tmp:
    subprocess.run([cmt, "synth", "--out", tmp, "--count", "15", "--seed", str(seed), "--size", "ct=16,xray=32"], check=True,
                   capture_output=True)
    for mod, fmt, size in [("ct", "dicom", "16"), ("ct", "png", "8x16x16"), ("xray", "dicom", "32"), ("xray", "png", "24x32")]:
        src = os.path.join(tmp, mod, fmt)
        out = os.path.join(tmp, f"{mod}_{fmt}.h5")
        p = subprocess.run([cmt, "prepare", "--input", src, "--out", out, "--modality", mod, "--size", size, "--folds", "5",
                            "--seed", str(seed)], capture_output=True, text=True)
        check(p.returncode == 0, f"prepare {mod}/{fmt} succeeds ({p.stderr.strip()[-200:]})")
        with open(os.path.join(src, "manifest.csv")) as f:
            rows = list(csv.DictReader(f))
        with h5py.File(out, "r") as h:
            classes = [c.decode() if isinstance(c, bytes) else c for c in h["class_names"][:]]
            pids = [p.decode() if isinstance(p, bytes) else p for p in h["patient_ids"][:]]
            labels = h["labels"][:]
            folds = h["folds"][:]
            images = h["images"]
            check(images.shape[0] == len(rows) and images.chunks[0] == 1, f"{mod}/{fmt}: {len(rows)} samples, one per chunk")
            got = sorted(zip(pids, [classes[l] for l in labels]))
            want = sorted((r["patient_id"], r["label"]) for r in rows)
            check(got == want, f"{mod}/{fmt}: every patient id and label arrives")
            x = images[:].astype(np.float64) / 65535
            check(x.min() >= 0 and x.max() <= 1 and x.std() > 0.05, f"{mod}/{fmt}: images in [0, 1] with content")
            by_patient = {}
            for pid, fo in zip(pids, folds):
                by_patient.setdefault(pid, set()).add(int(fo))
            check(all(len(v) == 1 for v in by_patient.values()), f"{mod}/{fmt}: no patient spans two folds")
            for c in range(len(classes)):
                counts = [int(((labels == c) & (folds == k)).sum()) for k in range(5)]
                check(max(counts) - min(counts) <= 1, f"{mod}/{fmt}: class {classes[c]} stratified over folds {counts}")
        info = subprocess.run([cmt, "dataset", "info", out], capture_output=True, text=True)
        check(info.returncode == 0 and "covid19" in info.stdout, f"dataset info {mod}/{fmt}")

    # Bad inputs: a truncated DICOM, a DICOM without pixels, an unreadable PNG: named, skipped, exit 0.
    bad = os.path.join(tmp, "bad")
    shutil.copytree(os.path.join(tmp, "xray", "dicom"), bad)
    os.remove(os.path.join(bad, "manifest.csv"))
    victim = os.path.join(bad, "normal", "P0000.dcm")
    data = open(victim, "rb").read()
    open(victim, "wb").write(data[: len(data) // 2])
    from pydicom.data import get_testdata_file
    shutil.copy(get_testdata_file("rtplan.dcm"), os.path.join(bad, "covid19", "plan.dcm"))
    open(os.path.join(bad, "pneumonia", "broken.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    # Two folds: the truncated file leaves 'normal' with 4 patients, fewer than the default 5 folds.
    p = subprocess.run([cmt, "prepare", "--input", bad, "--out", os.path.join(tmp, "bad.h5"), "--modality", "xray", "--size",
                        "32", "--folds", "2"], capture_output=True, text=True)
    check(p.returncode == 0 and os.path.exists(os.path.join(tmp, "bad.h5")), "bad inputs skipped, dataset still written")
    for name in ["P0000.dcm", "plan.dcm", "broken.png"]:
        check(name in p.stderr, f"skipped file {name} named in the summary")
    p = subprocess.run([cmt, "prepare", "--input", bad, "--out", os.path.join(tmp, "strict.h5"), "--modality", "xray",
                        "--size", "32", "--strict"], capture_output=True, text=True)
    check(p.returncode != 0 and not os.path.exists(os.path.join(tmp, "strict.h5")), "--strict fails and writes nothing")
    empty = os.path.join(tmp, "empty")
    os.makedirs(os.path.join(empty, "a"))
    open(os.path.join(empty, "a", "x.png"), "wb").write(b"not a png")
    p = subprocess.run([cmt, "prepare", "--input", empty, "--out", os.path.join(tmp, "e.h5"), "--modality", "xray"],
                       capture_output=True, text=True)
    check(p.returncode != 0 and not os.path.exists(os.path.join(tmp, "e.h5")), "nothing usable: non-zero exit, no file")

    # Killed midway (SIGKILL, no chance to clean up): never a file under the final name that is incomplete.
    for delay in [0.05, 0.2, 0.5]:
        final = os.path.join(tmp, f"killed_{delay}.h5")
        proc = subprocess.Popen([cmt, "prepare", "--input", os.path.join(tmp, "ct", "dicom"), "--out", final, "--size", "48"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if os.path.exists(final):
            with h5py.File(final, "r") as h:
                check(h["images"].shape[0] == 15 and "labels" in h, f"killed after {delay}s: final file complete")
        else:
            check(True, f"killed after {delay}s: no file under the final name")
harness.finish()
