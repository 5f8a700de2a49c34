// Where a tensor lives: the CPU or one CUDA device.
#pragma once
#include <string>

namespace cmt {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static constexpr Device cpu() { return Device{DeviceKind::cpu, 0}; }
  static constexpr Device cuda(int i = 0) { return Device{DeviceKind::cuda, i}; }
  constexpr bool is_cpu() const { return kind == DeviceKind::cpu; }
  constexpr bool is_cuda() const { return kind == DeviceKind::cuda; }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
  friend constexpr bool operator==(Device a, Device b) { return a.kind == b.kind && (a.is_cpu() || a.index == b.index); }
};

// Parses "cpu", "cuda", "cuda:1"; throws cmt::Error otherwise.
Device parse_device(const std::string& text);

}  // namespace cmt
