#pragma once
// Request bodies sent compressed: Opik's Python SDK gzips every JSON body of 256 bytes or more
// (Content-Encoding: gzip), as Opik's backend accepts. A server inflates them before its handler
// sees the request, and never to more than a limit: a small body that inflates to gigabytes (a
// gzip bomb) is refused at the limit, having cost no more memory than the limit.
#include <cstddef>
#include <optional>

#include "net/http_message.hpp"

namespace optd::net {

// Replaces a gzip (or x-gzip) body by what it inflates to, and drops its Content-Encoding. The
// answer to give instead of handling the request when that cannot be done: 413 past
// `inflated_limit`, 400 for a body that is not gzip, 415 for an encoding other than gzip and
// identity. Nothing to do (no Content-Encoding, identity): nullopt, the request unchanged.
std::optional<http_response> decode_request_body(http_request& request, std::size_t inflated_limit);

// `data` gzipped (for tests and the llm-sim's clients).
std::string gzip(std::string_view data);

}  // namespace optd::net
