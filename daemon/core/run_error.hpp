#pragma once
// A failure that ends a run, as Opik's error_info reports it: a type (the Python exception name
// Opik's own worker would use where there is one: DatasetNotFoundError, EmptyDatasetError,
// InvalidConfigError), a message for people, and details (the evidence, one line each) that go
// into the traceback-like account the run executor writes.
#include <stdexcept>
#include <string>

namespace optd::core {

class run_error : public std::runtime_error {
 public:
  run_error(std::string type, const std::string& message, std::string details = {})
      : std::runtime_error(message), type_(std::move(type)), details_(std::move(details)) {}
  const std::string& type() const noexcept { return type_; }
  const std::string& details() const noexcept { return details_; }

 private:
  std::string type_;
  std::string details_;
};

}  // namespace optd::core
