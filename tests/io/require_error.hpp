// require_error<E>(action, {fragments}): `action` must throw E whose message contains every
// fragment (the file, the offset, the key ...), so tests pin what users will read.
#pragma once

#include "catch.hpp"

#include <string>
#include <vector>

template <class Error, class Action>
void require_error(Action&& action, const std::vector<std::string>& fragments) {
  bool thrown = false;
  try {
    action();
  } catch (const Error& error) {
    thrown = true;
    const std::string message = error.what();
    for (const std::string& fragment : fragments) {
      INFO("message: " << message << "\nexpected fragment: " << fragment);
      CHECK(message.find(fragment) != std::string::npos);
    }
  }
  INFO("expected an exception mentioning " << (fragments.empty() ? "" : fragments.front()));
  CHECK(thrown);
}
