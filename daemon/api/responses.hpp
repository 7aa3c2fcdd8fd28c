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

// page/size style parameters: `fallback` when absent, nullopt when not a whole number ≥ 1.
std::optional<long long> positive_param(const std::map<std::string, std::string>& q, const char* key,
                                        long long fallback);

}  // namespace optd::api
