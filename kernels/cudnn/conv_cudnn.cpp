// cuDNN convolution backend: channels-last descriptors, algorithms found once per shape and cached.
#include "kernels/cudnn/conv_cudnn.h"

#include <cudnn.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/common/check.h"

namespace cmt::cudnn {

namespace {

constexpr std::size_t kMaxWorkspace = std::size_t{1} << 30;

// Descriptors and the chosen algorithm of one (pass, math, shape); created once, kept for the process.
struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
  std::size_t ws = 0;
  ~Plan() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

// N,D,H,W,C activations as cuDNN's N,C,(D,)H,W dims with channels-last strides; 2D drops D.
void set_activation(cudnnTensorDescriptor_t t, cudnnDataType_t type, bool two_d, int n, int c, int d, int h, int w) {
  if (two_d) {
    const int dims[4] = {n, c, h, w}, strides[4] = {h * w * c, 1, w * c, c};
    CUDNN_CHECK(cudnnSetTensorNdDescriptor(t, type, 4, dims, strides));
  } else {
    const int dims[5] = {n, c, d, h, w}, strides[5] = {d * h * w * c, 1, h * w * c, w * c, c};
    CUDNN_CHECK(cudnnSetTensorNdDescriptor(t, type, 5, dims, strides));
  }
}

cudnnMathType_t math_type(ConvMath m) { return m == ConvMath::fp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH; }

// The choice among cudnnFind*Ex's results (fastest first): kernels/cudnn/algo_choice.h.
template <typename Perf>
const Perf* pick(const std::vector<Perf>& perf, int returned, ConvMath m) {
  std::vector<AlgoResult> r;
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perf[static_cast<std::size_t>(i)];
    r.push_back({static_cast<int>(p.algo), p.status == CUDNN_STATUS_SUCCESS, p.memory, p.mathType == CUDNN_FMA_MATH});
  }
  const int i = pick_algorithm(r, m, kMaxWorkspace);
  return i < 0 ? nullptr : &perf[static_cast<std::size_t>(i)];
}

// Scratch for the search: the largest workspace any algorithm of the pass asks for, within the cap;
// an algorithm that needs more than is given is reported as failed by cudnnFind*Ex and skipped.
template <typename SizeOf>
std::size_t find_workspace_bytes(int algorithms, SizeOf&& size_of) {
  std::size_t most = 0;
  for (int a = 0; a < algorithms; ++a) {
    std::size_t bytes = 0;
    if (size_of(a, &bytes) == CUDNN_STATUS_SUCCESS && bytes <= kMaxWorkspace) most = std::max(most, bytes);
  }
  return most;
}

std::mutex g_mu;
std::map<std::string, std::unique_ptr<Plan>>& cache() {
  static std::map<std::string, std::unique_ptr<Plan>> c;
  return c;
}

// The buffers of the call that runs the search: inputs a, b and the output the search overwrites.
struct Buffers {
  const void* a;
  const void* b;
  void* out;
};

Plan& plan_for(cudnnHandle_t h, ConvPass pass, const ConvDesc& d, ConvMath m, const Buffers& io, const Scratch& scratch) {
  const std::string key = std::string(conv_pass_name(pass)) + conv_math_name(m) + d.str();
  std::lock_guard<std::mutex> lock(g_mu);
  auto& slot = cache()[key];
  if (slot) return *slot;
  auto p = std::make_unique<Plan>();
  const cudnnDataType_t type = m == ConvMath::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  const bool two_d = d.D == 1 && d.T == 1 && d.Z == 1;
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->bias));
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
  set_activation(p->x, type, two_d, d.N, d.C, d.D, d.H, d.W);
  set_activation(p->y, type, two_d, d.N, d.K, d.Z, d.P, d.Q);
  set_activation(p->bias, type, two_d, 1, d.K, 1, 1, 1);
  const int nd = two_d ? 2 : 3, off = two_d ? 1 : 0;
  if (two_d) {
    const int wd[4] = {d.K, d.Cg(), d.R, d.S};
    CUDNN_CHECK(cudnnSetFilterNdDescriptor(p->w, type, CUDNN_TENSOR_NHWC, 4, wd));
  } else {
    const int wd[5] = {d.K, d.Cg(), d.T, d.R, d.S};
    CUDNN_CHECK(cudnnSetFilterNdDescriptor(p->w, type, CUDNN_TENSOR_NHWC, 5, wd));
  }
  CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(p->conv, nd, d.pad + off, d.stride + off, d.dil + off, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT));
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(p->conv, d.groups));
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, math_type(m)));
  int returned = 0;
  auto choose = [&](const auto* best) {
    CMT_CHECK(best, "cuDNN has no " << conv_pass_name(pass) << " algorithm for " << d.str() << " in " << conv_math_name(m));
    p->algo = static_cast<int>(best->algo);
    p->ws = best->memory;
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, best->mathType));
  };
  if (pass == ConvPass::fprop) {
    const std::size_t bytes = find_workspace_bytes(CUDNN_CONVOLUTION_FWD_ALGO_COUNT, [&](int a, std::size_t* n) {
      return cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->conv, p->y, static_cast<cudnnConvolutionFwdAlgo_t>(a), n);
    });
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, p->x, io.a, p->w, io.b, p->conv, p->y, io.out, static_cast<int>(perf.size()),
                                                       &returned, perf.data(), bytes ? scratch(bytes) : nullptr, bytes));
    choose(pick(perf, returned, m));
  } else if (pass == ConvPass::dgrad) {
    const std::size_t bytes = find_workspace_bytes(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, [&](int a, std::size_t* n) {
      return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w, p->y, p->conv, p->x, static_cast<cudnnConvolutionBwdDataAlgo_t>(a), n);
    });
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
    CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, p->w, io.b, p->y, io.a, p->conv, p->x, io.out, static_cast<int>(perf.size()),
                                                            &returned, perf.data(), bytes ? scratch(bytes) : nullptr, bytes));
    choose(pick(perf, returned, m));
  } else {
    const std::size_t bytes = find_workspace_bytes(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, [&](int a, std::size_t* n) {
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x, p->y, p->conv, p->w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(a), n);
    });
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
    CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, p->x, io.a, p->y, io.b, p->conv, p->w, io.out, static_cast<int>(perf.size()),
                                                              &returned, perf.data(), bytes ? scratch(bytes) : nullptr, bytes));
    choose(pick(perf, returned, m));
  }
  slot = std::move(p);
  return *slot;
}

