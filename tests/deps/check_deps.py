#!/usr/bin/python3
"""Checks that a fresh Debian machine running `tools/install-deps.sh --test` has everything the tests use.

  check_deps.py --source DIR [--install-deps SCRIPT] [--expect-missing PACKAGE]

1. Python modules: every top-level module imported (ast, anywhere in the file) by tests/**/*.py and
   bench/compare/**/*.py, less the standard library (sys.stdlib_module_names) and the project's own
   modules (a .py file or package folder of that name in the repository). Each one is located with
   importlib.util.find_spec under this interpreter and mapped to its Debian package with `dpkg -S`;
   that package must be in the list `install-deps.sh --test --list` prints (named there, not merely a
   dependency of something named there).
2. Programs: every external program the tests run, collected from tests/ (tests/gpu excluded: it is
   the GPU machine's script, docs/gpu.md): CMake `COMMAND x` and `find_program(... NAMES x ...)`,
   Python subprocess/os.system/shutil.which literals, C++ std::system/popen literals, and the command
   words of the shell scripts (less their own functions). Each one is found on PATH (or /usr/local/cuda/bin) and mapped to its
   package (symlinks followed one link at a time); it passes when that package is in the --test list,
   is pulled in by one through Depends/Pre-Depends, is Essential or of priority required, or when the
   program is part of the CUDA toolkit (/usr/local/cuda*, provided separately: README.md).
Every failure names the module or program, the file that uses it, and the package (or why there is
none). Exit 0 when all pass, 1 otherwise.

--expect-missing PACKAGE runs the same check against a copy of install-deps.sh with PACKAGE removed
from its lists, and passes only when that check fails naming PACKAGE: it shows that the check can fail.
--also-run PROGRAM counts PROGRAM as run by the tests: no program the tests run today comes from a
package that only its own listing brings in (mpirun's openmpi-bin also comes with libopenmpi-dev), so
the program side is shown failing with one that does (h5ls, whose hdf5-tools nothing else pulls in).
"""
import argparse
import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

CUDA_PREFIX = "/usr/local/cuda"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/cuda/bin"
# Shell words that are not programs: keywords and POSIX/bash builtins.
SHELL_WORDS = set("""
if then else elif fi for in do done while until case esac function select time ! { } [ [[ ]]
alias bg break cd command continue declare echo eval exec exit export false fg getopts hash jobs
kill local printf pwd read readonly return set shift source test trap true type ulimit umask unalias
unset wait . : let mapfile
""".split())


def rel(path, source):
    return os.path.relpath(path, source)


def files_under(root, exts, skip=()):
    for d, subdirs, names in os.walk(root):
        subdirs[:] = sorted(s for s in subdirs if s != "__pycache__" and os.path.join(d, s) not in skip)
        for n in sorted(names):
            if n.endswith(exts) or (n == "CMakeLists.txt" and "CMakeLists.txt" in exts):
                yield os.path.join(d, n)


