# Prints the sanitizer reports of a libFuzzer log that come from cmt's own code (tests/fuzz/search.sh):
# any UndefinedBehaviorSanitizer "runtime error", and an AddressSanitizer report whose frame #0 or #1
# lies under `src` (HDF5 itself is not instrumented). Exits 0 when it printed one, else 1.
/runtime error:/ { print; found = 1 }
/ERROR: AddressSanitizer/ { report = $0; frames = 0 }
/^ *#[0-9]+ / && report != "" {
  if (index($0, src) > 0) { print report; print; found = 1; report = "" }
  else if (++frames >= 2) report = ""
}
END { exit !found }
