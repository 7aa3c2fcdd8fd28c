// The Server-Sent Events parser, fed the input cut into pieces at places the input chooses (its
// first byte): the events must be the same however the stream is cut.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/event_stream_parser.hpp"

namespace {

std::vector<std::string> events_of(std::string_view text, std::size_t piece) {
  std::vector<std::string> out;
  optd::net::event_stream_parser parser([&](std::string_view event, std::string_view data) {
    out.push_back(std::string(event) + '\0' + std::string(data));
  });
  for (std::size_t at = 0; at < text.size(); at += piece) parser.feed(text.substr(at, piece));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (events_of(text, text.size() + 1) != events_of(text, 1u + data[0] % 7)) std::abort();
  return 0;
}
