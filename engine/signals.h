// SIGTERM, SIGUSR1 (what Slurm sends before a time limit) and SIGINT (Ctrl-C) ask the trainer to
// checkpoint and stop.
//
// A program routes them first thing in main(), before any thread exists: every thread then blocks
// them and one watcher thread takes them with sigwait, so no signal handler ever runs on a compute
// thread. That matters: oneDNN's JIT sgemm (Debian 12's oneDNN 2.6) points the stack pointer into a
// heap block while it runs, and a handler's frame pushed there corrupts the heap.
#pragma once

namespace cmt {

void route_stop_signals();      // once, in main(), before any other thread starts
void install_stop_handlers();   // from now on the signals request a stop; idempotent
int stop_requested();           // the signal number received, or 0
void clear_stop_request();      // for tests

}  // namespace cmt
