#pragma once
// optd's error codes for expected, input-dependent failures. They travel as values
// (boost::system::result); infrastructure failures throw and are caught at each task's root.
#include <boost/system/error_code.hpp>
#include <type_traits>

namespace optd::core {

enum class errc {
  ok = 0,
  invalid_argument = 1,      // input that breaks a documented contract
  not_found,                 // a named thing (run, dataset, provider) does not exist
  template_variable_missing, // a {{var}} has no value in the dataset item
  provider_http_error,       // the provider answered with a non-retryable status
  provider_unavailable,      // retries ran out on 408/409/429/5xx or connection errors
  provider_timeout,          // the call's overall deadline passed
  provider_bad_response,     // the provider's body is not the JSON we expect
  cancelled,                 // the run was cancelled while the operation waited
};

const boost::system::error_category& optd_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), optd_category()};
}

}  // namespace optd::core

template <>
struct boost::system::is_error_code_enum<optd::core::errc> : std::true_type {};
