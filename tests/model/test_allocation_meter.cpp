// AllocationMeter: live and peak bytes in total and per kind, views released when only the meter
// still holds them, kind scopes nesting and restoring the enclosing kind.
#include "catch.hpp"

#include "galore/model/allocation_meter.hpp"

using galore::AllocationKind;
using galore::AllocationMeter;

TEST_CASE("the meter keeps peaks in total and per kind", "[meter]") {
  AllocationMeter meter;
  galore::Matrix<float> weights;
  {
    const AllocationMeter::KindScope scope(meter, AllocationKind::Weights);
    weights = meter.zeros<galore::Matrix<float>>("w", 10, 10);  // 400 bytes
  }
  auto activation = meter.uninitialized<galore::Vector<float>>("a", 50);  // 200, default kind
  galore::Matrix<float> grad_a, grad_b;
  {
    const AllocationMeter::KindScope scope(meter, AllocationKind::Gradients);
    grad_a = meter.zeros<galore::Matrix<float>>("ga", 10, 10);  // 400
    {
      const AllocationMeter::KindScope inner(meter, AllocationKind::Weights);
      const auto more_weights = meter.zeros<galore::Vector<float>>("w2", 25);  // 100, freed below
    }
    grad_a = galore::Matrix<float>();                           // released before the next one
    grad_b = meter.zeros<galore::Matrix<float>>("gb", 20, 10);  // 800
  }
  CHECK(meter.live_bytes() == 400 + 200 + 800);
  CHECK(meter.peak_bytes(AllocationKind::Weights) == 500);  // w and w2 were live together
  CHECK(meter.peak_bytes(AllocationKind::Gradients) == 800);
  CHECK(meter.peak_bytes(AllocationKind::ActivationsAndWorkspace) == 200);
  CHECK(meter.peak_bytes() == 1400);

  // After the scopes, allocations count as activations again; reset_peak restarts every peak.
  activation = galore::Vector<float>();
  grad_b = galore::Matrix<float>();
  meter.reset_peak();
  CHECK(meter.peak_bytes() == 400);
  CHECK(meter.peak_bytes(AllocationKind::Gradients) == 0);
  CHECK(meter.peak_bytes(AllocationKind::Weights) == 400);
  const auto work = meter.uninitialized<galore::Vector<float>>("work", 10);
  CHECK(meter.peak_bytes(AllocationKind::ActivationsAndWorkspace) == 40);
  CHECK(meter.peak_bytes() == 440);
}
