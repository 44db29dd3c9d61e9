// CPU reference for kernels/cuda/galore_update.hpp: projections in double, the 8-bit Adam step
// bit-exact on the fp32-rounded projection, the direction rounded to T as the device stores it,
// and the weight update D = a * P(D) + b * W in double, rounded once to T.
#pragma once

#include "kernels/cuda/galore_update.hpp"
#include "tests/cuda/reference/adam8bit.hpp"

#include <vector>

namespace galore::kernels::cuda::reference {

template <class T>
void galore_adam8bit_update(const GaLoreShape& shape, const Adam8bitStep& step, float alpha,
                            int block_size, const std::vector<float>& grad,
                            const std::vector<T>& projector, HostQuantizedState& exp_avg,
                            HostQuantizedState& exp_avg_sq, std::vector<T>& weight);

}  // namespace galore::kernels::cuda::reference
