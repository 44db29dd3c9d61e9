// Decoder layer forward and hand-written backward, composed from the layer kernels and
// galore::gemm.
//
// Linear layers: y = x W^T (W is [out, in] as torch stores it), so dx = dy W and dW += dy^T x.
#include "galore/model/decoder_block.hpp"

#include "galore/core/gemm.hpp"
#include "galore/model/rms_norm.hpp"
#include "galore/model/swiglu.hpp"

namespace galore {

namespace {

template <class T>
const Matrix<T>& weight(const Parameter<T>* weights, BlockWeight w) {
  return weights[static_cast<int>(w)].value;
}

// Norm weights are stored [1, n] like every parameter; the kernels take the row.
template <class T>
Vector<const T> norm_weight(const Parameter<T>* weights, BlockWeight w) {
  return Kokkos::subview(weight(weights, w), 0, Kokkos::ALL);
}

template <class T>
std::int64_t activation_bytes(const BlockShape& s, int hidden_sized, int intermediate_sized) {
  return sizeof(T) * static_cast<std::int64_t>(s.tokens()) *
         (static_cast<std::int64_t>(hidden_sized) * s.hidden() +
          static_cast<std::int64_t>(intermediate_sized) * s.intermediate);
}

}  // namespace

template <class T>
BlockActivations<T> BlockActivations<T>::allocate(AllocationMeter& meter, const BlockShape& s) {
  const int n = s.tokens();
  const int h = s.hidden();
  const auto matrix = [&](const char* label, int cols) {
    return meter.uninitialized<Matrix<T>>(label, n, cols);
  };
  BlockActivations a;
  a.normed_in = matrix("block.normed_in", h);
  a.q = matrix("block.q", h);
  a.k = matrix("block.k", h);
  a.v = matrix("block.v", h);
  a.attention = matrix("block.attention", h);
  a.mid = matrix("block.mid", h);
  a.normed_mid = matrix("block.normed_mid", h);
  a.gate = matrix("block.gate", s.intermediate);
  a.up = matrix("block.up", s.intermediate);
  a.rstd_in = meter.uninitialized<Vector<float>>("block.rstd_in", n);
  a.rstd_mid = meter.uninitialized<Vector<float>>("block.rstd_mid", n);
  a.lse = meter.uninitialized<Tensor3<float>>("block.lse", s.attention.batch, s.attention.heads,
                                              s.attention.seq);
  return a;
}

template <class T>
std::int64_t BlockActivations<T>::bytes(const BlockShape& s) {
  const std::int64_t n = s.tokens();
  return activation_bytes<T>(s, 7, 2) + sizeof(float) * (2 * n + n * s.attention.heads);
}

template <class T>
BlockWorkspace<T> BlockWorkspace<T>::allocate(AllocationMeter& meter, const BlockShape& s) {
  const int n = s.tokens();
  const int h = s.hidden();
  BlockWorkspace w;
  w.mlp_a = meter.uninitialized<Matrix<T>>("block.work.mlp_a", n, s.intermediate);
  w.mlp_b = meter.uninitialized<Matrix<T>>("block.work.mlp_b", n, s.intermediate);
  w.d_normed = meter.uninitialized<Matrix<T>>("block.work.d_normed", n, h);
  w.dq = meter.uninitialized<Matrix<T>>("block.work.dq", n, h);
  w.dk = meter.uninitialized<Matrix<T>>("block.work.dk", n, h);
  w.dv = meter.uninitialized<Matrix<T>>("block.work.dv", n, h);
  return w;
}

template <class T>
std::int64_t BlockWorkspace<T>::bytes(const BlockShape& s) {
  return activation_bytes<T>(s, 4, 2);
}

template <class T>
void decoder_block_forward(const ExecSpace& space, const BlockShape& shape,
                           const Parameter<T>* weights, MatrixRef<const T> x,
                           BlockActivations<T>& saved, MatrixRef<T> mlp_scratch, MatrixRef<T> y) {
  using W = BlockWeight;
  const BlockActivations<T>& a = saved;
  rms_norm_forward<T>(space, shape.rms_norm_eps, x, norm_weight(weights, W::InputNorm), a.normed_in,
                      a.rstd_in);
  gemm(space, Op::N, Op::T, 1.0f, a.normed_in, weight(weights, W::Q), 0.0f, a.q);
  gemm(space, Op::N, Op::T, 1.0f, a.normed_in, weight(weights, W::K), 0.0f, a.k);
  gemm(space, Op::N, Op::T, 1.0f, a.normed_in, weight(weights, W::V), 0.0f, a.v);
  saved.qk_rotated = rope_attention_forward<T>(space, shape.attention, shape.rope_theta, a.q, a.k,
                                               a.v, a.attention, a.lse);
  Kokkos::deep_copy(space, a.mid, x);
  gemm(space, Op::N, Op::T, 1.0f, a.attention, weight(weights, W::O), 1.0f, a.mid);

  rms_norm_forward<T>(space, shape.rms_norm_eps, a.mid, norm_weight(weights, W::PostNorm),
                      a.normed_mid, a.rstd_mid);
  gemm(space, Op::N, Op::T, 1.0f, a.normed_mid, weight(weights, W::Gate), 0.0f, a.gate);
  gemm(space, Op::N, Op::T, 1.0f, a.normed_mid, weight(weights, W::Up), 0.0f, a.up);
  if (y.data() == nullptr) return;
  swiglu_forward<T>(space, a.gate, a.up, mlp_scratch);
  Kokkos::deep_copy(space, y, a.mid);
  gemm(space, Op::N, Op::T, 1.0f, mlp_scratch, weight(weights, W::Down), 1.0f, y);
}

template <class T>
void decoder_block_backward(const ExecSpace& space, const BlockShape& shape, Parameter<T>* weights,
                            MatrixRef<const T> x, const BlockActivations<T>& a,
                            BlockWorkspace<T>& work, MatrixRef<T> d_residual,
                            GradientSink<T>& sink) {
  using W = BlockWeight;
  const auto param = [&](W w) -> Parameter<T>& { return weights[static_cast<int>(w)]; };
  const auto norm_gradient = [&](W w) {
    return Kokkos::subview(sink.gradient(param(w)), 0, Kokkos::ALL);
  };

  // MLP half: y = mid + down(silu(gate) * up).
  gemm(space, Op::N, Op::N, 1.0f, d_residual, weight(weights, W::Down), 0.0f, work.mlp_b);
  swiglu_forward<T>(space, a.gate, a.up, work.mlp_a);
  gemm(space, Op::T, Op::N, 1.0f, d_residual, work.mlp_a, 1.0f, sink.gradient(param(W::Down)));
  sink.complete(param(W::Down));
  swiglu_backward<T>(space, a.gate, a.up, work.mlp_b, work.mlp_a, work.mlp_b);
  const auto& d_gate = work.mlp_a;
  const auto& d_up = work.mlp_b;
  gemm(space, Op::T, Op::N, 1.0f, d_up, a.normed_mid, 1.0f, sink.gradient(param(W::Up)));
  gemm(space, Op::T, Op::N, 1.0f, d_gate, a.normed_mid, 1.0f, sink.gradient(param(W::Gate)));
  gemm(space, Op::N, Op::N, 1.0f, d_gate, weight(weights, W::Gate), 0.0f, work.d_normed);
  gemm(space, Op::N, Op::N, 1.0f, d_up, weight(weights, W::Up), 1.0f, work.d_normed);
  // A delivered weight may be updated at once (per-layer mode): complete it only after its last
  // read, the input gradient above.
  sink.complete(param(W::Up));
  sink.complete(param(W::Gate));
  rms_norm_backward<T>(space, a.mid, norm_weight(weights, W::PostNorm), a.rstd_mid, work.d_normed,
                       d_residual, norm_gradient(W::PostNorm));
  sink.complete(param(W::PostNorm));

  // Attention half: mid = x + o(attention(rope(q), rope(k), v)); d_residual is now dL/dmid.
  const auto& d_attention = work.d_normed;
  gemm(space, Op::N, Op::N, 1.0f, d_residual, weight(weights, W::O), 0.0f, d_attention);
  gemm(space, Op::T, Op::N, 1.0f, d_residual, a.attention, 1.0f, sink.gradient(param(W::O)));
  sink.complete(param(W::O));
  rope_attention_backward<T>(space, shape.attention, shape.rope_theta, a.qk_rotated, a.q, a.k, a.v,
                             a.attention, a.lse, d_attention, work.dq, work.dk, work.dv);
  gemm(space, Op::T, Op::N, 1.0f, work.dv, a.normed_in, 1.0f, sink.gradient(param(W::V)));
  gemm(space, Op::T, Op::N, 1.0f, work.dk, a.normed_in, 1.0f, sink.gradient(param(W::K)));
  gemm(space, Op::T, Op::N, 1.0f, work.dq, a.normed_in, 1.0f, sink.gradient(param(W::Q)));
  const auto& d_normed_in = work.d_normed;  // d_attention is no longer needed
  gemm(space, Op::N, Op::N, 1.0f, work.dq, weight(weights, W::Q), 0.0f, d_normed_in);
  gemm(space, Op::N, Op::N, 1.0f, work.dk, weight(weights, W::K), 1.0f, d_normed_in);
  gemm(space, Op::N, Op::N, 1.0f, work.dv, weight(weights, W::V), 1.0f, d_normed_in);
  sink.complete(param(W::V));  // after their last reads, as above
  sink.complete(param(W::K));
  sink.complete(param(W::Q));
  rms_norm_backward<T>(space, x, norm_weight(weights, W::InputNorm), a.rstd_in, d_normed_in,
                       d_residual, norm_gradient(W::InputNorm));
  sink.complete(param(W::InputNorm));
}

#define GALORE_INSTANTIATE_DECODER_BLOCK(T)                                                        \
  template struct BlockActivations<T>;                                                             \
  template struct BlockWorkspace<T>;                                                               \
  template void decoder_block_forward<T>(const ExecSpace&, const BlockShape&, const Parameter<T>*, \
                                         MatrixRef<const T>, BlockActivations<T>&, MatrixRef<T>,   \
                                         MatrixRef<T>);                                            \
  template void decoder_block_backward<T>(const ExecSpace&, const BlockShape&, Parameter<T>*,      \
                                          MatrixRef<const T>, const BlockActivations<T>&,          \
                                          BlockWorkspace<T>&, MatrixRef<T>, GradientSink<T>&);
GALORE_INSTANTIATE_DECODER_BLOCK(float)
GALORE_INSTANTIATE_DECODER_BLOCK(bf16)
#undef GALORE_INSTANTIATE_DECODER_BLOCK

}  // namespace galore
