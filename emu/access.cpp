// Access counters of cp.async (see access.h and counters.h). The model:
//  - A warp instruction is the set of lanes of one warp whose call has the same position in the
//    lane's own stream of cp.async calls: (commit groups closed so far, copies issued since the
//    last commit). Lanes that skip a copy under `if` therefore only shift positions within one
//    commit group; kernels that skip whole warps (as conv_igemm.cuh does) group exactly.
//  - Global side: one request per warp instruction; its sectors are the distinct 32-byte sectors
//    of [gmem, gmem + src_bytes) over its lanes (src_bytes 0 reads nothing). A full warp of
//    contiguous 16-byte copies needs 16 sectors; 32 means every lane reads a sector of its own.
//    The bytes asked for are counted too: bytes / (32 * sectors) is the share of fetched bytes used.
//  - Shared side: one request; 16-byte accesses are served a quarter-warp (lanes 8q..8q+7, 128
//    bytes) per wavefront, and a quarter needs as many wavefronts as the most distinct 4-byte
//    words falling in one bank (bank = address / 4 % 32). A full warp without conflicts: 4.
// Both are monotone in the lanes that arrived, so each lane adds its increment at once: nothing
// is left to flush when a block or launch ends.
#include "emu/access.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "emu/counters.h"
#include "emu/sanitizer.h"
#include "emu/scheduler.h"

namespace cmt::emu {

namespace {

struct Group {
  unsigned lanes = 0;
  std::vector<std::uintptr_t> sectors;
  std::array<std::vector<std::uintptr_t>, 4> words;  // per quarter-warp
  std::uint64_t wavefronts = 0;
};

struct LanePosition {
  std::uint64_t commits = 0, issued = 0;
};

// The block running on this host thread (its fibers never run elsewhere, so no lock is needed).
struct BlockState {
  const Launch* launch = nullptr;
  std::uint64_t seq = 0;
  uint3 block{};
  int threads = 0;
  std::vector<LanePosition> lanes;
  std::map<std::tuple<int, std::uint64_t, std::uint64_t>, Group> groups;  // (warp, commits, issued)
};

thread_local BlockState tl_state;

BlockState& state(const Thread& t) {
  BlockState& s = tl_state;
  if (s.launch != t.launch || s.seq != t.launch->seq || s.block.x != t.block_idx.x || s.block.y != t.block_idx.y ||
      s.block.z != t.block_idx.z) {
    s.launch = t.launch;
    s.seq = t.launch->seq;
    s.block = t.block_idx;
    s.threads = static_cast<int>(t.block_dim.x * t.block_dim.y * t.block_dim.z);
    s.lanes.assign(static_cast<std::size_t>(s.threads), LanePosition{});
    s.groups.clear();  // copies of lanes that never came (partial warps) belong to the old block
  }
  return s;
}

bool insert(std::vector<std::uintptr_t>& set, std::uintptr_t v) {
  if (std::find(set.begin(), set.end(), v) != set.end()) return false;
  set.push_back(v);
  return true;
}

std::uint64_t wavefronts(const Group& g) {
  std::uint64_t total = 0;
  for (const auto& quarter : g.words) {
    int per_bank[32] = {}, most = 0;
    for (std::uintptr_t w : quarter) most = std::max(most, ++per_bank[w % 32]);
    total += static_cast<std::uint64_t>(most);
  }
  return total;
}

}  // namespace

void access_cp_async(const void* smem, const void* gmem, int src_bytes) {
  const Thread& t = current();
  sanitizer::Quiet quiet;  // the emulator's bookkeeping, not the lane's accesses (sanitizer.h)
  BlockState& s = state(t);
  LanePosition& pos = s.lanes[static_cast<std::size_t>(t.linear)];
  const auto key = std::make_tuple(t.warp, pos.commits, pos.issued++);
  Group& g = s.groups[key];
  KernelCounters d;
  if (g.lanes == 0) d.async_requests = d.shared_requests = 1;
  g.lanes |= 1u << t.lane;
  if (src_bytes > 0) {
    d.async_bytes = static_cast<std::uint64_t>(src_bytes);
    const auto a = reinterpret_cast<std::uintptr_t>(gmem);
    for (std::uintptr_t sector = a / 32; sector <= (a + static_cast<std::uintptr_t>(src_bytes) - 1) / 32; ++sector)
      d.async_sectors += insert(g.sectors, sector) ? 1 : 0;
  }
  bool more = false;
  auto& quarter = g.words[static_cast<std::size_t>(t.lane / 8)];
  for (std::uintptr_t w = 0; w < 4; ++w) more = insert(quarter, reinterpret_cast<std::uintptr_t>(smem) / 4 + w) || more;
  if (more) {
    const std::uint64_t now = wavefronts(g);
    d.shared_wavefronts = now - g.wavefronts;
    g.wavefronts = now;
  }
  // Every lane of the warp is in: the instruction is complete.
  const int in_warp = std::min(32, s.threads - 32 * t.warp);
  if (g.lanes == (in_warp == 32 ? ~0u : (1u << in_warp) - 1u)) s.groups.erase(key);
  count_requests(d);
}

void access_cp_async_commit() {
  const Thread& t = current();
  sanitizer::Quiet quiet;
  LanePosition& pos = state(t).lanes[static_cast<std::size_t>(t.linear)];
  ++pos.commits;
  pos.issued = 0;
}

}  // namespace cmt::emu
