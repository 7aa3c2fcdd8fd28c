#pragma once
// The routes optd serves, method by path, for what a router alone cannot say: which methods a
// known path allows (405 with Allow, as Opik's Jersey answers) and which media type a body must
// have (415). Paths are matched segment by segment, `{id}` matching any one segment; a path
// matched by literal segments is not also matched by an `{id}` in their place.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace optd::api {

// The methods `path` (no query) allows, in a stable order; empty when optd serves no such path.
std::vector<std::string> allowed_methods(std::string_view path);

// Whether a body of `content_type` (the header's value; empty when absent) may go to `path`:
// JSON everywhere (application/json or a +json type), YAML or JSON for /api/optd/runs. An absent
// type is taken as the endpoint's own.
bool accepted_media_type(std::string_view path, std::string_view content_type);

}  // namespace optd::api
