#pragma once
// Opik's experiment read endpoints, over what optd journals: every trial of a run is an experiment
// (`type: trial`, the run's `optimization_id`, its prompt in `metadata.configuration.prompt`) and
// every finished evaluation is an experiment item, whose trace id is derived from the evaluation id.
//
//   GET  /api/v1/private/experiments                      find (optimization_id, types, datasetId, name, …)
//   GET  /api/v1/private/experiments/{id}                 get
//   POST /api/v1/private/experiments/items/stream         items of experiments by name (`\r\n` JSON)
//   GET  /api/v1/private/experiments/items/{id}           one item
//   GET  /api/v1/private/datasets/{id}/items/experiments/items
//        dataset items with their experiment items (the Compare view)
#include <optional>

#include "net/http_message.hpp"
#include "store/store.hpp"

namespace optd::api {

class experiments_api {
 public:
  explicit experiments_api(store::store& db) : db_(db) {}

  // The response when `req` is an experiment route, nullopt otherwise.
  std::optional<net::http_response> route(const net::http_request& req);

 private:
  net::http_response find(const net::http_request& req);
  net::http_response get(const std::string& id);
  net::http_response stream_items(const net::http_request& req);
  // Opik's experiments by exact name, newest first, `\r\n`-separated (the Python SDK's
  // get_experiment_by_name); the score names of some experiments (the UI's trial items tab).
  net::http_response stream_experiments(const net::http_request& req);
  net::http_response score_names(const net::http_request& req);
  net::http_response get_item(const std::string& id);
  net::http_response dataset_items_with_experiment_items(const net::http_request& req, const std::string& dataset_id);

  store::store& db_;
};

}  // namespace optd::api
