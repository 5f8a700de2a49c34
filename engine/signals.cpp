// The stop request: a flag set by one watcher thread (routed) or by a handler (not routed).
#include "engine/signals.h"

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <thread>

namespace cmt {

namespace {

std::atomic<int> g_stop{0};     // lock-free: safe in a handler and across threads
std::atomic<bool> g_armed{false};
std::atomic<bool> g_routed{false};
std::atomic<bool> g_ignored_at_start[3] = {false, false, false};  // SIGTERM, SIGUSR1, SIGINT
constexpr int kStopSignals[3] = {SIGTERM, SIGUSR1, SIGINT};

int index_of(int sig) { return sig == SIGTERM ? 0 : sig == SIGUSR1 ? 1 : 2; }

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kStopSignals) sigaddset(&set, sig);
  return set;
}

extern "C" void on_stop_signal(int sig) { g_stop.store(sig); }

// What the process does without cmt's routing: the signal's default action (termination).
[[noreturn]] void default_action(int sig) {
  std::signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  for (;;) std::raise(sig);
}

void watch(sigset_t set) {
  pthread_setname_np(pthread_self(), "cmt-signals");
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    // Before training starts the signal does what it did without cmt's routing (a background job
    // of a script ignores Ctrl-C); a second Ctrl-C ends the process at once.
    if (sig == SIGINT && g_stop.load() == SIGINT) default_action(sig);
    if (g_armed.load()) g_stop.store(sig);
    else if (!g_ignored_at_start[index_of(sig)].load()) default_action(sig);
  }
}

}  // namespace

void route_stop_signals() {
  if (g_routed.exchange(true)) return;
  for (int sig : kStopSignals) {
    struct sigaction now {};
    sigaction(sig, nullptr, &now);
    g_ignored_at_start[index_of(sig)].store(now.sa_handler == SIG_IGN);
  }
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread started from here on
  std::thread(watch, set).detach();
}

void install_stop_handlers() {
  g_armed.store(true);
  // Without routing (a test, a library user's process) the handlers take the signals. With it they
  // only serve threads that libraries started before main() (OpenBLAS's pool), which never
  // block them and run no JIT code.
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
  // Ctrl-C checkpoints too; a second Ctrl-C (the handler resets itself) stops at once.
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
}

int stop_requested() { return g_stop.load(); }

void clear_stop_request() { g_stop.store(0); }

}  // namespace cmt
