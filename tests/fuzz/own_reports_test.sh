#!/bin/sh
# own_reports.awk on made-up logs: a report from cmt's code (also behind a memcpy interceptor) is
# found; one from HDF5 behind an interceptor of a fuzz binary built under the source folder is not.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=/src/cmt
own() { printf '%s\n' "$@" | awk -v src="$src" -f "$here/own_reports.awk" >/dev/null; }
header='==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1'
own "$header" "    #0 0x1 in __interceptor_memcpy ($src/build-sanitize/bin/fuzz_checkpoint+0x1)" \
    "    #1 0x2 in cmt::read() $src/build-sanitize/../engine/checkpoint.cpp:12:3" || { echo "FAIL: cmt's frame behind memcpy not found"; exit 1; }
own "$header" "    #0 0x1 in cmt::read() $src/engine/checkpoint.cpp:12:3" || { echo "FAIL: cmt's frame #0 not found"; exit 1; }
own "x.cpp:3:4: runtime error: signed integer overflow" || { echo "FAIL: UBSan report not found"; exit 1; }
if own "$header" "    #0 0x1 in __interceptor_memcpy ($src/build-sanitize/bin/fuzz_checkpoint+0x1)" \
    "    #1 0x2  (/lib/x86_64-linux-gnu/libhdf5_serial.so.103+0x190f18)" \
    "    #2 0x3 in H5O__msg_iterate_real (/lib/x86_64-linux-gnu/libhdf5_serial.so.103+0x1b4ca4)" \
    "    #3 0x4 in cmt::visit() $src/engine/hdf5_structure.cpp:123:45"; then
  echo "FAIL: HDF5's own report counted as cmt's"; exit 1
fi
echo "ok"
