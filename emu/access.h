// Warp-wide memory requests rebuilt from per-lane PTX calls (emu/access.cpp). cp.async is not a
// warp collective (lanes may skip a copy), so the lanes' calls are grouped into warp instructions
// here and counted as they arrive.
#pragma once

namespace cmt::emu {

// One lane's cp.async of 16 bytes (src_bytes of them read from global memory).
void access_cp_async(const void* smem, const void* gmem, int src_bytes);
// The lane's cp.async.commit_group: later copies belong to the next warp instructions.
void access_cp_async_commit();

}  // namespace cmt::emu
