// Resident memory of this process, as the operating system counts it (Linux /proc and getrusage).
#pragma once

#include <cstdint>

namespace galore {

std::int64_t current_resident_bytes();  // VmRSS now; 0 where /proc is unavailable
std::int64_t peak_resident_bytes();     // the high-water mark since the process started

}  // namespace galore
