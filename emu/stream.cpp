// Streams, events and CUDA Graphs of the emulated device. Work is queued and runs only when
// something waits for it, in stream order; when several streams are drained their tasks interleave
// at random, so a consumer that lacks an event or stream wait on its producer reads stale data.
#include "emu/stream.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "emu/internal.h"
#include "emu/memory.h"

struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;

namespace cmt::emu {

namespace {

struct Task {
  std::string what;
  std::function<void()> fn;
  std::uint64_t seq = 0;
  // A stream wait: before this task runs, the waited-for stream runs up to wait_seq.
  cudaStream_t wait_stream = nullptr;
  std::uint64_t wait_seq = 0;
  bool is_wait = false;
};

struct Capture;

struct StreamState {
  std::deque<Task> queue;
  unsigned flags = 0;
  bool legacy = false;
  Capture* capture = nullptr;
  std::uint64_t last_seq = 0;  // seq of the last task queued
};

struct Capture {
  std::vector<Task> tasks;
  cudaStream_t origin = nullptr;
  bool invalid = false;
  std::set<cudaStream_t> joined;
};

struct EventState {
  unsigned flags = 0;
  cudaStream_t stream = nullptr;
  std::uint64_t seq = 0;
  bool recorded = false, done = false, captured = false;
  Capture* capture = nullptr;
  std::chrono::steady_clock::time_point when{};
};

struct Runtime {
  std::recursive_mutex mutex;
  std::set<StreamState*> streams;
  StreamState legacy;
  std::uint64_t seq = 0;
  std::mt19937 rng{12345};
  int captures = 0;
  Runtime() {
    legacy.legacy = true;
    const char* env = std::getenv("CMT_EMU_SEED");
    if (env) rng.seed(static_cast<unsigned>(std::strtoul(env, nullptr, 10)));
  }
};

Runtime& rt() {
  static auto* r = new Runtime;
  return *r;
}

StreamState* state(cudaStream_t s) { return s == nullptr ? &rt().legacy : reinterpret_cast<StreamState*>(s); }

void run_task(Task& t);

// Runs stream s's tasks with seq <= upto.
void drain_upto(StreamState* s, std::uint64_t upto) {
  while (!s->queue.empty() && s->queue.front().seq <= upto) {
    Task t = std::move(s->queue.front());
    s->queue.pop_front();
    // The legacy stream waits for earlier work of blocking streams, and they for earlier legacy work.
    if (s->legacy) {
      for (StreamState* o : rt().streams)
        if (!(o->flags & cudaStreamNonBlocking)) drain_upto(o, t.seq);
    } else if (!(s->flags & cudaStreamNonBlocking)) {
      drain_upto(&rt().legacy, t.seq);
    }
    if (t.is_wait) {
      if (rt().streams.count(state(t.wait_stream)) || t.wait_stream == nullptr) drain_upto(state(t.wait_stream), t.wait_seq);
      continue;
    }
    run_task(t);
  }
}

void run_task(Task& t) {
  begin_execution();
  t.fn();
  end_execution();
}

void drain_everything() {
  Runtime& r = rt();
  for (;;) {
    std::vector<StreamState*> busy;
    if (!r.legacy.queue.empty()) busy.push_back(&r.legacy);
    for (StreamState* s : r.streams)
      if (!s->queue.empty()) busy.push_back(s);
    if (busy.empty()) return;
    StreamState* s = busy[std::uniform_int_distribution<std::size_t>(0, busy.size() - 1)(r.rng)];
    drain_upto(s, s->queue.front().seq);  // one task (and what it depends on)
  }
}

cudaError_t push(StreamState* s, Task t) {
  Runtime& r = rt();
  if (s->capture) {
    if (s->capture->invalid) return cudaErrorStreamCaptureInvalidated;
    s->capture->tasks.push_back(std::move(t));
    return cudaSuccess;
  }
  t.seq = ++r.seq;
  s->last_seq = t.seq;
  s->queue.push_back(std::move(t));
  return cudaSuccess;
}

}  // namespace

void lock_runtime() { rt().mutex.lock(); }
void unlock_runtime() { rt().mutex.unlock(); }

bool is_valid_stream(cudaStream_t s) {
  RuntimeLock lock;
  return s == nullptr || rt().streams.count(state(s)) > 0;
}

bool is_capturing(cudaStream_t s) {
  RuntimeLock lock;
  return is_valid_stream(s) && state(s)->capture != nullptr;
}

bool any_capture() {
  RuntimeLock lock;
  return rt().captures > 0;
}

void invalidate_captures(const char* call) {
  RuntimeLock lock;
  std::fprintf(stderr, "cmt emulator: %s is not allowed while a CUDA Graph capture is under way; the capture is invalidated\n", call);
  for (StreamState* s : rt().streams)
    if (s->capture) s->capture->invalid = true;
}

cudaError_t enqueue(cudaStream_t stream, std::string what, std::function<void()> fn) {
  RuntimeLock lock;
  if (!is_valid_stream(stream)) fail_host("%s on a stream that does not exist (destroyed?)", what.c_str());
  if (stream == nullptr && any_capture()) {
    invalidate_captures((what + " on the legacy default stream").c_str());
    return cudaErrorStreamCaptureImplicit;
  }
  Task t;
  t.what = std::move(what);
  t.fn = std::move(fn);
  return push(state(stream), std::move(t));
}

void drain_all() {
  RuntimeLock lock;
  drain_everything();
}

void drain_stream(cudaStream_t s) {
  RuntimeLock lock;
  StreamState* st = state(s);
  if (!st->queue.empty()) drain_upto(st, st->queue.back().seq);
}

}  // namespace cmt::emu

