#!/bin/sh
# Runs the README's two commands (tools/demo.sh, then tools/test.sh) in a clean Debian 12 root, so
# that a package tools/install-deps.sh forgets shows up as a failure instead of being hidden by
# what the developer's machine already has. Needs root, debootstrap and network access to a Debian
# mirror. docs/fresh-machine.md says what it covers and what it does not.
#
#   tools/fresh-debian-check.sh [--root DIR] [--mirror URL] [--only demo|test] [--new-base]
#                               [--base-only] [--nice N]
#
# DIR (default /var/tmp/cmt-fresh, outside the repository) holds:
#   base/   Debian 12 (bookworm, --variant=minbase) from debootstrap, kept pristine and reused;
#           --new-base makes it again
#   sys/    a fresh copy of base/ for this run, where the commands run (chroot)
#   logs/   demo.log, test.log, summary.txt
# The CUDA toolkit is taken from this machine: /usr/local/cuda* bound read-only (with its
# /etc/ld.so.conf.d entry, as NVIDIA's packages install it); /proc, /sys and /dev are bound too.
# The sources are `git archive HEAD`, so uncommitted changes are not part of the check.
# The commands run as root inside (install-deps.sh then needs no sudo), niced (default 19).
set -eu

root=/var/tmp/cmt-fresh
mirror=http://deb.debian.org/debian
only=""
new_base=0
base_only=0
niceness=19
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --new-base) new_base=1; shift ;;
    --base-only) base_only=1; shift ;;
    --nice) niceness=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "fresh-debian-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$only" in ""|demo|test) ;; *) echo "fresh-debian-check: --only takes demo or test" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian-check: needs root (debootstrap, mount, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null 2>&1 || { echo "fresh-debian-check: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
base=$root/base
sys=$root/sys
logs=$root/logs
mkdir -p "$root" "$logs"

mounted_under() { # prints the mount points at or below $1, deepest first
  awk -v p="$1" '$2 == p || index($2, p "/") == 1 { print $2 }' /proc/mounts | sort -r
}
unmount_all() {
  for m in $(mounted_under "$sys"); do umount -l "$m" 2>/dev/null || true; done
}
trap unmount_all EXIT
trap 'exit 130' INT TERM

# 1. The pristine base: Debian 12 with nothing but the Essential packages and apt.
if [ "$new_base" = 1 ] || [ ! -f "$base/.cmt-debootstrap-done" ]; then
  [ -z "$(mounted_under "$base")" ] || { echo "fresh-debian-check: something is mounted under $base" >&2; exit 1; }
  rm -rf --one-file-system "$base"
  echo "debootstrap bookworm ($mirror) into $base"
  t0=$(date +%s)
  debootstrap --variant=minbase bookworm "$base" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
    { echo "fresh-debian-check: debootstrap failed, see $logs/debootstrap.log" >&2; exit 1; }
  date -u +%Y-%m-%dT%H:%M:%SZ >"$base/.cmt-debootstrap-done"
  echo "debootstrap: $(( $(date +%s) - t0 )) s"
fi
[ "$base_only" = 1 ] && exit 0

# 2. A fresh copy of it, with the sources, the CUDA toolkit and the kernel file systems.
unmount_all
[ -z "$(mounted_under "$sys")" ] || { echo "fresh-debian-check: cannot unmount everything under $sys" >&2; exit 1; }
rm -rf --one-file-system "$sys"
cp -a "$base" "$sys"
cp /etc/resolv.conf "$sys/etc/resolv.conf"
commit=$(git -C "$repo" rev-parse HEAD)
mkdir -p "$sys/root/cmt"
git -C "$repo" archive --format=tar HEAD | tar -x -C "$sys/root/cmt"
mount -t proc proc "$sys/proc"
mount --rbind /sys "$sys/sys"
mount --make-rslave "$sys/sys"
mount --rbind /dev "$sys/dev"
mount --make-rslave "$sys/dev"
cuda="none"
for d in /usr/local/cuda*; do
  [ -e "$d" ] || continue
  if [ -L "$d" ]; then
    cp -P "$d" "$sys/usr/local/"
  elif [ -d "$d" ]; then
    mkdir -p "$sys$d"
    mount --bind "$d" "$sys$d"
    mount -o remount,bind,ro "$sys$d"
    cuda="$d"
  fi
done
for f in /etc/ld.so.conf.d/*cuda*.conf; do
  [ -f "$f" ] && cp "$f" "$sys/etc/ld.so.conf.d/"
done
chroot "$sys" /sbin/ldconfig

{
  echo "commit:      $commit"
  echo "run:         $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "base made:   $(cat "$base/.cmt-debootstrap-done") (debootstrap --variant=minbase bookworm $mirror)"
  echo "debian:      $(cat "$sys/etc/debian_version")"
  echo "cuda:        $cuda"
  echo "machine:     $(nproc) cores, $(uname -r), nice $niceness"
} >"$logs/summary.txt"
cat "$logs/summary.txt"

# 3. The README's commands, each logged to logs/<name>.log.
status=0
for name in demo test; do
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  t0=$(date +%s)
  rc=0
  chroot "$sys" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    nice -n "$niceness" sh -c "cd /root/cmt && tools/$name.sh" >"$logs/$name.log" 2>&1 || rc=$?
  secs=$(( $(date +%s) - t0 ))
  if [ "$rc" -eq 0 ]; then result=pass; else result="FAIL (exit $rc)"; status=1; fi
  line=$(printf 'tools/%s.sh: %s in %dm%02ds, log %s' "$name" "$result" $((secs / 60)) $((secs % 60)) "$logs/$name.log")
  echo "$line" | tee -a "$logs/summary.txt"
  # CTest's own summary lines (main suite, then the emulated device) when there are any.
  grep -E 'tests passed|Total Test time' "$logs/$name.log" | sed 's/^/    /' | tee -a "$logs/summary.txt" || true
done
exit $status
