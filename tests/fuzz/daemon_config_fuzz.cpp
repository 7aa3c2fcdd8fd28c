// The daemon config parser on any text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/daemon_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = optd::config::parse_daemon_config(text, "optd.yaml");
  for (const auto& p : loaded.problems) (void)optd::config::format(p);
  (void)optd::config::parse_listen(text);
  return 0;
}