using namespace cmt::emu;

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  RuntimeLock lock;
  if (!stream) return cudaErrorInvalidValue;
  auto* s = new StreamState;
  s->flags = flags;
  rt().streams.insert(s);
  *stream = reinterpret_cast<cudaStream_t>(s);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  RuntimeLock lock;
  if (stream == nullptr || !rt().streams.count(state(stream))) return cudaErrorInvalidResourceHandle;
  StreamState* s = state(stream);
  if (s->capture) return cudaErrorStreamCaptureUnsupported;
  // Queued work still runs (cudaStreamDestroy does not cancel it).
  if (!s->queue.empty()) drain_upto(s, s->queue.back().seq);
  rt().streams.erase(s);
  delete s;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  RuntimeLock lock;
  if (!is_valid_stream(stream)) return cudaErrorInvalidResourceHandle;
  if (state(stream)->capture || (stream == nullptr && any_capture())) {
    invalidate_captures("cudaStreamSynchronize");
    return cudaErrorStreamCaptureUnsupported;
  }
  drain_stream(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  RuntimeLock lock;
  if (!is_valid_stream(stream)) return cudaErrorInvalidResourceHandle;
  if (state(stream)->capture) {
    invalidate_captures("cudaStreamQuery");
    return cudaErrorStreamCaptureUnsupported;
  }
  drain_stream(stream);  // asking is waiting: the work runs now
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  RuntimeLock lock;
  if (any_capture()) {
    invalidate_captures("cudaDeviceSynchronize");
    return cudaErrorStreamCaptureUnsupported;
  }
  drain_everything();
  return cudaSuccess;
}

// ---- events

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

namespace {
// Events live while a handle or a queued record refers to them: CUDA lets a program destroy an
// event whose record has not run yet.
std::map<EventState*, std::shared_ptr<EventState>>& events() {
  static auto* m = new std::map<EventState*, std::shared_ptr<EventState>>;
  return *m;
}
}  // namespace

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  RuntimeLock lock;
  if (!event) return cudaErrorInvalidValue;
  auto e = std::make_shared<EventState>();
  e->flags = flags;
  events()[e.get()] = e;
  *event = reinterpret_cast<cudaEvent_t>(e.get());
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  RuntimeLock lock;
  if (!event || events().erase(reinterpret_cast<EventState*>(event)) == 0) return cudaErrorInvalidResourceHandle;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  RuntimeLock lock;
  if (!event || !events().count(reinterpret_cast<EventState*>(event)) || !is_valid_stream(stream)) return cudaErrorInvalidResourceHandle;
  auto* e = reinterpret_cast<EventState*>(event);
  StreamState* s = state(stream);
  if (s->capture) {
    e->captured = true;
    e->capture = s->capture;
    e->stream = stream;
    return s->capture->invalid ? cudaErrorStreamCaptureInvalidated : cudaSuccess;
  }
  if (stream == nullptr && any_capture()) {
    invalidate_captures("cudaEventRecord on the legacy default stream");
    return cudaErrorStreamCaptureImplicit;
  }
  e->captured = false;
  e->capture = nullptr;
  e->recorded = true;
  e->done = false;
  e->stream = stream;
  Task t;
  t.what = "cudaEventRecord";
  t.fn = [keep = events().at(e)] {
    keep->done = true;
    keep->when = std::chrono::steady_clock::now();
  };
  push(s, std::move(t));
  e->seq = s->last_seq;
  return cudaSuccess;
}