def install_list(script):
    out = subprocess.run(["sh", script, "--test", "--list"], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.split():
        sys.exit(f"check_deps: '{script} --test --list' failed (exit {out.returncode}): {out.stderr.strip()}")
    return set(out.stdout.split())


def dpkg_owner(path):
    """The package owning path (trying its /usr-merged twin), or None."""
    candidates = [path]
    for a, b in (("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/"), ("/usr/lib/", "/lib/")):
        if path.startswith(a):
            candidates.append(b + path[len(a):])
        elif path.startswith(b):
            candidates.append(a + path[len(b):])
    for c in candidates:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            m = re.match(r"^([^:\s,]+)(?::[a-z0-9]+)?(?:, [^:]+)*: (/.*)$", line)
            if m and m.group(2) == c:
                return m.group(1)
    return None


def program_owner(path):
    """(package, path it was found at): follows the symlink chain (alternatives) one link at a time."""
    seen = set()
    while path not in seen:
        seen.add(path)
        if not path.startswith("/etc/alternatives/"):
            pkg = dpkg_owner(path)
            if pkg:
                return pkg, path
        if not os.path.islink(path):
            break
        path = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
    return None, path


def installed_packages():
    """name -> (essential, priority, [[alternative, ...] per Depends/Pre-Depends entry]); Provides mapped too."""
    fmt = "${Package}\t${Status}\t${Essential}\t${Priority}\t${Depends}, ${Pre-Depends}\t${Provides}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True, check=True).stdout
    pkgs, provides = {}, {}
    for line in out.splitlines():
        name, status, essential, priority, deps, prov = (line.split("\t") + [""] * 6)[:6]
        if "ok installed" not in status:
            continue
        alts = []
        for entry in deps.split(","):
            names = [re.split(r"[\s(:]", a.strip())[0] for a in entry.split("|") if a.strip()]
            if names:
                alts.append(names)
        pkgs[name] = (essential == "yes", priority, alts)
        for p in prov.split(","):
            p = re.split(r"[\s(]", p.strip())[0]
            if p:
                provides.setdefault(p, []).append(name)
    return pkgs, provides


def dependency_closure(roots, pkgs, provides):
    """Installed packages reachable from roots through Depends/Pre-Depends: name -> the root it came from."""
    via = {}
    for root in sorted(roots):
        stack = [root]
        while stack:
            p = stack.pop()
            for name in [p] + provides.get(p, []):
                if name in via or name not in pkgs:
                    continue
                via[name] = root
                for alts in pkgs[name][2]:
                    stack.extend(alts)
    return via


# ---- Python modules ----

def own_modules(source):
    names = set()
    for d, subdirs, files in os.walk(source):
        subdirs[:] = [s for s in subdirs if not s.startswith(".") and not s.startswith("build")]
        names.update(f[:-3] for f in files if f.endswith(".py"))
        if "__init__.py" in files:
            names.add(os.path.basename(d))
    return names


def python_imports(source):
    """module -> first file importing it (top-level name only)."""
    found = {}
    for top in ("tests", os.path.join("bench", "compare")):
        for path in files_under(os.path.join(source, top), (".py",)):
            tree = ast.parse(open(path, encoding="utf-8").read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for n in names:
                    found.setdefault(n.split(".")[0], rel(path, source))
    return found


def check_modules(source, listed, via, failures, report):
    own = own_modules(source)
    for mod, where in sorted(python_imports(source).items()):
        if mod in sys.stdlib_module_names or mod in own or mod == "__future__":
            continue
        spec = importlib.util.find_spec(mod)
        if spec is None:
            failures.append(f"Python module '{mod}' (imported by {where}) is not installed for {sys.executable}")
            continue
        path = spec.origin if spec.origin not in (None, "namespace") else list(spec.submodule_search_locations)[0]
        pkg = dpkg_owner(path)
        if pkg is None:
            failures.append(f"Python module '{mod}' (imported by {where}) is {path}, which no Debian package "
                            f"provides (installed by hand?)")
        elif pkg in listed:
            report.append(f"module  {mod:14} {pkg:24} {where}")
        elif pkg in via:  # e.g. python3-h5py is a metapackage depending on python3-h5py-serial
            report.append(f"module  {mod:14} {pkg + ' (via ' + via[pkg] + ')':24} {where}")
        else:
            failures.append(f"Python module '{mod}' (imported by {where}) comes from package {pkg}, which "
                            f"install-deps.sh --test does not install")


# ---- programs ----

def cmake_programs(text):
    text = re.sub(r"#[^\n]*", "", text)
    for m in re.finditer(r"\bCOMMAND\s+(\S+)", text):
        yield m.group(1)
    for m in re.finditer(r"find_program\s*\(\s*\w+\s+([^)]*)\)", text):
        args = m.group(1).split()
        if args and args[0] == "NAMES":
            names = []
            for a in args[1:]:
                if a.isupper():
                    break
                names.append(a)
        else:
            names = args[:1]
        yield tuple(names)  # alternatives: the first one present is the one used


def python_programs(text, path):
    tree = ast.parse(text, path)
    runners = {"run", "Popen", "call", "check_call", "check_output", "system", "which", "popen"}
    modules = {"subprocess", "os", "shutil"}
    # bare names count only when imported from those modules (`from subprocess import run`)
    bare = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module in modules
            for a in n.names if a.name in runners}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in modules:
            if f.attr not in runners:
                continue
        elif not (isinstance(f, ast.Name) and f.id in bare):
            continue
        a = node.args[0]
        if isinstance(a, (ast.List, ast.Tuple)) and a.elts:
            a = a.elts[0]
        if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.strip():
            yield a.value.split()[0]


def cpp_programs(text):
    for m in re.finditer(r"\b(?:std::)?(?:system|popen)\s*\(\s*\"([^\"]*)\"", text):
        for part in re.split(r"\|\||&&|[|;]", m.group(1)):
            if part.split():
                yield part.split()[0]


def shell_functions(text):
    """Names of the shell functions a script defines (`name() {`): called like programs, but not programs."""
    return set(re.findall(r"^\s*([A-Za-z_]\w*)\s*\(\)\s*\{", text, re.M))


def shell_programs(text):
    heredoc_end = None
    for line in text.splitlines():
        if heredoc_end is not None:  # the text of a here-document is data (or a script written to a file)
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        opened = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if opened:
            heredoc_end = opened.group(1)
            line = line[:opened.start()]
        line = re.sub(r"\$\(\((?:[^()]|\([^()]*\))*\)\)", "0", line)  # arithmetic: $((n + 1))
        line = re.sub(r"^\s*#.*", "", line)
        line = re.sub(r"'[^']*'", "''", line)            # awk/grep programs, messages
        line = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)
        line = re.sub(r"(^|\s)#.*", "", line)
        line = re.sub(r"\d*(?:>>?|<)&?\d*", " ", line)   # redirections: 2>&1, >&2, <file
        for part in re.split(r"\|\||&&|\$\(|`|[|;&(){}]|\bthen\b|\bdo\b|\belse\b|\bif\b|\bwhile\b|!", line):
            words = part.split()
            while words and re.match(r"^\w+=", words[0]):
                words = words[1:]
            if words:
                yield words[0]


