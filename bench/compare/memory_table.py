"""The largest batch that fits, cmt beside PyTorch: `cmt bench memory` (each precision, CUDA Graph on and
off) and bench/compare/train_step.py --max-batch (eager, channels_last, amp_bf16) per configuration, with
  batch x = cmt's largest batch / PyTorch's (> 1: cmt fits more samples on the same card),
against cmt's best run at the same precision (PyTorch's eager and channels_last keep fp32 activations with
tf32 or fp32 math: cmt's tf32 or fp32 run; amp_bf16: cmt's bf16 run). Each side's limit heads the table
(--limit / CMT_MEMORY_LIMIT and --memory-limit, else the card's memory); where they differ by more than 1%
there is no ratio.

  python3 bench/compare/memory_table.py --ours bench_memory.json [...] --torch memory_torch.json [...] [--json ratios.json]"""
import sys

from train_table import failures, mib, table_main


def key(r):
    return (r["backbone"], r["dims"], r["size"], float(r["width"]), float(r["depth"]), r["latent"])


def limit_of(doc, field):
    """The bytes a side could use: its limit, else its card's memory (None on the CPU without one)."""
    return doc.get(field) or doc.get("device_memory_bytes")


def compare(ours, theirs):
    """Rows of the table and the ratio records, per configuration in cmt's order."""
    runs = [(r, limit_of(d, "limit_bytes")) for d in ours for r in d.get("runs", []) if "max_batch" in r]
    torch_rows = {}
    for d in theirs:
        for c in d.get("configs", []):
            torch_rows.setdefault(key(c), []).extend((s, limit_of(d, "memory_limit_bytes")) for s in c["settings"])
    fmt = "{:<34} {:<6} {:<16} {:>10} {:>14} {:>6} {:>11} {:>8}"
    lines, ratios = [fmt.format("config", "side", "run", "limit", "largest batch", "views", "peak", "batch x")], []
    for k in dict.fromkeys(key(r) for r, _ in runs):
        mine = [(r, lim) for r, lim in runs if key(r) == k]
        name = mine[0][0]["label"]
        for r, lim in mine:
            lines.append(fmt.format(name, "cmt", f"{r['precision']} graph {'on' if r['cuda_graph'] else 'off'}", mib(lim),
                                    f"{r['max_batch']}{' (cap)' if r['capped'] else ''}", r["max_views"], mib(r["peak_bytes"]), ""))
        for s, lim in torch_rows.get(k, []):
            run = f"{s['setting']} {s['precision']}"
            if "max_batch" not in s:
                lines.append(f"{name:<34} {'torch':<6} {run:<16} {s.get('not_measured') or s.get('error', '?')}")
                continue
            same = [(r, l) for r, l in mine if r["precision"] == s["precision"]]
            best, best_limit = max(same, key=lambda rl: rl[0]["max_batch"]) if same else (None, None)
            comparable = best is not None and lim and best_limit and abs(best_limit - lim) <= 0.01 * lim
            ratio = best["max_batch"] / s["max_batch"] if comparable and s["max_batch"] > 0 else None
            note = f"{ratio:.2f}" if ratio else ("limit differs" if best is not None and not comparable else "-")
            ratios.append({"config": name, "torch_setting": s["setting"], "precision": s["precision"], "torch_max_batch": s["max_batch"],
                           "cmt_run": f"{best['precision']} graph {'on' if best['cuda_graph'] else 'off'}" if best else None,
                           "cmt_max_batch": best["max_batch"] if best else None, "batch_ratio": ratio,
                           "limit_bytes": {"cmt": best_limit, "torch": lim}})
            lines.append(fmt.format(name, "torch", run, mib(lim), f"{s['max_batch']}{' (cap)' if s['capped'] else ''}", s["max_views"],
                                    mib(s["peak_bytes"]), note))
        if k not in torch_rows:
            lines.append(fmt.format(name, "torch", "(no PyTorch run)", "", "", "", "", ""))
    return lines + failures(ours, 34, 16), ratios


def header(ours, theirs):
    heads = [f"cmt:     {d.get('card', d.get('device'))} | limit {mib(limit_of(d, 'limit_bytes'))} ({d.get('limit_source')})" for d in ours]
    heads += [f"PyTorch: {d.get('card', d.get('device'))} | torch {d['torch']} | limit {mib(limit_of(d, 'memory_limit_bytes'))}"
              f"{'' if d.get('memory_limit_bytes') else ' (the card)'}" for d in theirs]
    return sorted(set(heads), key=heads.index)


def main(argv=None):
    return table_main(argv, __doc__, "JSON of `cmt bench memory`", "JSON of bench/compare/train_step.py --max-batch", compare, header,
                      "batch x: cmt's largest batch / PyTorch's at the same precision (> 1: cmt fits more)")


if __name__ == "__main__":
    sys.exit(main())
