#pragma once
// Mustache-style {{var}} templates as Opik's Studio writes them: spaces inside the braces are
// allowed, values come from a dataset item's `data` object. Pure functions.
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include "core/run_spec.hpp"

namespace optd::core {

// Variable names in order of first appearance, each once.
std::vector<std::string> template_variables(std::string_view text);

// Variables of every message of a prompt, each once.
std::vector<std::string> template_variables(const prompt_messages& prompt);

// Replaces each {{var}} with data[var]; strings are inserted as they are, other JSON values as
// compact JSON. A variable with no value in `data` is errc::template_variable_missing and
// `missing` (when given) receives its name.
boost::system::result<std::string> render_template(std::string_view text, const nlohmann::json& data,
                                                   std::string* missing = nullptr);

}  // namespace optd::core
