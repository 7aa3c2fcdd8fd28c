#pragma once
// optd's HTTP API under /api: Opik's optimization endpoints (/api/v1/private/optimizations…),
// its dataset and experiment endpoints (delegated to datasets_api and experiments_api) with
// Opik's paths, field names, paging and error bodies, and optd's own under /api/optd/ (YAML
// submission, a run's results by id or unique prefix, its log, its progress once or live as
// Server-Sent Events, health), and GET /metrics (Prometheus). Requests are handled on the event loop thread; a request never blocks on a run.
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "api/datasets_api.hpp"
#include "api/experiments_api.hpp"
#include "api/writes_api.hpp"
#include "config/daemon_config.hpp"
#include "config/run_config.hpp"
#include "core/clock.hpp"
#include "core/uuid.hpp"
#include "engine/run_manager.hpp"
#include "net/http_message.hpp"
#include "store/store.hpp"
#include "telemetry/metrics.hpp"

namespace optd::api {

// Builds the executable parts of a run (optimizer, metrics, dataset items) from a loaded config.
using submission_factory = std::function<engine::run_submission(config::loaded_run& loaded, std::string id)>;

struct api_deps {
  store::store& db;
  engine::run_manager& runs;
  const config::daemon_config& cfg;
  core::clock& clock;
  core::uuid_v7_generator& ids;
  submission_factory make_submission;
  telemetry::metrics* metrics = nullptr;  // GET /metrics when set
  std::string version = {};               // optd's, for GET /api/is-alive/ver
};

class optimizations_api {
 public:
  explicit optimizations_api(api_deps deps);

  boost::asio::awaitable<net::http_response> handle(net::http_request request);
  // The same, synchronously (every route is synchronous).
  net::http_response route(const net::http_request& request);

  // Queues a run loaded from a YAML config (`text`, kept to resume from); returns its id (`id`,
  // or a new one). For the YAML endpoint and the inbox.
  std::string submit_yaml(config::loaded_run& loaded, std::string_view text, std::string id = {});

 private:
  net::http_response dispatch(const net::http_request& request);
  net::http_response create(const net::http_request& req, std::string_view body, bool yaml);
  net::http_response find(const net::http_request& req, const std::map<std::string, std::string>& query);
  net::http_response get(const std::string& id);
  net::http_response update(const std::string& id, std::string_view body);
  net::http_response cancel(const std::string& id);
  net::http_response remove(std::string_view body);
  // Opik's logs link: `url` is a presigned download of the log gzipped, as Opik's S3 object is (its
  // UI inflates it and sends no token with it), valid until `expires_at`.
  net::http_response logs_link(const net::http_request& req, const std::string& id);
  net::http_response log_text(const std::string& id);
  // The gzipped log behind that link: to a request with its valid, unexpired signature, or with the token.
  net::http_response log_download(const net::http_request& req, const std::string& id, bool authorized);
  std::string log_signature(const std::string& id, std::int64_t expires_ms) const;
  // What `optd results` prints (api/run_results.hpp), for an id or a unique prefix of one.
  net::http_response results(const std::string& id_or_prefix);
  // Server-Sent Events: `event: progress` with the run's progress as JSON, until it ends (what
  // `optd watch` follows).
  net::http_response events(const std::string& id);
  // The same state as JSON, once.
  net::http_response progress(const std::string& id);
  std::optional<engine::run_progress> current_progress(const std::string& id);
  std::optional<net::http_request> project_scoped(const net::http_request& req);
  std::optional<store::run_record> find_exact(const std::string& id);
  std::string dataset_id_of(const std::string& dataset_name);
  nlohmann::json view(const store::run_record& r);  // the Optimization JSON

  api_deps d_;
  std::string link_key_;  // signs log links; random per process (a link outlives no restart)
  datasets_api datasets_;
  experiments_api experiments_;
  writes_api writes_;
};

}  // namespace optd::api
