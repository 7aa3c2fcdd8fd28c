// The dataset readers (JSONL and CSV) on any text: rows or a diagnostic, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/dataset_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)optd::config::parse_jsonl(text, "fuzz.jsonl");
  (void)optd::config::parse_csv(text, "fuzz.csv");
  return 0;
}
