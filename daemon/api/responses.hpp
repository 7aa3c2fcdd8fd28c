#pragma once
// Small helpers every API handler uses: JSON responses with Opik's error shapes, the request's
// own origin (for Location headers and links), and query strings.
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "net/http_message.hpp"

namespace optd::api {

net::http_response json_response(unsigned status, const nlohmann::json& body);
net::http_response error_response(unsigned status, std::string message);  // {"code","message"}
net::http_response errors_response(unsigned status, std::vector<std::string> errors);  // {"errors":[…]}

// A JSON body's field as Opik reads it: absent and null are the same, and so is a value of another
// type (api/body_types.hpp has refused those before a handler reads a request's body).
std::string text_field(const nlohmann::json& j, const char* key);
long long whole_field(const nlohmann::json& j, const char* key, long long fallback);
net::http_response no_content();

std::string origin_of(const net::http_request& req);

// Percent-decoded query parameters of a request target.
std::map<std::string, std::string> parse_query(std::string_view target);

// ASCII lower case: Opik's name filters match case-insensitively.
std::string lower(std::string s);

// page/size style parameters: `fallback` when absent, nullopt when not a whole number from 1 to
// 2^31-1 (Opik's backend takes them as Java ints; the bound also keeps page × size in range).
std::optional<long long> positive_param(const std::map<std::string, std::string>& q, const char* key,
                                        long long fallback);

// The rows [first, end) of page `page` (from 1) of `size` rows each, among `total` rows.
struct page_slice {
  std::size_t first = 0, end = 0;
};
page_slice slice_of(long long page, long long size, std::size_t total);

}  // namespace optd::api
