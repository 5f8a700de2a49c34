#!/usr/bin/env python3
"""Kernel coverage of the emulated suite: every __global__ function in kernels/cuda must have been
launched by some test, as recorded by the emulator (CMT_EMU_COVERAGE_DIR: one <pid>.txt per process,
lines "<launches><TAB><demangled kernel name>"). Prints the launch table; fails listing the kernels never
launched, unless EXCEPTIONS names them with a reason.

usage: kernel_coverage.py --kernels <kernels/cuda> --records <dir>
"""
import argparse
import collections
import pathlib
import re
import sys

# Kernels the emulated suite does not launch, each with the reason. Keys: the base name, or
# "name/N" (N parameters) where several kernels share the name.
EXCEPTIONS = {
}


def strip_comments(src):
    """Source without // and /* */ comments (string literals in kernel signatures are not a concern)."""
    src = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), src, flags=re.S)
    return re.sub(r"//[^\n]*", "", src)


def balanced(text, i, open_ch, close_ch):
    """Index just past the bracket group that opens at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_ch:
            depth += 1
        elif text[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
    raise ValueError("unbalanced %s at offset %d" % (open_ch, i))


def count_params(params):
    """Top-level parameters of a parameter list's text (commas inside <>, (), [], {} do not count)."""
    params = params.strip()
    if not params or params == "void":
        return 0
    depth, n = 0, 1
    for ch in params:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        elif ch == "," and depth == 0:
            n += 1
    return n


def source_kernels(root):
    """(base name, parameter count, file:line) of every __global__ function under root."""
    found = []
    for path in sorted(list(root.glob("*.cu")) + list(root.glob("*.cuh"))):
        src = strip_comments(path.read_text())
        for m in re.finditer(r"\b__global__\b", src):
            i = m.end()
            # __global__ [void] [__launch_bounds__(...)] [void] name(
            while True:
                w = re.match(r"\s*(void\b|__launch_bounds__\s*\()", src[i:])
                if not w:
                    break
                if w.group(1) == "void":
                    i += w.end()
                else:
                    i = balanced(src, i + w.end() - 1, "(", ")")
            name = re.match(r"\s*([A-Za-z_]\w*)\s*\(", src[i:])
            if not name:
                line = src.count("\n", 0, m.start()) + 1
                sys.exit("%s:%d: cannot parse the __global__ declaration" % (path, line))
            open_at = i + name.end() - 1
            params = src[open_at + 1 : balanced(src, open_at, "(", ")") - 1]
            line = src.count("\n", 0, m.start()) + 1
            found.append((name.group(1), count_params(params), "%s:%d" % (path.name, line)))
    return found


def reduce_name(demangled):
    """(base name, parameter count) of a demangled function name, or None (e.g. kernel@0x...)."""
    s = demangled.replace("(anonymous namespace)", "anon")
    depth, name_end = 0, None
    for i, ch in enumerate(s):
        if ch in "<[{":
            depth += 1
        elif ch in ">]}":
            depth -= 1
        elif ch == "(":
            if depth == 0:
                name_end = i
                break
            depth += 1
        elif ch == ")":
            depth -= 1
    if name_end is None:
        return None
    head = s[:name_end]
    # Drop template argument lists (top level), then namespaces and the return type.
    out, depth = [], 0
    for ch in head:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    base = "".join(out).split("::")[-1].split()[-1] if "".join(out).strip() else ""
    params = s[name_end + 1 : balanced(s, name_end, "(", ")") - 1] if ")" in s[name_end:] else ""
    return (base, count_params(params)) if re.fullmatch(r"[A-Za-z_]\w*", base) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", required=True, type=pathlib.Path)
    ap.add_argument("--records", required=True, type=pathlib.Path)
    args = ap.parse_args()

    kernels = source_kernels(args.kernels)
    if not kernels:
        sys.exit("no __global__ function found under %s" % args.kernels)
    names = collections.Counter(k[0] for k in kernels)

    records = sorted(args.records.glob("*.txt")) if args.records.is_dir() else []
    processes = collections.Counter()  # (base, params) -> processes that launched it
    launches = collections.Counter()  # (base, params) -> launches over all processes
    unresolved = set()
    for rec in records:
        seen = set()
        for line in rec.read_text(errors="replace").splitlines():
            count, _, name = line.partition("\t")
            if not name or not count.isdigit():
                continue
            r = reduce_name(name)
            if not r:
                unresolved.add(name)
                continue
            launches[r] += int(count)
            seen.add(r)
        processes.update(seen)

    def key(k):
        return k[0] if names[k[0]] == 1 else "%s/%d" % (k[0], k[1])

    def total(counter, k):
        # A unique name matches whatever its recorded parameter count; shared names need both.
        if names[k[0]] == 1:
            return sum(n for (b, _), n in counter.items() if b == k[0])
        return counter[(k[0], k[1])]

    print("%d __global__ functions in %s; %d process records in %s" % (len(kernels), args.kernels, len(records), args.records))
    print("%-32s %-24s %9s %9s" % ("kernel", "declared at", "launches", "processes"))
    missing = []
    for k in sorted(kernels, key=lambda k: (k[2].split(":")[0], key(k))):
        n = total(launches, k)
        note = ""
        if n == 0:
            note = "  excepted: " + EXCEPTIONS[key(k)] if key(k) in EXCEPTIONS else "  NEVER LAUNCHED"
            if key(k) not in EXCEPTIONS:
                missing.append(k)
        print("%-32s %-24s %9d %9d%s" % (key(k), k[2], n, total(processes, k), note))
    stale = sorted(set(EXCEPTIONS) - {key(k) for k in kernels})
    for s in stale:
        print("exception %r names no __global__ function (remove it)" % s)
    for u in sorted(unresolved):
        print("unresolved kernel name in the records: %s" % u)
    if missing or stale:
        print("FAILED: %d kernel(s) never launched by the emulated suite: %s" % (len(missing), ", ".join("%s (%s)" % (key(k), k[2]) for k in missing)))
        return 1
    print("every __global__ function was launched (%d excepted)" % sum(1 for k in kernels if total(launches, k) == 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
