// SIGTERM, SIGUSR1 (what Slurm sends before a time limit) and SIGINT (Ctrl-C) ask the trainer to
// checkpoint and stop.
#pragma once

namespace cmt {

void install_stop_handlers();   // idempotent
int stop_requested();           // the signal number received, or 0
void clear_stop_request();      // for tests

}  // namespace cmt
