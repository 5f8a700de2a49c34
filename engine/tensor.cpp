// Tensor and Storage.
#include "engine/tensor.h"

#include <cstring>

#include "engine/allocator.h"
#include "engine/host_sync.h"
#include "engine/memory_plan.h"
#include "kernels/common/float16.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cmt {

Storage::Storage(std::size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (detail::PlanState* plan = detail::active_plan(device)) {
    plan_ = plan->shared_from_this();
    planned_ = plan->allocate(bytes, &data_, &plan_token_);
  }
  if (!planned_) data_ = allocator_for(device).allocate(bytes);
}

Storage::~Storage() {
  if (plan_) plan_->release(plan_token_, planned_);
  if (!planned_) allocator_for(device_).deallocate(data_, bytes_);
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), device);
  return t;
}

std::int64_t Tensor::dim(int i) const {
  const int r = rank();
  const int k = i < 0 ? i + r : i;
  CMT_CHECK(k >= 0 && k < r, "dimension " << i << " out of range for " << describe());
  return shape_[k];
}

void* Tensor::raw() const {
  CMT_CHECK(defined(), "use of an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_bytes_;
}

std::uint16_t* Tensor::data_u16() const {
  CMT_CHECK(dtype_size(dtype_) == 2, "tensor " << describe() << " accessed as 16-bit");
  return static_cast<std::uint16_t*>(raw());
}

Tensor Tensor::view(const Shape& shape) const {
  CMT_CHECK(shape.numel() == numel(), "cannot view " << describe() << " as " << shape.str());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::narrow(std::int64_t start, std::int64_t length) const {
  CMT_CHECK(rank() >= 1, "narrow of a rank-0 tensor");
  CMT_CHECK(start >= 0 && length >= 0 && start + length <= shape_[0],
            "narrow [" << start << ", " << start + length << ") out of range for " << describe());
  Tensor t = *this;
  const std::int64_t row = shape_[0] ? numel() / shape_[0] : 0;
  t.offset_bytes_ += static_cast<std::size_t>(start * row) * dtype_size(dtype_);
  t.shape_[0] = length;
  return t;
}

Tensor Tensor::to(Device device) const {
  CMT_CHECK(defined(), "copy of an undefined tensor");
  Tensor out = empty(shape_, dtype_, device);
  if (nbytes() == 0) return out;
  if (device_.is_cpu() && device.is_cpu()) {
    std::memcpy(out.raw(), raw(), nbytes());
    return out;
  }
  note_host_sync("Tensor::to across devices");
#if defined(CMT_WITH_CUDA)
  // Contexts use non-blocking streams, which cudaMemcpy does not wait for: finish all work first.
  CUDA_CHECK(cudaDeviceSynchronize());
  CUDA_CHECK(cudaMemcpy(out.raw(), raw(), nbytes(), cudaMemcpyDefault));
#else
  CMT_THROW("cannot copy " << describe() << " to " << device.str() << ": built without CUDA");
#endif
  return out;
}

std::vector<float> Tensor::to_float_vector() const {
  Tensor host = device_.is_cpu() ? *this : to(Device::cpu());
  std::vector<float> out(static_cast<std::size_t>(numel()));
  for (std::int64_t i = 0; i < numel(); ++i) {
    switch (dtype_) {
      case DType::f32: out[i] = host.data<float>()[i]; break;
      case DType::bf16: out[i] = num::bf16_to_float(host.data_u16()[i]); break;
      case DType::f16: out[i] = num::f16_to_float(host.data_u16()[i]); break;
      default: CMT_THROW("to_float_vector of non-float tensor " << describe());
    }
  }
  return out;
}

std::string Tensor::describe() const {
  if (!defined()) return "<undefined tensor>";
  return std::string(dtype_name(dtype_)) + shape_.str() + " " + device_.str();
}

}  // namespace cmt
