// The drivers' modes: each takes a case of the table and reports what it found.
#pragma once
#include <string>
#include <vector>

#include "ops/backends.h"
#include "ops/op_case.h"

namespace cmt::opcase {

// Exit codes of one case: 0 passed, 1 failed, 77 the backend cannot run here (CTest: skipped).
int run_on_backend(const OpCase& c, const Backend& b);
int run_finite_differences(const OpCase& c);
// Writes the family's oracle cases (inputs, cmt's outputs on `device`, checks) under dir for
// tests/ops/torch_oracle.py; returns how many.
int dump_for_torch(const std::string& family, const std::string& dir, Device device);
// Median time of each case on each available backend and on the CPU, as a table and JSON.
int time_cases(const std::string& filter, int repeats, const std::string& json_path);

// Each comparison passes on equal outputs and fails on perturbed, missing or reshaped ones.
int self_check();

Tensors copy_to(const Tensors& in, Device device);  // deep copies
bool full_sweep();                                   // CMT_OPS_FULL=1
bool has_gradients(const OpCase& c);                 // f32 inputs and declared gradients

}  // namespace cmt::opcase