def test_programs(source):
    """(name or tuple of alternatives) -> first file using it."""
    found = {}
    functions = set()
    tests = os.path.join(source, "tests")
    skip = (os.path.join(tests, "gpu"),)
    # Functions defined by any test script (some are sourced by others) are not programs.
    functions = set()
    for path in files_under(tests, (".sh",), skip=skip):
        functions |= shell_functions(open(path, encoding="utf-8").read())
    for path in files_under(tests, (".cmake", "CMakeLists.txt", ".py", ".sh", ".cpp", ".cu", ".h"), skip=skip):
        text = open(path, encoding="utf-8").read()
        if path.endswith((".cmake", "CMakeLists.txt")):
            names = cmake_programs(text)
        elif path.endswith(".py"):
            names = python_programs(text, path)
        elif path.endswith(".sh"):
            names = shell_programs(text)
            functions |= shell_functions(text)
        else:
            names = cpp_programs(text)
        for n in names:
            found.setdefault(n, rel(path, source))
    for f in functions:  # a function of one script may be called from another that sources it
        found.pop(f, None)
    return found


def project_programs(source):
    names = {"cmt"}
    for path in files_under(source, (".cmake", "CMakeLists.txt"), skip=()):
        if "/build" in path or "/." in path:
            continue
        names.update(re.findall(r"add_executable\s*\(\s*([\w-]+)", open(path, encoding="utf-8").read()))
    return names


