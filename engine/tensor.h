// Tensor: a typed, shaped view of shared, device-resident storage. Contiguous by default;
// view() reshapes and narrow() slices the leading dimension without copying.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/shape.h"
#include "kernels/common/check.h"
#include "kernels/common/dtype.h"

namespace cmt {

namespace detail {
class PlanState;
}

// A block of memory from one of the caching allocators (returned there when released), or a block
// of a step's planned arena (engine/memory_plan.h) while a plan serves this thread.
class Storage {
 public:
  Storage(std::size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_;
  std::shared_ptr<detail::PlanState> plan_;  // set when a memory plan saw this allocation
  std::uint64_t plan_token_ = 0;
  bool planned_ = false;                     // data_ is in the plan's arena
};

template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<std::int16_t>() { return DType::i16; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::i64; }

class Tensor {
 public:
  Tensor() = default;  // undefined tensor

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
    CMT_CHECK(static_cast<std::int64_t>(values.size()) == shape.numel(),
              "Tensor::from_vector: " << values.size() << " values for shape " << shape.str());
    Tensor t = empty(shape, dtype_of<T>(), Device::cpu());
    if (!values.empty()) std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t dim(int i) const;  // negative counts from the end
  std::int64_t numel() const { return shape_.numel(); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool is_cuda() const { return device_.is_cuda(); }

  void* raw() const;
  template <typename T>
  T* data() const {
    CMT_CHECK(dtype_of<T>() == dtype_, "tensor " << describe() << " accessed as " << dtype_name(dtype_of<T>()));
    return static_cast<T*>(raw());
  }
  // Half-precision tensors have no C++ element type of their own: access their bits.
  std::uint16_t* data_u16() const;

  Tensor view(const Shape& shape) const;                          // same elements, new shape
  Tensor narrow(std::int64_t start, std::int64_t length) const;   // rows [start, start+length) of dim 0
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }
  // No other tensor (copy or view) holds this storage: an op may then overwrite it in place.
  bool sole_owner() const { return storage_ != nullptr && storage_.use_count() == 1; }

  // Synchronous copy to another device (for setup and tests; hot paths use ops::copy on a Context).
  Tensor to(Device device) const;
  template <typename T>
  std::vector<T> to_vector() const {
    Tensor host = device_.is_cpu() ? *this : to(Device::cpu());
    const T* p = host.data<T>();
    return std::vector<T>(p, p + numel());
  }
  std::vector<float> to_float_vector() const;  // any float dtype, widened

  std::string describe() const;  // "f32[2, 3] cuda:0"

 private:
  std::shared_ptr<Storage> storage_;
  std::size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
  Device device_;
};

}  // namespace cmt
