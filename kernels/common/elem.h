// Element storage for the memory-bound ops: f32 as float, bf16 as its 16 bits; arithmetic is always in float.
#pragma once
#include <cstdint>

#include "float16.h"
#include "macros.h"

namespace cmt::elem {

CMT_HD float load(float v) { return v; }
CMT_HD float load(std::uint16_t bits) { return num::bf16_to_float(bits); }
CMT_HD void store(float& out, float v) { out = v; }
CMT_HD void store(std::uint16_t& out, float v) { out = num::float_to_bf16(v); }  // round to nearest even

}  // namespace cmt::elem
