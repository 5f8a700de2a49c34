// HDF5 1.10 itself crashes or loops forever on some corrupt files, which cmt cannot fix. Before cmt
// reads a dataset, checkpoint or weights file in its own process, a forked child process reads the
// file's structure first, under a time limit and a memory limit; only when the child succeeds does
// the process open the file itself. docs/robustness.md describes the guard, its limits and cost.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace cmt::hdf5_guard {

struct Limits {
  double seconds = 30;                        // wall clock for the child (CMT_HDF5_GUARD_SECONDS)
  std::uint64_t memory_mb = 4096;             // address space the child may add (CMT_HDF5_GUARD_MEMORY_MB)
};

// The limits from the environment; CMT_HDF5_GUARD=off turns the guard off (trusted files only).
// A malformed value is a cmt::Error naming the variable.
Limits limits_from_env();
bool enabled();

// Runs `read_structure(path)` in a forked child that calls only HDF5 and cmt's reading code, then
// _exit: no CUDA, MPI or thread of the parent is touched there. Returns when the child finished
// without error; throws cmt::Error with the child's own cmt::Error message, or with what happened
// to the child: killed by a signal ("HDF5 crashed (SIGSEGV) ..."), over the time limit ("did not
// finish ... within N s"), out of its memory limit. The message does not name the file: callers
// prefix it, as for every other error of theirs. Skipped, returning at once, when the guard is
// off, or for a file this process checked or wrote and that is unchanged since (same inode, size,
// modification time and first and last 64 KiB).
void check(const std::string& path, const std::function<void(const std::string&)>& read_structure);
void check(const std::string& path, const std::function<void(const std::string&)>& read_structure, const Limits& limits);

// A file this process has just written and renamed into place (a checkpoint, a dataset): reading
// it again needs no check while it is unchanged.
void trust_written(const std::string& path);

// How many children check() has started in this process (tests, cost measurements).
std::int64_t checks_run();

// Every cmt reader of HDF5 datasets holds this lock around its HDF5 calls (Debian's HDF5 is not
// thread-safe), and check() forks under it: no thread is inside HDF5 while the child is created.
std::recursive_mutex& library_mutex();

}  // namespace cmt::hdf5_guard
