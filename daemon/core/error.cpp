#include "core/error.hpp"

#include <string>

namespace optd::core {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "optd"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "ok";
      case errc::invalid_argument: return "invalid argument";
      case errc::not_found: return "not found";
      case errc::template_variable_missing: return "template variable missing";
      case errc::provider_http_error: return "provider returned an error";
      case errc::provider_unavailable: return "provider unavailable after retries";
      case errc::provider_timeout: return "provider call timed out";
      case errc::provider_bad_response: return "provider response malformed";
      case errc::cancelled: return "cancelled";
    }
    return "unknown optd error";
  }
};

}  // namespace

const boost::system::error_category& optd_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace optd::core
