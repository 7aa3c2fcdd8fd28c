#include "config/yaml_guard.hpp"

#include <cstdio>
#include <vector>

namespace optd::config {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  if (n == 2 && c < 0xc2) return 0;  // overlong
  return n;
}

}  // namespace

std::optional<diagnostic> check_yaml_text(std::string_view text, const std::string& file,
                                          const yaml_limits& limits) {
  if (text.size() > limits.max_bytes)
    return diagnostic{file, 0, 0,
                      "document is " + std::to_string(text.size()) + " bytes; the limit is " +
                          std::to_string(limits.max_bytes)};

  int line = 1, column = 1;
  auto at = [&](std::string msg) { return diagnostic{file, line, column, std::move(msg)}; };

  std::vector<std::size_t> indents;  // open block indentation levels
  int flow_depth = 0;
  int aliases = 0;
  bool line_start = true;
  char quote = 0;
  bool comment = false;

  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    auto uc = static_cast<unsigned char>(c);
    if (uc < 0x20 && c != '\n' && c != '\r' && c != '\t')
      return at("binary byte 0x" + std::string(1, "0123456789abcdef"[uc >> 4]) + "0123456789abcdef"[uc & 15] +
                " is not allowed in a config");
    std::size_t len = utf8_length(text, i);
    if (len == 0) return at("the file is not valid UTF-8");

    if (c == '\n') {
      ++line;
      column = 1;
      line_start = true;
      comment = false;
      if (quote == '\'' || quote == '"') {
        // quoted scalars may span lines; keep the quote open
      }
      ++i;
      continue;
    }

    if (line_start && quote == 0 && flow_depth == 0) {
      std::size_t j = i;
      while (j < text.size() && text[j] == ' ') ++j;
      bool blank = j >= text.size() || text[j] == '\n' || text[j] == '\r' || text[j] == '#';
      if (!blank) {
        std::size_t indent = j - i;
        while (!indents.empty() && indents.back() > indent) indents.pop_back();
        if (indents.empty() || indents.back() < indent) indents.push_back(indent);
        int dashes = 0;
        while (j + 1 < text.size() && text[j] == '-' && (text[j + 1] == ' ' || text[j + 1] == '\n')) {
          ++dashes;
          j += 2;
          while (j < text.size() && text[j] == ' ') ++j;
        }
        if (static_cast<int>(indents.size()) + dashes > limits.max_depth)
          return at("nesting is deeper than " + std::to_string(limits.max_depth) + " levels");
      }
      line_start = false;
    }

    if (!comment) {
      if (quote != 0) {
        if (c == quote) quote = 0;
        else if (quote == '"' && c == '\\') { i += 2; column += 2; continue; }
      } else if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n')) {
        comment = true;
      } else if (c == '"' || (c == '\'' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '[' ||
                                            text[i - 1] == '{' || text[i - 1] == ',' || text[i - 1] == ':' ||
                                            text[i - 1] == '\n'))) {
        quote = c;
      } else if (c == '[' || c == '{') {
        if (++flow_depth + static_cast<int>(indents.size()) > limits.max_depth)
          return at("nesting is deeper than " + std::to_string(limits.max_depth) + " levels");
      } else if ((c == ']' || c == '}') && flow_depth > 0) {
        --flow_depth;
      } else if (c == '*' && i + 1 < text.size() && text[i + 1] != ' ' &&
                 (i == 0 || text[i - 1] == ' ' || text[i - 1] == '[' || text[i - 1] == ',' || text[i - 1] == '\n')) {
        if (++aliases > limits.max_aliases)
          return at("more than " + std::to_string(limits.max_aliases) + " aliases");
      }
    }
    i += len;
    ++column;
  }
  return std::nullopt;
}

namespace {

std::string place(const YAML::Mark& m) { return std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1); }

