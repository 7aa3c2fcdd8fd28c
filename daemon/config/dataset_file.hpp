#pragma once
// Reads a dataset file into item data objects: JSON Lines (one object per line) or CSV (a header
// row names the fields; values stay strings). Chosen by extension: .jsonl/.ndjson or .csv.
#include <string>
#include <vector>

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include "config/diagnostic.hpp"

namespace optd::config {

struct dataset_rows {
  std::vector<nlohmann::json> rows;  // each a JSON object
  std::string content_hash;          // changes when the file's bytes change
};

inline constexpr std::size_t max_dataset_bytes = 256u << 20;

// Returns the rows, or the first problem (with the file's own line number).
boost::system::result<dataset_rows, diagnostic> read_dataset_file(const std::string& path);

// Parsing alone, for tests and for bodies that arrive over HTTP.
boost::system::result<dataset_rows, diagnostic> parse_jsonl(std::string_view text, const std::string& name);
boost::system::result<dataset_rows, diagnostic> parse_csv(std::string_view text, const std::string& name);

[[noreturn]] void throw_exception_from_error(const diagnostic& d, const boost::source_location& loc);

}  // namespace optd::config
