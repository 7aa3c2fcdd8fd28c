#pragma once
// Reads a dataset from Opik by name, as Opik's own optimizer loads a run's dataset:
//   POST /v1/private/datasets/retrieve      {dataset_name, project_name} → its id (404: none)
//   POST /v1/private/datasets/items/stream  {dataset_name, steam_limit, last_retrieved_id}
//        → items as "\r\n"-separated JSON objects, page after page until a short page
// Items keep Opik's ids, so that what optd records links to them. 408/429/5xx and lost
// connections are retried with backoff; what cannot be read throws std::runtime_error with a
// message for the run's error.
#include <random>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "config/daemon_config.hpp"
#include "core/retry_policy.hpp"
#include "core/run_spec.hpp"
#include "net/http_client.hpp"
#include "opik/headers.hpp"

namespace optd::opik {

struct opik_dataset {
  std::string id;
  std::string name;
  std::string description;
  std::vector<core::dataset_item> items;  // in Opik's stream order
};

class dataset_reader {
 public:
  // `client` outlives the reader. `page_size` items per stream request: at most Opik's 2000.
  dataset_reader(boost::asio::any_io_executor ex, net::http_client& client, const config::opik_config& cfg,
                 core::retry_policy retry = {8, std::chrono::milliseconds(500), std::chrono::milliseconds(30'000)},
                 int page_size = 2000);

  // `who`: the workspace and key to read it as, when not the config's (a Studio job's).
  boost::asio::awaitable<opik_dataset> read(std::string name, std::string project_name,
                                            std::optional<run_identity> who = {});

 private:
  // The 2xx response to `target` with `body`, after retries; throws otherwise.
  boost::asio::awaitable<net::http_response> post(const std::string& target, const std::string& body,
                                                  const std::string& what, const std::optional<run_identity>& who);

  boost::asio::any_io_executor ex_;
  net::http_client& client_;
  net::url base_;
  config::opik_config cfg_;
  core::retry_policy retry_;
  int page_size_;
  net::http_timeouts timeouts_;
  std::mt19937_64 jitter_{std::random_device{}()};
};

}  // namespace optd::opik
