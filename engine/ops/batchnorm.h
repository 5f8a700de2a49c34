// Batch normalisation over N,D,H,W,C tensors (2D is D=1): training, eval and backward, like torch.nn.BatchNorm3d.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// An activation applied by batch norm in the same pass (CPU tensors only): the graph's BN -> ReLU/SiLU
// pairs, one read and one write of the tensor instead of two of each. The results are those of batch
// norm followed by the activation op, bit for bit; the backward recomputes the activation's input from
// batch norm's kept input, so the activation keeps nothing.
enum class BnActivation { none, relu, silu };

struct BatchNormSaved {
  Tensor mean, invstd;  // batch statistics kept for backward, [C]
  BnActivation act = BnActivation::none;
  Tensor beta;  // with an activation: the shift, to recompute its input
};

// x (N,D,H,W,C) f32 or bf16 (y and dx in the same dtype; math in float); gamma/beta/running stats f32 [C].
// Normalises with the biased batch variance and updates
// running_mean/running_var in place: r = (1 - momentum) * r + momentum * batch (var unbiased, like torch).
// Refuses N*D*H*W == 1, as torch does.
Tensor batchnorm_forward_train(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                               Tensor& running_mean, Tensor& running_var, float momentum, float eps,
                               BatchNormSaved& saved, BnActivation act = BnActivation::none);
Tensor batchnorm_forward_eval(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                              const Tensor& running_mean, const Tensor& running_var, float eps,
                              BnActivation act = BnActivation::none);

struct BatchNormGrads {
  Tensor dx /*(N,D,H,W,C)*/, dgamma /*[C]*/, dbeta /*[C]*/;
};
// Backward of the training-mode forward (batch statistics in `saved`; with its activation, dy is the
// gradient of the activation's output). dx_into_dy: on the CPU, dx is written over dy (returned as
// g.dx), for callers that drop dy.
BatchNormGrads batchnorm_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                  const BatchNormSaved& saved, bool dx_into_dy = false);

}  // namespace cmt::ops
