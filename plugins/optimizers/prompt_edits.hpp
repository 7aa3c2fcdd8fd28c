#pragma once
// What every optimizer does with prompts the reasoning model writes: read them out of a reply
// that may wrap them in prose or a ``` fence, keep the parts Opik lets it change, and keep the
// prompt's {{variables}}. Pure functions.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/run_spec.hpp"

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

// [{role, content}, …] as messages; nullopt when it is not a non-empty list of them.
std::optional<core::prompt_messages> parse_messages(const nlohmann::json& j);

// The messages an optimizer may rewrite, as Opik's Studio chooses them: the system messages
// when the prompt has one, else every message.
std::vector<std::size_t> optimizable_messages(const core::prompt_messages& prompt);

// `candidate` with each message that breaks the seed's variables put back to the seed's text: a
// message that drops a {{variable}} the seed has there (unless another message now has it where
// the seed did not: moved is allowed), or that brings in one the seed never used (a dataset field
// such as the expected answer would leak it to the model; any other cannot be filled). Repeated
// until nothing changes. Messages beyond the seed's, or of another role, are the seed's.
core::prompt_messages keep_variables(const core::prompt_messages& seed, core::prompt_messages candidate);

}  // namespace optd::plugins
