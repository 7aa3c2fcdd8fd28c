#pragma once
// The JSON types of the fields optd reads from the bodies of Opik's write endpoints, checked
// before a handler reads them: a field of the wrong type gets Opik's 400 ("Unable to process
// JSON", as Jackson's mapping error is answered there) naming the field and both types, never a
// 500. The types are Opik's (its API's Java classes); null stands for an absent field wherever
// Opik's are nullable. Bodies that are not JSON objects are the handlers' to refuse.
#include <optional>

#include "net/http_message.hpp"

namespace optd::api {

std::optional<net::http_response> check_body_types(const net::http_request& req);

}  // namespace optd::api
