#include "catch.hpp"

#include "galore/core/spelling.hpp"

TEST_CASE("edit distance counts insertions, deletions and substitutions", "[spelling]") {
  CHECK(galore::edit_distance("", "") == 0);
  CHECK(galore::edit_distance("abc", "") == 3);
  CHECK(galore::edit_distance("kitten", "sitting") == 3);
  CHECK(galore::edit_distance("hidden_size", "hiden_size") == 1);
}

TEST_CASE("did_you_mean suggests only plausible typos", "[spelling]") {
  const std::vector<std::string> keys = {"hidden_size", "intermediate_size", "vocab_size"};
  CHECK(galore::did_you_mean("hiden_size", keys) == " (did you mean 'hidden_size'?)");
  CHECK(galore::did_you_mean("vocab_sise", keys) == " (did you mean 'vocab_size'?)");
  CHECK(galore::did_you_mean("learning_rate", keys).empty());
}
