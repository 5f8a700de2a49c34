// Async-signal-safe stop flag.
#include "engine/signals.h"

#include <csignal>

namespace cmt {

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int sig) { g_stop = sig; }
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
  // Ctrl-C checkpoints too; a second Ctrl-C (the handler resets itself) stops at once.
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
}

int stop_requested() { return static_cast<int>(g_stop); }

void clear_stop_request() { g_stop = 0; }

}  // namespace cmt