void* run_workspace(const Plan& p, const Scratch& scratch) { return p.ws ? scratch(p.ws) : nullptr; }

}  // namespace

void conv_fprop(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* x, const void* w, const void* bias, void* y,
                const Scratch& scratch) {
  const Plan& p = plan_for(h, ConvPass::fprop, d, math, {x, w, y}, scratch);
  void* ws = run_workspace(p, scratch);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionForward(h, &one, p.x, x, p.w, w, p.conv, static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), ws, p.ws,
                                      &zero, p.y, y));
  if (bias) CUDNN_CHECK(cudnnAddTensor(h, &one, p.bias, bias, &one, p.y, y));
}

void conv_dgrad(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* dy, const void* w, void* dx, const Scratch& scratch) {
  const Plan& p = plan_for(h, ConvPass::dgrad, d, math, {dy, w, dx}, scratch);
  void* ws = run_workspace(p, scratch);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p.w, w, p.y, dy, p.conv, static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), ws,
                                           p.ws, &zero, p.x, dx));
}

void conv_wgrad(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* x, const void* dy, void* dw, const Scratch& scratch) {
  const Plan& p = plan_for(h, ConvPass::wgrad, d, math, {x, dy, dw}, scratch);
  void* ws = run_workspace(p, scratch);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, p.x, x, p.y, dy, p.conv, static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo),
                                             ws, p.ws, &zero, p.w, dw));
}

}  // namespace cmt::cudnn
