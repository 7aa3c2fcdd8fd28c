#pragma once
// What every optimizer does with prompts the reasoning model writes: read them out of its reply,
// keep the parts Opik lets it change, and keep the prompt's {{variables}}. Pure functions.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/run_spec.hpp"
#include "plugins/llm_text.hpp"

namespace optd::plugins {

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
