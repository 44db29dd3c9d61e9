// A ProcessGroup (and its BucketReducers) that charges every collective of another one to
// Phase::Communication, so the trainer and the optimizer are timed without a timer call at each of
// their collectives.
#pragma once

#include "galore/core/phase_timer.hpp"
#include "galore/core/process_group.hpp"

#include <memory>
#include <utility>

namespace galore {

// The same for a BucketReducer: time spent starting, progressing and waiting for collectives.
class TimedBucketReducer final : public BucketReducer {
 public:
  TimedBucketReducer(std::unique_ptr<BucketReducer> reducer, PhaseTimer* timer)
      : reducer_(std::move(reducer)), timer_(timer) {}

  void add(const ExecSpace& space, const Matrix<float>& tensor) override {
    const PhaseScope scope(timer_, Phase::Communication);
    reducer_->add(space, tensor);
  }
  void flush(const ExecSpace& space) override {
    const PhaseScope scope(timer_, Phase::Communication);
    reducer_->flush(space);
  }
  std::size_t progress(const ExecSpace& space) override {
    const PhaseScope scope(timer_, Phase::Communication);
    return reducer_->progress(space);
  }
  void wait(const ExecSpace& space, std::size_t count) override {
    const PhaseScope scope(timer_, Phase::Communication);
    reducer_->wait(space, count);
  }
  void wait_all(const ExecSpace& space) override {
    const PhaseScope scope(timer_, Phase::Communication);
    reducer_->wait_all(space);
  }

 private:
  std::unique_ptr<BucketReducer> reducer_;
  PhaseTimer* timer_;
};

class TimedProcessGroup final : public ProcessGroup {
 public:
  // `timer` nullptr: a plain pass-through.
  TimedProcessGroup(ProcessGroup& group, PhaseTimer* timer) : group_(group), timer_(timer) {}

  int rank() const override { return group_.rank(); }
  int size() const override { return group_.size(); }
  void average(const ExecSpace& space, const Matrix<float>& tensor) override {
    const PhaseScope scope(timer_, Phase::Communication);
    group_.average(space, tensor);
  }
  void average_bucketed(const ExecSpace& space, const std::vector<Matrix<float>>& tensors,
                        std::size_t bucket_bytes) override {
    const PhaseScope scope(timer_, Phase::Communication);
    group_.average_bucketed(space, tensors, bucket_bytes);
  }
  std::unique_ptr<BucketReducer> make_bucket_reducer(std::size_t bucket_bytes) override {
    return std::make_unique<TimedBucketReducer>(group_.make_bucket_reducer(bucket_bytes), timer_);
  }
  double sum(double value) override {
    const PhaseScope scope(timer_, Phase::Communication);
    return group_.sum(value);
  }
  bool any(bool value) override {
    const PhaseScope scope(timer_, Phase::Communication);
    return group_.any(value);
  }
  void broadcast_host(void* data, std::size_t bytes) override {
    const PhaseScope scope(timer_, Phase::Communication);
    group_.broadcast_host(data, bytes);
  }
  void require_identical(std::uint64_t checksum, const std::string& what) override {
    const PhaseScope scope(timer_, Phase::Communication);
    group_.require_identical(checksum, what);
  }
  void barrier() override {
    const PhaseScope scope(timer_, Phase::Communication);
    group_.barrier();
  }
  std::uint64_t bytes_reduced() const override { return group_.bytes_reduced(); }

 private:
  ProcessGroup& group_;
  PhaseTimer* timer_;
};

}  // namespace galore
