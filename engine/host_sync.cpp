// Host-sync accounting (see host_sync.h): thread-local, because each rank/thread runs its own step.
#include "engine/host_sync.h"

#include "kernels/common/check.h"

namespace cmt {

namespace {
thread_local const char* t_region = nullptr;
thread_local std::uint64_t t_count = 0;
}  // namespace

void note_host_sync(const char* what) {
  ++t_count;
  CMT_CHECK(t_region == nullptr, "host sync (" << what << ") inside " << t_region
                                               << ": this region must stay on the device (no item(), no device-to-host copy, no "
                                                  "synchronize)");
}

std::uint64_t host_sync_count() { return t_count; }

NoHostSyncScope::NoHostSyncScope(const char* region) : previous_(t_region) { t_region = region; }
NoHostSyncScope::~NoHostSyncScope() { t_region = previous_; }

}  // namespace cmt
