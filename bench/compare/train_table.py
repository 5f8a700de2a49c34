"""One table of the whole-step comparison: cmt's runs (`cmt bench train`: each precision, CUDA Graph on
and off) and PyTorch's four settings (bench/compare/train_step.py) per configuration, with the ratios
  speed   = PyTorch's step time / cmt's step time without augmentation (> 1: cmt is faster; PyTorch
            starts from the exported views, so cmt's augmentation phase is left out), and the same
            with cmt's full step;
  memory  = cmt's peak / PyTorch's peak (< 1: cmt needs less),
each against cmt's fastest run at the same precision (PyTorch's eager and channels_last run tf32 or
fp32 math, amp_bf16 and compile bf16). Card and versions of both sides head the table.

  python3 bench/compare/train_table.py --ours bench_train.json [...] --torch train_torch.json [...] [--json rows.json]"""
import argparse
import json
import sys


def load(paths):
    docs = []
    for p in paths:
        with open(p) as f:
            docs.append(json.load(f))
    return docs


def key(r):
    return (r["backbone"], r["dims"], r["size"], r["batch"], float(r["width"]), float(r["depth"]), r["latent"])


def mib(b):
    return f"{b / 2**20:.1f} MiB" if b else "-"


def header(ours, theirs):
    lines = []
    for d in ours:
        lib = d.get("libraries", {})
        lines.append(f"cmt:     {d.get('card', d.get('device'))} | driver API {lib.get('CUDA driver API', '?')} | CUDA runtime "
                     f"{lib.get('CUDA runtime', '?')} | cuDNN {lib.get('cuDNN', '?')} | cuBLAS {lib.get('cuBLAS', '?')} | timer {d.get('timer')}")
    for d in theirs:
        lines.append(f"PyTorch: {d.get('card', d.get('device'))} | torch {d['torch']} | CUDA {d.get('cuda', '-')} | cuDNN "
                     f"{d.get('cudnn', '-')} | timer {d['timer']}")
    return sorted(set(lines), key=lines.index)


def compare(ours, theirs):
    """Rows of the table and the ratio records, per configuration in cmt's order."""
    runs = [r for d in ours for r in d.get("runs", [])]
    torch_settings = {}  # one config's settings may come from several files (e.g. compile timed separately)
    for d in theirs:
        for c in d.get("configs", []):
            torch_settings.setdefault(key(c), []).extend(c["settings"])
    lines, ratios = [], []
    fmt = "{:<40} {:<6} {:<20} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>7}"
    lines.append(fmt.format("config", "side", "run", "step ms", "no-aug ms", "samples/s", "peak", "speed x", "full x", "mem x"))
    for k in dict.fromkeys(key(r) for r in runs):
        mine = [r for r in runs if key(r) == k]
        for r in mine:
            lines.append(fmt.format(r["label"], "cmt", f"{r['precision']} graph {'on' if r['cuda_graph'] else 'off'}",
                                    f"{r['step_ms']['median']:.2f}", f"{r['step_without_augment_ms']:.2f}",
                                    f"{r['batch'] * 1e3 / r['step_without_augment_ms']:.1f}", mib(r["peak_bytes"]), "", "", ""))
        if k not in torch_settings:
            lines.append(fmt.format(mine[0]["label"], "torch", "(no PyTorch run)", "", "", "", "", "", "", ""))
            continue
        for s in torch_settings[k]:
            run = f"{s['setting']} {s['precision']}"
            if "step_ms" not in s:
                lines.append(f"{mine[0]['label']:<40} {'torch':<6} {run:<20} {s.get('unavailable') or 'FAILED: ' + s['error']}")
                continue
            same = [r for r in mine if r["precision"] == s["precision"]]
            best = min(same, key=lambda r: r["step_without_augment_ms"]) if same else None
            theirs_ms = s["step_ms"]["median"]
            speed = theirs_ms / best["step_without_augment_ms"] if best else None
            full = theirs_ms / best["step_ms"]["median"] if best else None
            mem = best["peak_bytes"] / s["peak_bytes"] if best and s.get("peak_bytes") else None
            ratios.append({"config": mine[0]["label"], "torch_setting": s["setting"], "precision": s["precision"],
                           "cmt_run": f"{best['precision']} graph {'on' if best['cuda_graph'] else 'off'}" if best else None,
                           "speed_ratio": speed, "speed_ratio_full_step": full, "memory_ratio": mem})
            lines.append(fmt.format(mine[0]["label"], "torch", run, f"{theirs_ms:.2f}", "", f"{s['samples_per_s']:.1f}",
                                    mib(s.get("peak_bytes")), f"{speed:.2f}" if speed else "-", f"{full:.2f}" if full else "-",
                                    f"{mem:.2f}" if mem else "-"))
    return lines + failures(ours, 40, 20), ratios


def failures(ours, label_width, run_width):
    """One line per cmt config that failed (recorded under "failures" by `cmt bench train` / `memory`)."""
    return [f"{f['label']:<{label_width}} {'cmt':<6} {f['precision'] + ' graph ' + ('on' if f['cuda_graph'] else 'off'):<{run_width}} FAILED: {f['error']}"
            for d in ours for f in d.get("failures", [])]


def table_main(argv, doc, ours_help, torch_help, compare_fn, header_fn, legend):
    """The command line of a comparison table (this one, memory_table.py): JSON in, table and ratios out."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--ours", nargs="+", required=True, help=ours_help)
    ap.add_argument("--torch", nargs="+", required=True, help=torch_help)
    ap.add_argument("--json", help="also write the ratios here")
    args = ap.parse_args(argv)
    ours, theirs = load(args.ours), load(args.torch)
    lines, ratios = compare_fn(ours, theirs)
    print("\n".join(line.rstrip() for line in header_fn(ours, theirs) + [""] + lines))
    print("\n" + legend)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ratios": ratios}, f, indent=1)
        print("wrote", args.json)
    return 0


def main(argv=None):
    return table_main(argv, __doc__, "JSON of `cmt bench train`", "JSON of bench/compare/train_step.py", compare, header,
                      "speed x: PyTorch step / cmt step without augmentation; full x: with it; mem x: cmt peak / PyTorch peak "
                      "(each against cmt's fastest run at the same precision)")


if __name__ == "__main__":
    sys.exit(main())
