// Validation loss: the mean next-token cross-entropy over a fixed set of windows.
#pragma once

#include "galore/model/llama_model.hpp"
#include "galore/train/batch_loader.hpp"
#include "io/data/window_sampler.hpp"

namespace galore {

// Token-weighted mean loss (nats) of `model` over every window of `windows`, micro-batch by
// micro-batch through `loader`'s first buffer. Forward passes only: no gradient is touched.
template <class T>
double evaluate(const ExecSpace& space, LlamaModel<T>& model, BatchLoader& loader,
                const data::EvaluationWindows& windows);

}  // namespace galore
