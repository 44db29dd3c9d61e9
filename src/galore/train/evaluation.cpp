#include "galore/train/evaluation.hpp"

namespace galore {

template <class T>
double evaluate(const ExecSpace& space, LlamaModel<T>& model, BatchLoader& loader,
                const data::EvaluationWindows& windows, ProcessGroup* group) {
  const std::int64_t rank = group != nullptr ? group->rank() : 0;
  const std::int64_t ranks = group != nullptr ? group->size() : 1;
  const std::int64_t batch_rows = loader.first().inputs.extent(0);
  double loss_tokens = 0;
  double tokens = 0;
  for (std::int64_t first = rank * batch_rows; first < windows.count();
       first += ranks * batch_rows) {
    const std::int64_t rows = loader.load_evaluation(windows, first);
    const MicroBatch& batch = loader.first();
    // evaluate_loss averages over the non-ignored targets: weight it back by their number.
    const double batch_tokens = static_cast<double>(rows * windows.seq_len());
    loss_tokens += double(model.evaluate_loss(space, batch.inputs, batch.targets)) * batch_tokens;
    tokens += batch_tokens;
  }
  if (group != nullptr) {
    loss_tokens = group->sum(loss_tokens);
    tokens = group->sum(tokens);
  }
  return tokens > 0 ? loss_tokens / tokens : 0.0;
}

template double evaluate<float>(const ExecSpace&, LlamaModel<float>&, BatchLoader&,
                                const data::EvaluationWindows&, ProcessGroup*);
template double evaluate<bf16>(const ExecSpace&, LlamaModel<bf16>&, BatchLoader&,
                               const data::EvaluationWindows&, ProcessGroup*);

}  // namespace galore
