// The fused 8-bit Adam kernel (see adam8bit.hpp). One 256-thread block per quantization block;
// each thread keeps up to 16 of the block's values in registers between the absmax reduction
// and the requantization, so the state is read once and written once.
#include "kernels/cuda/adam8bit.hpp"

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/dynamic_map.hpp"

#include <cmath>
#include <mutex>
#include <string>
#include <vector>

namespace galore::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kValuesPerThread = kMaxQuantizationBlock / kThreads;  // 16

__constant__ float c_signed_map[kDynamicMapSize];
__constant__ float c_unsigned_map[kDynamicMapSize];

// Scalars of one step, computed on the host as Adam8bitRule and apply_update compute them.
struct StepScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
  float correction1;  // 1 - b1^t
  float correction2;  // sqrt(1 - b2^t)
  float lr;           // scale of the direction in the weight update
  float keep_after;   // 1 - lr * weight_decay
};

StepScalars step_scalars(const Adam8bitStep& s) {
  const double t = static_cast<double>(s.step);
  StepScalars out{};
  out.beta1 = s.beta1;
  out.one_minus_beta1 = 1.0f - s.beta1;
  out.beta2 = s.beta2;
  out.one_minus_beta2 = 1.0f - s.beta2;
  out.eps = s.eps;
  out.correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(s.beta1), t));
  out.correction2 = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(s.beta2), t)));
  out.lr = s.lr;
  out.keep_after = 1.0f - s.lr * s.weight_decay;
  return out;
}

// The maps live in constant memory, uploaded once per device.
void upload_maps_once() {
  static std::mutex mutex;
  static std::vector<bool> uploaded;
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  const std::lock_guard<std::mutex> lock(mutex);
  if (static_cast<int>(uploaded.size()) <= device) uploaded.resize(device + 1, false);
  if (uploaded[device]) return;
  const auto signed_map = dynamic_map(true);
  const auto unsigned_map = dynamic_map(false);
  check_cuda(cudaMemcpyToSymbol(c_signed_map, signed_map.data(), sizeof(float) * kDynamicMapSize),
             "cudaMemcpyToSymbol(signed dynamic map)");
  check_cuda(
      cudaMemcpyToSymbol(c_unsigned_map, unsigned_map.data(), sizeof(float) * kDynamicMapSize),
      "cudaMemcpyToSymbol(unsigned dynamic map)");
  uploaded[device] = true;
}

// Either writes the direction (kApply false) or applies it to the weights (kApply true).
template <class T, bool kApply>
__global__ void __launch_bounds__(kThreads)
    adam8bit_kernel(std::int64_t n, int block_size, StepScalars s, const float* grad,
                    QuantizedState m_state, QuantizedState v_state, T* out, const int* skip) {
  __shared__ float signed_map[kDynamicMapSize];
  __shared__ float unsigned_map[kDynamicMapSize];
  __shared__ float scratch[32];
  const std::int64_t block = blockIdx.x;
  const std::int64_t begin = block * block_size;
  const int count = static_cast<int>(n - begin < block_size ? n - begin : block_size);
  const bool skipped = skip != nullptr && *skip != 0;
  if (skipped) {
    if (!kApply) {
      for (int i = threadIdx.x; i < count; i += blockDim.x) out[begin + i] = from_float<T>(0.0f);
    }
    return;  // uniform across the block: no barrier is skipped by some threads only
  }
  for (int i = threadIdx.x; i < kDynamicMapSize; i += blockDim.x) {
    signed_map[i] = c_signed_map[i];
    unsigned_map[i] = c_unsigned_map[i];
  }
  const float old_max1 = m_state.absmax[block];
  const float old_max2 = v_state.absmax[block];
  __syncthreads();

  // New moments in fp32, each operation rounded on its own as the host reference does.
  float m[kValuesPerThread];
  float v[kValuesPerThread];
  float max1 = 0.0f;
  float max2 = 0.0f;
#pragma unroll
  for (int k = 0; k < kValuesPerThread; ++k) {
    const int i = static_cast<int>(threadIdx.x) + k * kThreads;
    m[k] = 0.0f;
    v[k] = 0.0f;
    if (i < count) {
      const std::int64_t at = begin + i;
      const float g = grad[at];
      m[k] = __fadd_rn(__fmul_rn(s.beta1, __fmul_rn(signed_map[m_state.codes[at]], old_max1)),
                       __fmul_rn(s.one_minus_beta1, g));
      v[k] = __fadd_rn(__fmul_rn(s.beta2, __fmul_rn(unsigned_map[v_state.codes[at]], old_max2)),
                       __fmul_rn(__fmul_rn(s.one_minus_beta2, g), g));
      max1 = fmaxf(max1, fabsf(m[k]));
      max2 = fmaxf(max2, v[k]);
    }
  }
  max1 = device::block_max(max1, scratch);  // its barriers also order every read of the old
  max2 = device::block_max(max2, scratch);  // absmax before thread 0 replaces it below

  const float ratio = __fdiv_rn(s.correction2, s.correction1);
  const float eps_term = __fmul_rn(s.correction2, s.eps);
#pragma unroll
  for (int k = 0; k < kValuesPerThread; ++k) {
    const int i = static_cast<int>(threadIdx.x) + k * kThreads;
    if (i < count) {
      const std::int64_t at = begin + i;
      const float direction =
          __fmul_rn(ratio, __fdiv_rn(m[k], __fadd_rn(__fsqrt_rn(v[k]), eps_term)));
      m_state.codes[at] = quantize_normalized(signed_map, true, normalize_by_absmax(m[k], max1));
      v_state.codes[at] = quantize_normalized(unsigned_map, false, normalize_by_absmax(v[k], max2));
      if (kApply) {
        const float updated = __fsub_rn(to_float(out[at]), __fmul_rn(s.lr, direction));
        out[at] = from_float<T>(__fmul_rn(updated, s.keep_after));
      } else {
        out[at] = from_float<T>(direction);
      }
    }
  }
  if (threadIdx.x == 0) {
    m_state.absmax[block] = max1;
    v_state.absmax[block] = max2;
  }
}

