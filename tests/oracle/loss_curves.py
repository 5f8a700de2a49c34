"""The bf16-follows-fp32 criterion of docs/bf16.md on two runs' per-step losses (steps.csv), shared by
tests/oracle/test_bf16_train.py (CPU, in CI) and tests/gpu/e2e_gpu.sh (CUDA).

sigma is the fp32 curve's own step-to-step noise: the spread of its losses around their centred 9-step
moving average. Two curves with the same trend and independent per-step noise sigma differ by
N(0, 2 sigma^2) at each step: mean |d| = 1.13 sigma, the largest of 40 |d| above 5.1 sigma in ~1% of
cases, a 10-step mean within 1.34 sigma (3 standard deviations). The bounds are those, rounded up;
step 0 runs the same weights on the same views, so only rounding separates the two there.

    python3 loss_curves.py RUN_FP32 RUN_BF16     prints each check; exit 1 when one fails"""
import csv
import os
import statistics
import sys


def losses(run_dir):
    with open(os.path.join(run_dir, "steps.csv")) as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def sigma_of(curve, half_window=4):
    residuals = []
    for i in range(len(curve)):
        lo, hi = max(0, i - half_window), min(len(curve), i + half_window + 1)
        residuals.append(curve[i] - sum(curve[lo:hi]) / (hi - lo))
    return statistics.pstdev(residuals)


def compare(fp32, bf16, final_steps=10):
    """Returns [(ok, message)] for the criterion on two equal-length curves."""
    if len(fp32) != len(bf16) or len(fp32) < 2 * final_steps:
        return [(False, f"curves of {len(fp32)} and {len(bf16)} steps (need equal lengths >= {2 * final_steps})")]
    sigma = sigma_of(fp32)
    d = [abs(x - y) for x, y in zip(fp32, bf16)]
    mean_d = sum(d) / len(d)
    final_d = abs(sum(fp32[-final_steps:]) - sum(bf16[-final_steps:])) / final_steps
    return [
        (sigma > 0, f"the fp32 curve has step-to-step noise: sigma {sigma:.4f}"),
        (d[0] <= 0.5 * sigma, f"step 0 (same weights and views): |d| {d[0]:.4f} <= sigma/2 ({0.5 * sigma:.4f})"),
        (max(d) <= 6 * sigma, f"every step: max |d| {max(d):.4f} (step {d.index(max(d))}) <= 6 sigma ({6 * sigma:.4f})"),
        (mean_d <= 1.7 * sigma, f"mean |d| {mean_d:.4f} <= 1.7 sigma ({1.7 * sigma:.4f})"),
        (final_d <= 1.5 * sigma, f"final loss (last {final_steps} steps): |d| {final_d:.4f} <= 1.5 sigma ({1.5 * sigma:.4f})"),
        (sum(x != y for x, y in zip(fp32, bf16)) >= len(fp32) - 1, "bf16 is not the fp32 run again (the losses differ)"),
    ]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results = compare(losses(sys.argv[1]), losses(sys.argv[2]))
    for ok, message in results:
        print(("ok   " if ok else "FAIL ") + message)
    sys.exit(0 if all(ok for ok, _ in results) else 1)
