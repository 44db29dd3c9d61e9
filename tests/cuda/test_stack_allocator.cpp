// The device arena's offset bookkeeping (no GPU): alignment, stack release, peak, exhaustion.
#include "catch.hpp"
#include "kernels/cuda/stack_allocator.hpp"

#include <stdexcept>
#include <string>

using galore::kernels::cuda::ArenaExhausted;
using galore::kernels::cuda::StackAllocator;

TEST_CASE("stack allocator aligns, releases like a stack and records its peak", "[cuda][arena]") {
  StackAllocator stack(4096);
  CHECK(stack.allocate(10, 256) == 0);
  CHECK(stack.allocate(100, 256) == 256);
  const std::size_t mark = stack.mark();
  CHECK(mark == 356);
  CHECK(stack.allocate(1000, 512) == 512);
  CHECK(stack.used() == 1512);
  stack.release_to(mark);
  CHECK(stack.used() == 356);
  CHECK(stack.peak() == 1512);
  CHECK(stack.allocate(8, 8) == 360);
  stack.reset();
  CHECK(stack.used() == 0);
  CHECK(stack.peak() == 1512);
  stack.reset_peak();
  CHECK(stack.peak() == 0);
}

TEST_CASE("stack allocator refuses what does not fit, naming the request", "[cuda][arena]") {
  StackAllocator stack(1000);
  stack.allocate(600, 1);
  try {
    stack.allocate(500, 256);
    FAIL("expected ArenaExhausted");
  } catch (const ArenaExhausted& e) {
    const std::string message = e.what();
    CHECK(message.find("500 bytes") != std::string::npos);
    CHECK(message.find("600 of 1000") != std::string::npos);
  }
  CHECK(stack.used() == 600);  // a refused request changes nothing
  CHECK(stack.allocate(400, 1) == 600);
  CHECK_THROWS_AS(stack.allocate(1, 1), ArenaExhausted);
  CHECK_THROWS_AS(stack.allocate(0, 3), std::invalid_argument);
  CHECK_THROWS_AS(stack.release_to(2000), std::invalid_argument);
}