namespace {
cudaError_t wait_event_host(EventState* e, const char* call) {
  if (e->captured) {
    invalidate_captures(call);
    return cudaErrorCapturedEvent;
  }
  if (!e->recorded) return cudaSuccess;
  if (is_valid_stream(e->stream)) drain_upto(state(e->stream), e->seq);
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  RuntimeLock lock;
  if (!event) return cudaErrorInvalidResourceHandle;
  return wait_event_host(reinterpret_cast<EventState*>(event), "cudaEventSynchronize on a captured event");
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  RuntimeLock lock;
  if (!event) return cudaErrorInvalidResourceHandle;
  return wait_event_host(reinterpret_cast<EventState*>(event), "cudaEventQuery on a captured event");
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  RuntimeLock lock;
  auto* a = reinterpret_cast<EventState*>(start);
  auto* b = reinterpret_cast<EventState*>(end);
  if (!ms || !a || !b) return cudaErrorInvalidValue;
  if ((a->flags | b->flags) & cudaEventDisableTiming) return cudaErrorInvalidResourceHandle;
  if (!a->done || !b->done) return cudaErrorNotReady;
  *ms = std::chrono::duration<float, std::milli>(b->when - a->when).count();
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
  RuntimeLock lock;
  if (!event || !is_valid_stream(stream)) return cudaErrorInvalidResourceHandle;
  auto* e = reinterpret_cast<EventState*>(event);
  StreamState* s = state(stream);
  if (e->captured) {
    // Waiting on a captured event pulls the stream into that capture (a fork of the graph).
    if (!s->capture) {
      s->capture = e->capture;
      e->capture->joined.insert(stream);
    }
    return cudaSuccess;
  }
  if (s->capture) return cudaSuccess;  // a dependency on work outside the graph: already ordered
  if (!e->recorded) return cudaSuccess;
  Task t;
  t.what = "cudaStreamWaitEvent";
  t.is_wait = true;
  t.wait_stream = e->stream;
  t.wait_seq = e->seq;
  return push(s, std::move(t));
}

// ---- graphs

struct CUgraph_st {
  std::vector<Task> tasks;
};
struct CUgraphExec_st {
  std::vector<Task> tasks;
};

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  RuntimeLock lock;
  if (stream == nullptr) return cudaErrorStreamCaptureUnsupported;  // the legacy stream cannot be captured
  if (!is_valid_stream(stream)) return cudaErrorInvalidResourceHandle;
  StreamState* s = state(stream);
  if (s->capture) return cudaErrorStreamCaptureUnsupported;
  s->capture = new Capture;
  s->capture->origin = stream;
  ++rt().captures;
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  RuntimeLock lock;
  if (!is_valid_stream(stream) || !graph) return cudaErrorInvalidValue;
  StreamState* s = state(stream);
  if (!s->capture) return cudaErrorStreamCaptureUnmatched;
  if (s->capture->origin != stream) return cudaErrorStreamCaptureUnmatched;
  Capture* c = s->capture;
  for (StreamState* o : rt().streams)
    if (o->capture == c) o->capture = nullptr;
  --rt().captures;
  *graph = nullptr;
  const bool invalid = c->invalid;
  if (!invalid) {
    auto* g = new CUgraph_st;
    g->tasks = std::move(c->tasks);
    *graph = g;
  }
  delete c;
  return invalid ? cudaErrorStreamCaptureInvalidated : cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  RuntimeLock lock;
  if (!status || !is_valid_stream(stream)) return cudaErrorInvalidValue;
  StreamState* s = state(stream);
  *status = !s->capture ? cudaStreamCaptureStatusNone
                        : (s->capture->invalid ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive);
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph) return cudaErrorInvalidValue;
  auto* x = new CUgraphExec_st;
  x->tasks = graph->tasks;
  *exec = x;
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  RuntimeLock lock;
  if (!exec || !is_valid_stream(stream)) return cudaErrorInvalidResourceHandle;
  StreamState* s = state(stream);
  if (s->capture) return cudaErrorStreamCaptureUnsupported;
  for (const Task& t : exec->tasks) {
    Task c = t;
    c.what = "graph: " + t.what;
    push(s, std::move(c));
  }
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}
