#pragma once
// Reads a Server-Sent Events stream (text/event-stream) piece by piece, however the pieces cut
// it: each complete event goes to the handler with its name ("message" when it names none) and
// its data lines joined by "\n". Comments (": …") and events without data are skipped.
#include <functional>
#include <string>
#include <string_view>

namespace optd::net {

class event_stream_parser {
 public:
  using handler = std::function<void(std::string_view event, std::string_view data)>;
  explicit event_stream_parser(handler on_event) : on_event_(std::move(on_event)) {}

  void feed(std::string_view piece);

 private:
  void line(std::string_view text);

  handler on_event_;
  std::string pending_;  // an unfinished line
  std::string event_, data_;
  bool has_data_ = false;
};

}  // namespace optd::net
