// 8-bit AdamW with block-wise dynamic quantization of both moments (bitsandbytes' blockwise
// Adam8bit): signed map for m, unsigned map for v, one fp32 absmax per block of 256 or 2048 values.
//
// One fused kernel per tensor, one team per block: dequantize m and v, update them in fp32, take
// the block's new absmax, write the direction and requantize. No host synchronisation.
//   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2      (fp32, from the dequantized state)
//   D  = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)     (eps on the corrected sqrt(v))
//   W <- (W - lr * scale * D) (1 - lr * wd)
// The direction uses the unquantized new moments; only what is stored is rounded.
#pragma once

#include "galore/optim/dynamic_quantization.hpp"
#include "galore/optim/moment_rule.hpp"

namespace galore {

class Adam8bitRule final : public MomentRule {
 public:
  Adam8bitRule(const OptimizerConfig& config, int rows, int cols);

  void compute_direction(const ExecSpace& space, const Matrix<float>& buffer, std::int64_t t,
                         float lr, const int* skip) override;
  UpdateCoefficients coefficients(std::int64_t t, float lr) const override;
  void rotate_subspace(const ExecSpace& space, const Matrix<float>& left,
                       const Matrix<float>& right) override;
  void visit_state(const std::string& prefix, const StateVisitor& visitor) override;

  // The moments as fp32 [rows x cols] (tests, re-projection).
  Matrix<float> dequantized_exp_avg(const ExecSpace& space) const;
  Matrix<float> dequantized_exp_avg_sq(const ExecSpace& space) const;

  // Settings and raw device state for the fused CUDA kernels (fused_adam8bit_update.hpp), which
  // update the state in place in the same format.
  struct Internals {
    float beta1, beta2, eps, weight_decay;
    int block_size;
    std::int64_t size;  // values per moment (rows * cols)
    std::uint8_t* exp_avg_codes;
    float* exp_avg_absmax;
    std::uint8_t* exp_avg_sq_codes;
    float* exp_avg_sq_absmax;
  };
  Internals internals();

 private:
  struct QuantizedMoment {
    Kokkos::View<std::uint8_t*, MemSpace> codes;
    Vector<float> absmax;
  };
  Matrix<float> dequantized(const ExecSpace& space, const QuantizedMoment& q,
                            const DynamicMap& map) const;
  void requantize(const ExecSpace& space, const Matrix<float>& x, const QuantizedMoment& q,
                  const DynamicMap& map);

  float beta1_, beta2_, eps_, weight_decay_;
  int rows_, cols_, block_size_;
  DynamicMap signed_map_, unsigned_map_;
  QuantizedMoment exp_avg_, exp_avg_sq_;
};

}  // namespace galore
