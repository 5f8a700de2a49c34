# Prints the sanitizer reports of a libFuzzer log that come from cmt's own code (tests/fuzz/search.sh):
# any UndefinedBehaviorSanitizer "runtime error", and an AddressSanitizer report whose first or second
# frame lies under `src` (HDF5 itself is not instrumented). The sanitizer's own interceptors
# (memcpy and the like) are not counted: they sit in the fuzz binary, whose path is under `src`
# when the build folder is, and the caller that handed them the pointer is what matters.
/runtime error:/ { print; found = 1 }
/ERROR: AddressSanitizer/ { report = $0; frames = 0 }
/^ *#[0-9]+ / && report != "" {
  if ($0 ~ / in __(interceptor|asan|sanitizer)_/) next
  if (index($0, src) > 0) { print report; print; found = 1; report = "" }
  else if (++frames >= 2) report = ""
}
END { exit !found }
