#pragma once
// Opik's dataset endpoints under /api/v1/private/datasets: create, retrieve by name, get by id,
// find, upsert items, stream items (`\r\n`-separated JSON, `steam_limit`, `last_retrieved_id`)
// and page items. Datasets live in the same store the runs read them from.
#include <optional>

#include "core/clock.hpp"
#include "core/uuid.hpp"
#include "net/http_message.hpp"
#include "store/store.hpp"

namespace optd::api {

class datasets_api {
 public:
  datasets_api(store::store& db, core::clock& clock, core::uuid_v7_generator& ids) : db_(db), clock_(clock), ids_(ids) {}

  // The response when `req` is a dataset route, nullopt otherwise.
  std::optional<net::http_response> route(const net::http_request& req);

 private:
  net::http_response create(const net::http_request& req);
  net::http_response retrieve(const net::http_request& req);
  net::http_response find(const net::http_request& req);
  net::http_response upsert_items(const net::http_request& req);
  net::http_response stream_items(const net::http_request& req);
  net::http_response page_items(const net::http_request& req, const std::string& id);
  net::http_response versions(const net::http_request& req, const std::string& id);
  nlohmann::json dataset_json(const store::dataset_record& d) const;
  std::string new_id() { return ids_.next(static_cast<std::uint64_t>(clock_.now_ms())); }

  store::store& db_;
  core::clock& clock_;
  core::uuid_v7_generator& ids_;
};

}  // namespace optd::api
