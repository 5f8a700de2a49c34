"""Oracle: evaluation metrics against reference definitions computed here (AUC by brute-force pair
counting with ties as one half, scikit-learn's definition), rates from the confusion matrix, and the
paired t-test against scipy.stats.ttest_rel."""
import torch

import harness

harness.setup()

for n, levels in [(7, 3), (50, 5), (333, 0), (1000, 20)]:
    # Coarse score levels make ties common; levels 0 means continuous scores.
    scores = torch.rand(n) if levels == 0 else torch.randint(0, levels, (n,)).float() / levels
    positive = (torch.rand(n) < 0.4).float()
    positive[0], positive[1] = 1.0, 0.0  # both classes present
    pos, neg = scores[positive > 0.5].double(), scores[positive < 0.5].double()
    greater = (pos[:, None] > neg[None, :]).double().sum() + 0.5 * (pos[:, None] == neg[None, :]).double().sum()
    want = greater / (pos.numel() * neg.numel())
    got = harness.run_op("auc", {"scores": scores, "positive": positive})["auc"]
    harness.assert_close(got, want.reshape(1), 1e-6, 0, f"AUC n={n} levels={levels}")

for k in [2, 3, 4]:
    truth = torch.randint(0, k, (200,))
    predicted = torch.where(torch.rand(200) < 0.6, truth, torch.randint(0, k, (200,)))
    pos = int(torch.randint(0, k, ()))
    out = harness.run_op("rates", {"truth": truth.float(), "predicted": predicted.float()}, classes=k, positive=pos)
    acc = (truth == predicted).double().mean()
    recall = torch.tensor([((predicted == c) & (truth == c)).sum() / max(1, (truth == c).sum()) for c in range(k)])
    precision = torch.tensor([((predicted == c) & (truth == c)).sum() / max(1, (predicted == c).sum()) for c in range(k)])
    negatives = truth != pos
    specificity = ((predicted != pos) & negatives).double().sum() / negatives.double().sum()
    harness.assert_close(out["accuracy"], acc.reshape(1), 1e-6, 0, f"accuracy k={k}")
    harness.assert_close(out["recall"], recall, 1e-6, 0, f"recall k={k}")
    harness.assert_close(out["precision"], precision, 1e-6, 0, f"precision k={k}")
    harness.assert_close(out["specificity"], specificity.reshape(1), 1e-6, 0, f"specificity k={k} positive={pos}")

try:
    import scipy.stats
except ImportError:  # python3-scipy is a test dependency; say so instead of skipping silently
    raise SystemExit("python3-scipy is missing: install it (tools/install-deps.sh --test)")
for folds in [2, 5, 10]:
    a = torch.rand(folds) * 0.2 + 0.8
    b = a - 0.02 + torch.randn(folds) * 0.02
    ref = scipy.stats.ttest_rel(a.double().numpy(), b.double().numpy())
    out = harness.run_op("paired_t_test", {"a": a, "b": b})
    harness.assert_close(out["t"], torch.tensor([ref.statistic]), 1e-4, 1e-4, f"t statistic, {folds} folds")
    harness.assert_close(out["p"], torch.tensor([ref.pvalue]), 1e-5, 1e-4, f"p value, {folds} folds")
harness.finish()