def check_programs(source, listed, pkgs, via, failures, report, also_run=()):
    own = project_programs(source)
    programs = test_programs(source)
    for p in also_run:
        programs.setdefault(p, "--also-run")
    for entry, where in sorted(programs.items(), key=lambda kv: str(kv[0])):
        alts = entry if isinstance(entry, tuple) else (entry,)
        alts = tuple(a for a in alts if "$" not in a and "@" not in a and not a.startswith(("-", ".")))
        if not alts or any(os.path.basename(a) in own for a in alts):
            continue
        if len(alts) == 1 and (alts[0] in SHELL_WORDS or not re.match(r"^[A-Za-z_/][\w./+-]*$", alts[0])):
            continue
        hits = [(a, a if os.path.isabs(a) else shutil.which(a, path=PATH)) for a in alts]
        hits = [(a, p) for a, p in hits if p and os.path.exists(p)]
        name = " or ".join(alts)
        if not hits:
            failures.append(f"program '{name}' (run by {where}) is not installed")
            continue
        prog, path = hits[0]
        if os.path.realpath(path).startswith(CUDA_PREFIX) or path.startswith(CUDA_PREFIX):
            report.append(f"program {prog:14} {'(CUDA toolkit)':24} {where}")
            continue
        pkg, owned = program_owner(path)
        if pkg is None:
            failures.append(f"program '{prog}' (run by {where}) is {path}, which no Debian package provides "
                            f"(installed by hand?)")
            continue
        essential, priority = pkgs.get(pkg, (False, "", []))[:2]
        if pkg in listed:
            how = pkg
        elif essential or priority == "required":
            how = f"{pkg} (required)"
        elif pkg in via:
            how = f"{pkg} (via {via[pkg]})"
        else:
            failures.append(f"program '{prog}' (run by {where}) comes from package {pkg} ({owned}), which "
                            f"install-deps.sh --test does not install")
            continue
        report.append(f"program {prog:14} {how:24} {where}")


def check(source, script, verbose=True, also_run=()):
    listed = install_list(script)
    failures, report = [], []
    pkgs, provides = installed_packages()
    via = dependency_closure(listed, pkgs, provides)
    check_modules(source, listed, via, failures, report)
    check_programs(source, listed, pkgs, via, failures, report, also_run)
    if verbose:
        print("\n".join(report))
        print(f"{len(report)} modules and programs checked against {rel(script, source)} --test")
    for f in failures:
        print(f"FAIL: {f}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", required=True, help="the repository root")
    ap.add_argument("--install-deps", help="the install script (default SOURCE/tools/install-deps.sh)")
    ap.add_argument("--expect-missing", metavar="PACKAGE")
    ap.add_argument("--also-run", metavar="PROGRAM", action="append", default=[],
                    help="count PROGRAM as run by the tests too (for --expect-missing of a program's package)")
    args = ap.parse_args()
    source = os.path.abspath(args.source)
    script = args.install_deps or os.path.join(source, "tools", "install-deps.sh")
    if not shutil.which("dpkg-query"):
        print("check_deps: no dpkg here: not a Debian system, nothing to check")
        return 77
    if not args.expect_missing:
        return 1 if check(source, script, also_run=args.also_run) else 0
    pkg = args.expect_missing
    text = open(script, encoding="utf-8").read()
    cut = re.sub(rf"(?<=[\s\"]){re.escape(pkg)}(?=[\s\"\\])", "", text)
    if cut == text:
        print(f"FAIL: {pkg} is not in {script}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "install-deps.sh")
        open(copy, "w", encoding="utf-8").write(cut)
        if pkg in install_list(copy):
            print(f"FAIL: removing {pkg} from a copy of {script} left it in the list")
            return 1
        failures = check(source, copy, verbose=False, also_run=args.also_run)
    named = [f for f in failures if pkg in f]
    if named:
        print(f"ok: without {pkg} the check fails naming it ({len(failures)} failure(s))")
        return 0
    print(f"FAIL: without {pkg} in install-deps.sh the check "
          + ("passed" if not failures else "failed without naming it"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
