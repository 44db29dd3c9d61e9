// Typed exceptions. Every library error is a galore::Error; callers that need to tell bad input
// from numerical trouble catch the specific kind. Messages name the offending shape, field or file.
#pragma once

#include <stdexcept>
#include <string>

namespace galore {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Operands whose shapes do not fit the operation (the message lists every shape involved).
class ShapeError : public Error {
 public:
  using Error::Error;
};

// NaN/Inf where finite values are required, or a decomposition that did not converge.
class NumericError : public Error {
 public:
  using Error::Error;
};

// A configuration value that is missing, mistyped or out of range (the message names the key).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be read or written, or whose contents are malformed (the message names it).
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace galore
