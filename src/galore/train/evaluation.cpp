#include "galore/train/evaluation.hpp"

namespace galore {

template <class T>
double evaluate(const ExecSpace& space, LlamaModel<T>& model, BatchLoader& loader,
                const data::EvaluationWindows& windows) {
  double loss_tokens = 0;
  std::int64_t tokens = 0;
  for (std::int64_t first = 0; first < windows.count();) {
    const std::int64_t rows = loader.load_evaluation(windows, first);
    const MicroBatch& batch = loader.first();
    // evaluate_loss averages over the non-ignored targets: weight it back by their number.
    const std::int64_t batch_tokens = rows * windows.seq_len();
    loss_tokens += double(model.evaluate_loss(space, batch.inputs, batch.targets)) * batch_tokens;
    tokens += batch_tokens;
    first += rows;
  }
  return tokens > 0 ? loss_tokens / tokens : 0.0;
}

template double evaluate<float>(const ExecSpace&, LlamaModel<float>&, BatchLoader&,
                                const data::EvaluationWindows&);
template double evaluate<bf16>(const ExecSpace&, LlamaModel<bf16>&, BatchLoader&,
                               const data::EvaluationWindows&);

}  // namespace galore
