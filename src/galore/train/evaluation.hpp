// Validation loss: the mean next-token cross-entropy over a fixed set of windows.
#pragma once

#include "galore/core/process_group.hpp"
#include "galore/model/llama_model.hpp"
#include "galore/train/batch_loader.hpp"
#include "io/data/window_sampler.hpp"

namespace galore {

// Token-weighted mean loss (nats) of `model` over every window of `windows`, micro-batch by
// micro-batch through `loader`'s first buffer. Forward passes only: no gradient is touched.
//
// With `group` (collective): the micro-batches one process would evaluate (windows
// k micro_batch ... (k + 1) micro_batch - 1) are dealt out round robin, batch k to rank k mod N,
// and the ranks' sums of loss x tokens and of tokens are added up: every rank returns the
// single-process result (up to the order of the fp64 sum) after 1/N of the forward passes
// (rounded up).
template <class T>
double evaluate(const ExecSpace& space, LlamaModel<T>& model, BatchLoader& loader,
                const data::EvaluationWindows& windows, ProcessGroup* group = nullptr);

}  // namespace galore
