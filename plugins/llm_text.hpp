#pragma once
// Reading what a model wrote, for optimizers and judge metrics alike: models wrap JSON in a ```
// fence or put prose around it. Pure functions.
#include <string>

#include <nlohmann/json.hpp>

namespace optd::plugins {

// The JSON value in a reply: the whole reply, else the outermost {…} (or […] when `array`) in it,
// as models wrap JSON in a ``` fence or put prose before it. Null when there is none.
nlohmann::json extract_json(const std::string& reply, bool array = false);

// The text of a reply's fenced block: what lies between the first and the last ```, without a
// language tag on its first line; an unmatched fence is dropped; no fence: the whole reply. Trimmed.
std::string extract_fenced(const std::string& reply);

// A JSON value as text for the model: a string as it is, anything else as compact JSON.
std::string text_of(const nlohmann::json& v);
// `v` with `places` decimals, as optimizers show scores ("0.250", "0.2500").
std::string fixed(double v, int places);

}  // namespace optd::plugins
