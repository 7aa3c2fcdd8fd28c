#include "config/dataset_file.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/digest.hpp"

namespace optd::config {
namespace {

// The basis is a digit short of FNV's own, as it has been since the first store: kept, so that
// datasets already stored still match their files and keep their item ids.
std::string file_digest(std::string_view text) { return core::digest_hex(core::fnv1a(text, 1469598103934665603ULL)); }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

void throw_exception_from_error(const diagnostic& d, const boost::source_location&) {
  throw std::runtime_error(format(d));
}

boost::system::result<dataset_rows, diagnostic> parse_jsonl(std::string_view text, const std::string& name) {
  dataset_rows out;
  out.content_hash = file_digest(text);
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      if (end == text.size()) break;
      continue;
    }
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) return diagnostic{name, line_no, 1, "not a JSON value"};
    if (!j.is_object()) return diagnostic{name, line_no, 1, "each line must be a JSON object"};
    out.rows.push_back(std::move(j));
    if (end == text.size()) break;
  }
  if (out.rows.empty()) return diagnostic{name, 0, 0, "the dataset has no items"};
  return out;
}

boost::system::result<dataset_rows, diagnostic> parse_csv(std::string_view text, const std::string& name) {
  dataset_rows out;
  out.content_hash = file_digest(text);
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1, record_line = 1;
  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') field.push_back('"'), ++i;
        else quoted = false;
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) quoted = field_started = true;
    else if (c == ',') end_field();
    else if (c == '\r') continue;
    else if (c == '\n') {
      end_field();
      if (!(record.size() == 1 && record[0].empty())) {
        if (!records.empty() && record.size() != records.front().size())
          return diagnostic{name, record_line, 1,
                            "row has " + std::to_string(record.size()) + " fields; the header has " +
                                std::to_string(records.front().size())};
        records.push_back(std::move(record));
      }
      record.clear();
      record_line = ++line;
    } else field.push_back(c), field_started = true;
  }
  if (quoted) return diagnostic{name, record_line, 1, "unterminated quoted field"};
  if (field_started || !record.empty()) {
    end_field();
    if (!records.empty() && record.size() != records.front().size())
      return diagnostic{name, record_line, 1,
                        "row has " + std::to_string(record.size()) + " fields; the header has " +
                            std::to_string(records.front().size())};
    records.push_back(std::move(record));
  }
  if (records.size() < 2) return diagnostic{name, 0, 0, "the dataset has no items (a header row and at least one row)"};
  const auto& header = records.front();
  for (std::size_t r = 1; r < records.size(); ++r) {
    auto obj = nlohmann::json::object();
    for (std::size_t k = 0; k < header.size(); ++k) obj[header[k]] = records[r][k];
    out.rows.push_back(std::move(obj));
  }
  return out;
}

boost::system::result<dataset_rows, diagnostic> read_dataset_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return diagnostic{path, 0, 0, "cannot open dataset file"};
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  if (size > max_dataset_bytes) return diagnostic{path, 0, 0, "dataset file is larger than 256 MiB"};
  in.seekg(0);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (ends_with(path, ".csv")) return parse_csv(text, path);
  if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson")) return parse_jsonl(text, path);
  return diagnostic{path, 0, 0, "unknown dataset format; use .jsonl, .ndjson or .csv"};
}

}  // namespace optd::config
