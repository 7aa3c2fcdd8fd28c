#pragma once
// A blocking client of a running `optd serve`, for the CLI subcommands: one request (or event
// stream) at a time on its own io_context, the API token in Opik's `authorization` header.
#include <functional>
#include <memory>
#include <string>

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include "net/http_message.hpp"
#include "net/url.hpp"

namespace optd::cli {

class daemon_client {
 public:
  // `server` is http://HOST:PORT (the API is under /api). Throws std::invalid_argument on a bad URL.
  daemon_client(const std::string& server, std::string token);
  ~daemon_client();
  daemon_client(daemon_client&&) noexcept;

  // Connection failures come back as an error code (and a message in `why`).
  boost::system::result<net::http_response> call(const std::string& method, const std::string& target,
                                                 const std::string& body = {},
                                                 const std::string& content_type = "application/json");

  // Follows a Server-Sent Events stream until the daemon ends it, handing each event to
  // `on_event`. Up to a minute of silence is allowed (the daemon sends a comment every 15 s). A
  // refusal (not 2xx) comes back as the response.
  using event_handler = std::function<void(std::string_view event, std::string_view data)>;
  boost::system::result<net::http_response> follow(const std::string& target, const event_handler& on_event);

  const std::string& server() const noexcept { return server_; }

 private:
  net::http_request request(const std::string& method, const std::string& target, const std::string& body = {},
                            const std::string& content_type = "application/json") const;
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string server_;
  std::string token_;
  net::url base_;
};

// The message of an Opik error body ({"code","message"} or {"errors":[…]}), else the raw body.
std::string error_message(const net::http_response& r);

}  // namespace optd::cli
