"""Oracle: the NT-Xent loss (forward, backward, multi-rank form) against a PyTorch autograd version,
plus torch.autograd.gradcheck of that version in float64 (finite differences)."""
import torch
import torch.nn.functional as F

import harness

harness.setup()
# On the CUDA backend (tests/gpu/run.sh passes --device cuda:0) the op computes in fp32 with fast
# exponentials; the CPU reference accumulates in double.
T = 20.0 if harness._args.device.startswith("cuda") else 1.0
EPS = 1e-8  # the eps of docs/ntxent.md: u = r / max(|r|, eps)


def ntxent_torch(r, tau, local=None, offset=0):
    """Per-row losses and positive similarities of rows [offset, offset + len(local)) against all rows r."""
    u = F.normalize(r, dim=1, eps=EPS)
    q = u if local is None else F.normalize(local, dim=1, eps=EPS)
    rows = torch.arange(q.shape[0]) + offset
    logits = q @ u.t() / tau
    logits = logits.masked_fill(F.one_hot(rows, r.shape[0]).bool(), float("-inf"))
    partner = rows ^ 1
    row_loss = -logits.log_softmax(dim=1)[torch.arange(q.shape[0]), partner]
    pos = (q * u[partner]).sum(dim=1)
    return row_loss, pos


cases = [(2, 5, 0.1), (4, 1, 0.1), (16, 128, 0.1), (10, 33, 0.05), (128, 64, 0.2), (64, 255, 0.07)]
for rows, d, tau in cases:
    r = torch.randn(rows, d)
    dloss = float(torch.rand(()) + 0.5)
    x = r.double().requires_grad_()
    row_loss, pos = ntxent_torch(x, tau)
    loss = row_loss.mean()
    (loss * dloss).backward()
    out = harness.run_op("ntxent", {"r": r}, tau=tau, dloss=dloss)
    what = f"2N={rows} d={d} tau={tau}"
    harness.assert_close(out["loss"], loss.detach().reshape(1), T * 1e-5, T * 1e-5, f"loss {what}")
    harness.assert_close(out["row_loss"], row_loss.detach(), T * 1e-5, T * 1e-5, f"row_loss {what}")
    harness.assert_close(out["pos_sim"], pos.detach(), T * 1e-6, T * 1e-5, f"pos_sim {what}")
    harness.assert_close(out["dr"], x.grad, T * 1e-6, T * 1e-4, f"dr {what}")

# Identical embeddings (every similarity 1) and a zero row (normalised to zero by the eps guard).
same = torch.randn(1, 24).repeat(8, 1)
zero_row = torch.randn(6, 7)
zero_row[3] = 0
for r, what in [(same, "identical rows"), (zero_row, "one zero row")]:
    x = r.double().requires_grad_()
    row_loss, pos = ntxent_torch(x, 0.1)
    row_loss.mean().backward()
    out = harness.run_op("ntxent", {"r": r}, tau=0.1)
    harness.assert_close(out["row_loss"], row_loss.detach(), T * 1e-5, T * 1e-5, f"row_loss {what}")
    harness.assert_close(out["pos_sim"], pos.detach(), T * 1e-6, T * 1e-5, f"pos_sim {what}")
    # The zero row's gradient is g / eps (the true derivative of r / max(|r|, eps)): huge, compare relatively.
    harness.assert_close(out["dr"], x.grad, T * 1e-6, T * 1e-4, f"dr {what}")

# Multi-rank form: each simulated rank's loss, d_local and d_all against autograd of its own share.
r = torch.randn(24, 40)
for split in [[24], [12, 12], [6, 6, 6, 6], [5, 8, 1, 10]]:
    total = torch.zeros(24, 40, dtype=torch.float64)
    offset = 0
    for n in split:
        local = r[offset:offset + n]
        x_all = r.double().requires_grad_()
        x_loc = local.double().requires_grad_()
        row_loss, pos = ntxent_torch(x_all, 0.1, local=x_loc, offset=offset)
        (row_loss.sum() / 24).backward()
        out = harness.run_op("ntxent_partial", {"local": local, "all": r}, tau=0.1, row_offset=offset)
        what = f"split {split} rank at {offset}"
        harness.assert_close(out["loss"], (row_loss.sum() / 24).detach().reshape(1), T * 1e-5, T * 1e-5, f"loss {what}")
        harness.assert_close(out["d_local"], x_loc.grad, T * 1e-6, T * 1e-4, f"d_local {what}")
        harness.assert_close(out["d_all"], x_all.grad, T * 1e-6, T * 1e-4, f"d_all {what}")
        total[offset:offset + n] += out["d_local"].double()
        total += out["d_all"].double()
        offset += n
    x = r.double().requires_grad_()
    ntxent_torch(x, 0.1)[0].mean().backward()
    harness.assert_close(total, x.grad, T * 1e-6, T * 1e-4, f"sum over ranks of split {split} = single-rank gradient")

# Finite differences in float64 on tiny shapes: the torch version above is the one compared against.
for rows, d, tau in [(2, 3, 0.1), (6, 4, 0.05), (8, 5, 0.5)]:
    x = torch.randn(rows, d, dtype=torch.float64, requires_grad=True)
    ok = torch.autograd.gradcheck(lambda t: ntxent_torch(t, tau)[0].mean(), (x,), eps=1e-6, atol=1e-6, rtol=1e-4)
    harness.assert_close(torch.tensor([float(ok)]), torch.tensor([1.0]), 0, 0, f"gradcheck 2N={rows} d={d} tau={tau}")

harness.expect_error(lambda: harness.run_op("ntxent", {"r": torch.randn(5, 4)}, tau=0.1), "even", "odd row count")
harness.expect_error(lambda: harness.run_op("ntxent", {"r": torch.randn(4, 4)}, tau=-1.0), "tau", "negative tau")
harness.finish()
