// The run config loader on any text: the YAML guard, yaml-cpp, the checks. It must return
// problems or a spec, never crash, hang or take memory the limits do not allow.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/run_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  optd::config::load_context context;
  context.read_dataset_files = false;  // a config must not make the fuzzer read files
  context.providers = {"openai", "sim"};
  context.priced = [](std::string_view, std::string_view model) { return model != "unpriced"; };
  auto loaded = optd::config::parse_run_config(text, "fuzz.yaml", "", context);
  for (const auto& p : loaded.problems) (void)optd::config::format(p);
  return 0;
}
