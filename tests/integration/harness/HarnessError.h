// HarnessError.h — what harness calls throw when the system under test does
// not do what was expected in time; GoogleTest reports the message as the
// test's failure, so it must say what was awaited and what was seen.
#pragma once

#include <stdexcept>
#include <string>

namespace portico::test {

class HarnessError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

} // namespace portico::test
