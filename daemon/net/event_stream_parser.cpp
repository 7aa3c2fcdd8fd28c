#include "net/event_stream_parser.hpp"

namespace optd::net {

void event_stream_parser::feed(std::string_view piece) {
  pending_.append(piece);
  std::size_t start = 0;
  for (auto end = pending_.find('\n'); end != std::string::npos; end = pending_.find('\n', start)) {
    auto text = std::string_view(pending_).substr(start, end - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    line(text);
    start = end + 1;
  }
  pending_.erase(0, start);
}

void event_stream_parser::line(std::string_view text) {
  if (text.empty()) {  // the end of an event
    if (has_data_) on_event_(event_.empty() ? "message" : event_, data_);
    event_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return;  // a comment: a keep-alive
  auto colon = text.find(':');
  auto field = text.substr(0, colon);
  auto value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "event") {
    event_ = value;
  } else if (field == "data") {
    if (has_data_) data_ += '\n';
    data_ += value;
    has_data_ = true;
  }
}

}  // namespace optd::net
