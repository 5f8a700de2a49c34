// cuDNN convolution backend: channels-last descriptors, algorithms found once per shape and cached.
#include "kernels/cudnn/conv_cudnn.h"

#include <cudnn.h>

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

template <typename Perf>
const Perf* pick(const std::vector<Perf>& perf, int returned, ConvMath m) {
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perf[static_cast<std::size_t>(i)];
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kMaxWorkspace) continue;
    if (m == ConvMath::fp32 && p.mathType != CUDNN_FMA_MATH && p.mathType != CUDNN_DEFAULT_MATH) continue;
    return &p;
  }
  return nullptr;
}

std::mutex g_mu;
std::map<std::string, std::unique_ptr<Plan>>& cache() {
  static std::map<std::string, std::unique_ptr<Plan>> c;
  return c;
}

Plan& plan_for(cudnnHandle_t h, ConvPass pass, const ConvDesc& d, ConvMath m) {
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
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(h, p->x, p->w, p->conv, p->y, static_cast<int>(perf.size()), &returned, perf.data()));
    choose(pick(perf, returned, m));
  } else if (pass == ConvPass::dgrad) {
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
    CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(h, p->w, p->y, p->conv, p->x, static_cast<int>(perf.size()), &returned, perf.data()));
    choose(pick(perf, returned, m));
  } else {
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
    CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(h, p->x, p->y, p->conv, p->w, static_cast<int>(perf.size()), &returned, perf.data()));
    choose(pick(perf, returned, m));
  }
  slot = std::move(p);
  return *slot;
}

void check_ws(const Plan& p, std::size_t ws_bytes) {
  CMT_CHECK(ws_bytes >= p.ws, "cuDNN conv needs " << p.ws << " bytes of workspace, got " << ws_bytes);
}

}  // namespace

std::size_t conv_workspace_bytes(cudnnHandle_t h, ConvPass pass, const ConvDesc& d, ConvMath math) {
  return plan_for(h, pass, d, math).ws;
}

void conv_fprop(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* x, const void* w, const void* bias, void* y,
                void* ws, std::size_t ws_bytes) {
  Plan& p = plan_for(h, ConvPass::fprop, d, math);
  check_ws(p, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionForward(h, &one, p.x, x, p.w, w, p.conv, static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), ws, ws_bytes,
                                      &zero, p.y, y));
  if (bias) CUDNN_CHECK(cudnnAddTensor(h, &one, p.bias, bias, &one, p.y, y));
}

void conv_dgrad(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* dy, const void* w, void* dx, void* ws,
                std::size_t ws_bytes) {
  Plan& p = plan_for(h, ConvPass::dgrad, d, math);
  check_ws(p, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p.w, w, p.y, dy, p.conv, static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), ws,
                                           ws_bytes, &zero, p.x, dx));
}

void conv_wgrad(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* x, const void* dy, void* dw, void* ws,
                std::size_t ws_bytes) {
  Plan& p = plan_for(h, ConvPass::wgrad, d, math);
  check_ws(p, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, p.x, x, p.y, dy, p.conv, static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo),
                                             ws, ws_bytes, &zero, p.w, dw));
}

}  // namespace cmt::cudnn