// What yaml-cpp accepts and a config must not hold: a key given twice in one mapping (yaml-cpp
// keeps both, and a lookup finds the first, so an override appended at the end would be ignored
// without a word) and control characters in a value ("\0" in a double-quoted model name, say).
// Visits at most `budget` nodes: an alias bomb is the tree reader's to report.
std::optional<diagnostic> check_tree(const YAML::Node& node, const std::string& file, std::size_t& budget) {
  if (budget == 0) return std::nullopt;
  --budget;
  auto at = [&](const YAML::Mark& m, std::string msg) { return diagnostic{file, m.line + 1, m.column + 1, std::move(msg)}; };
  if (node.IsScalar()) {
    for (unsigned char c : node.Scalar())
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        char code[8];
        std::snprintf(code, sizeof code, "U+%04X", c);
        return at(node.Mark(), std::string("control character ") + code + " in a value; names, models, roles and texts hold printable text");
      }
  } else if (node.IsMap()) {
    std::vector<std::pair<std::string, YAML::Mark>> seen;
    for (const auto& kv : node) {
      if (kv.first.IsScalar()) {
        const auto& key = kv.first.Scalar();
        for (const auto& [name, mark] : seen)
          if (name == key)
            return at(kv.first.Mark(), "key '" + key + "' is given twice, at " + place(mark) + " and here; give it once");
        seen.emplace_back(key, kv.first.Mark());
      }
      if (auto bad = check_tree(kv.first, file, budget)) return bad;
      if (auto bad = check_tree(kv.second, file, budget)) return bad;
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node)
      if (auto bad = check_tree(item, file, budget)) return bad;
  }
  return std::nullopt;
}

// yaml-cpp reports a tab that indents a line as some other error ("illegal map value"): the first
// line up to the error's that a tab indents is the likelier cause, and is named instead.
std::optional<diagnostic> tab_indentation(std::string_view text, const std::string& file, int error_line) {
  int line = 1;
  for (std::size_t i = 0; i < text.size() && line <= error_line; ++line) {
    auto end = text.find('\n', i);
    if (end == std::string_view::npos) end = text.size();
    auto row = text.substr(i, end - i);
    auto content = row.find_first_not_of(" \t");
    auto tab = row.find('\t');
    if (content != std::string_view::npos && row[content] != '#' && tab < content)
      return diagnostic{file, line, static_cast<int>(tab) + 1,
                        "a tab indents this line; YAML indents with spaces only"};
    i = end + 1;
  }
  return std::nullopt;
}

// The line where a second document starts: a "---" line after content, or content after a
// "..." line. Read from the text, not with YAML::LoadAll, which never returns on some malformed
// input (" , r"), as the fuzzer found.
std::optional<int> second_document(std::string_view text) {
  bool content = false, ended = false;
  int line = 1;
  for (std::size_t i = 0; i < text.size(); ++line) {
    auto end = text.find('\n', i);
    if (end == std::string_view::npos) end = text.size();
    auto row = text.substr(i, end - i);
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    i = end + 1;
    auto marker = [&](std::string_view m) {
      return row.substr(0, 3) == m && (row.size() == 3 || row[3] == ' ' || row[3] == '\t');
    };
    if (marker("---")) {
      if (content || ended) return line;
      auto rest = row.find_first_not_of(" \t", 3);
      content = rest != std::string_view::npos && row[rest] != '#';  // "--- value" on the marker's line
      continue;
    }
    if (marker("...")) {
      ended = content;
      continue;
    }
    auto first = row.find_first_not_of(" \t");
    if (first == std::string_view::npos || row[first] == '#' || (!content && row[0] == '%')) continue;
    if (ended) return line;
    content = true;
  }
  return std::nullopt;
}

}  // namespace

std::optional<YAML::Node> load_yaml(std::string_view text, const std::string& file, diagnostics& problems,
                                    const yaml_limits& limits) {
  if (auto bad = check_yaml_text(text, file, limits)) {
    problems.push_back(std::move(*bad));
    return std::nullopt;
  }
  try {
    if (auto line = second_document(text)) {
      problems.push_back({file, *line, 1,
                          "a second YAML document starts here; a config is one document (remove the '---' "
                          "and what follows, or merge it into the first)"});
      return std::nullopt;
    }
    auto document = YAML::Load(std::string(text));
    std::size_t budget = limits.max_nodes;
    if (auto bad = check_tree(document, file, budget)) {
      problems.push_back(std::move(*bad));
      return std::nullopt;
    }
    return document;
  } catch (const YAML::ParserException& e) {
    if (auto tab = tab_indentation(text, file, e.mark.line + 1)) problems.push_back(std::move(*tab));
    else problems.push_back({file, e.mark.line + 1, e.mark.column + 1, "YAML syntax: " + e.msg});
  } catch (const YAML::Exception& e) {
    problems.push_back({file, 0, 0, std::string("YAML: ") + e.what()});
  }
  return std::nullopt;
}

}  // namespace optd::config
