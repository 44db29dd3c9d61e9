// Per-stream BLAS contexts and workspaces for the CUDA dispatch (see cuda_dispatch.hpp). Built
// only when GALORE_CUDA_DISPATCH is on.
#include "galore/core/cuda_dispatch.hpp"

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/device_buffer.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace galore::cuda_dispatch {

namespace {

using RefresherKey = std::tuple<kc::RefreshMethod, int, int>;  // method, oversampling, iterations

struct StreamResources {
  std::unique_ptr<kc::BlasContext> blas;
  kc::DeviceBuffer<unsigned char> workspace;
  std::map<RefresherKey, std::unique_ptr<kc::ProjectorRefresher>> refreshers;
};

// Everything here holds CUDA handles and memory, so it is released by Kokkos::finalize (while
// the device is still initialised), not by static destruction after main.
class Registry {
 public:
  static Registry& instance() {
    static Registry registry;
    return registry;
  }

  StreamResources& resources(cudaStream_t stream) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!hook_pushed_) {
      Kokkos::push_finalize_hook([] { Registry::instance().clear(); });
      hook_pushed_ = true;
    }
    StreamResources& r = streams_[stream];
    if (!r.blas) r.blas = std::make_unique<kc::BlasContext>(stream);
    return r;
  }

 private:
  void clear() {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (auto& entry : streams_) cudaStreamSynchronize(entry.first);
    streams_.clear();
    hook_pushed_ = false;
  }

  std::mutex mutex_;
  std::map<cudaStream_t, StreamResources> streams_;
  bool hook_pushed_ = false;
};

}  // namespace

kc::BlasContext& blas(const ExecSpace& space) {
  return *Registry::instance().resources(stream(space)).blas;
}

void* workspace(const ExecSpace& space, std::size_t bytes) {
  StreamResources& r = Registry::instance().resources(stream(space));
  if (r.workspace.size() < bytes) {
    // Work already enqueued may still use the old buffer.
    kc::check_cuda(cudaStreamSynchronize(stream(space)),
                   "cudaStreamSynchronize (growing the dispatch workspace)");
    r.workspace = kc::DeviceBuffer<unsigned char>(bytes);
  }
  return r.workspace.data();
}

kc::ProjectorRefresher& projector_refresher(const ExecSpace& space, kc::RefreshMethod method,
                                            int oversampling, int power_iterations) {
  StreamResources& r = Registry::instance().resources(stream(space));
  std::unique_ptr<kc::ProjectorRefresher>& refresher =
      r.refreshers[RefresherKey{method, oversampling, power_iterations}];
  if (!refresher) {
    kc::RefreshOptions options;
    options.method = method;
    options.oversampling = oversampling;
    options.power_iterations = power_iterations;
    refresher = std::make_unique<kc::ProjectorRefresher>(options);
  }
  return *refresher;
}

}  // namespace galore::cuda_dispatch