__global__ void fill_state_kernel(std::int64_t n, std::int64_t blocks, std::uint8_t m_zero,
                                  std::uint8_t v_zero, QuantizedState m_state,
                                  QuantizedState v_state) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    m_state.codes[i] = m_zero;
    v_state.codes[i] = v_zero;
    if (i < blocks) m_state.absmax[i] = v_state.absmax[i] = 0.0f;
  }
}

std::int64_t block_count(std::int64_t n, int block_size) {
  return (n + block_size - 1) / block_size;
}

void check_arguments(const char* fn, std::int64_t n, int block_size) {
  require(n >= 0 && block_size >= 1 && block_size <= kMaxQuantizationBlock, fn,
          "need n >= 0 and 1 <= block_size <= " + std::to_string(kMaxQuantizationBlock) +
              ", got n=" + std::to_string(n) + " block_size=" + std::to_string(block_size));
  require(block_count(n, block_size) <= 0x7fffffff, fn,
          "too many quantization blocks for one grid: n=" + std::to_string(n));
}

template <class T, bool kApply>
void launch(const char* fn, std::int64_t n, int block_size, const Adam8bitStep& step,
            const float* grad, QuantizedState m, QuantizedState v, T* out, const int* skip,
            cudaStream_t stream) {
  check_arguments(fn, n, block_size);
  require(step.step >= 1, fn, "step counts updates from 1, got " + std::to_string(step.step));
  if (n == 0) return;
  upload_maps_once();
  adam8bit_kernel<T, kApply>
      <<<static_cast<unsigned>(block_count(n, block_size)), kThreads, 0, stream>>>(
          n, block_size, step_scalars(step), grad, m, v, out, skip);
  check_launch("adam8bit_kernel");
}

}  // namespace

void adam8bit_init_state(std::int64_t n, int block_size, QuantizedState exp_avg,
                         QuantizedState exp_avg_sq, cudaStream_t stream) {
  check_arguments("adam8bit_init_state", n, block_size);
  if (n == 0) return;
  constexpr int kFillThreads = 256;
  const std::int64_t blocks = (n + kFillThreads - 1) / kFillThreads;
  fill_state_kernel<<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), kFillThreads, 0,
                      stream>>>(n, block_count(n, block_size), dynamic_map_zero_code(true),
                                dynamic_map_zero_code(false), exp_avg, exp_avg_sq);
  check_launch("fill_state_kernel");
}

template <class T>
void adam8bit_direction(std::int64_t n, int block_size, const Adam8bitStep& step, const float* grad,
                        QuantizedState exp_avg, QuantizedState exp_avg_sq, T* direction,
                        const int* skip, cudaStream_t stream) {
  launch<T, false>("adam8bit_direction", n, block_size, step, grad, exp_avg, exp_avg_sq, direction,
                   skip, stream);
}

template <class T>
void adam8bit_update(std::int64_t n, int block_size, const Adam8bitStep& step, const float* grad,
                     QuantizedState exp_avg, QuantizedState exp_avg_sq, T* weight, const int* skip,
                     cudaStream_t stream) {
  launch<T, true>("adam8bit_update", n, block_size, step, grad, exp_avg, exp_avg_sq, weight, skip,
                  stream);
}

template void adam8bit_direction<float>(std::int64_t, int, const Adam8bitStep&, const float*,
                                        QuantizedState, QuantizedState, float*, const int*,
                                        cudaStream_t);
template void adam8bit_direction<Bf16Word>(std::int64_t, int, const Adam8bitStep&, const float*,
                                           QuantizedState, QuantizedState, Bf16Word*, const int*,
                                           cudaStream_t);
template void adam8bit_update<float>(std::int64_t, int, const Adam8bitStep&, const float*,
                                     QuantizedState, QuantizedState, float*, const int*,
                                     cudaStream_t);
template void adam8bit_update<Bf16Word>(std::int64_t, int, const Adam8bitStep&, const float*,
                                        QuantizedState, QuantizedState, Bf16Word*, const int*,
                                        cudaStream_t);

}  // namespace galore::kernels::cuda
