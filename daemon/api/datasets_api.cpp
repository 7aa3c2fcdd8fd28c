#include "api/datasets_api.hpp"

#include <set>

#include "core/uuid.hpp"
#include "opik/opik_json.hpp"
#include "api/responses.hpp"

namespace optd::api {

using net::http_response;

namespace {

const std::string base = "/api/v1/private/datasets";

std::optional<nlohmann::json> json_body(const net::http_request& req) {
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

nlohmann::json datasets_api::dataset_json(const store::dataset_record& d) const {
  return {{"id", d.id},
          {"name", d.name},
          {"visibility", "private"},
          {"tags", nlohmann::json::array()},
          {"created_at", core::iso8601(d.created_ms)},
          {"created_by", "optd"},
          {"last_updated_at", core::iso8601(d.created_ms)},
          {"last_updated_by", "optd"},
          {"dataset_items_count", d.item_count}};
}

std::optional<http_response> datasets_api::route(const net::http_request& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  if (path.rfind(base, 0) != 0) return std::nullopt;
  auto rest = path.substr(base.size());
  const auto& m = req.method;
  if ((rest.empty() || rest == "/") && m == "POST") return create(req);
  if ((rest.empty() || rest == "/") && m == "GET") return find(req);
  if (rest == "/retrieve" && m == "POST") return retrieve(req);
  if (rest == "/items" && m == "PUT") return upsert_items(req);
  if (rest == "/items/stream" && m == "POST") return stream_items(req);
  if (rest.size() > 1 && rest.find('/', 1) == std::string::npos && m == "GET") {
    auto d = db_.find_dataset(rest.substr(1));
    if (!d || d->id != rest.substr(1)) return error_response(404, "Dataset not found");
    return json_response(200, dataset_json(*d));
  }
  if (rest.size() > 7 && rest.substr(rest.size() - 6) == "/items" && m == "GET")
    return page_items(req, rest.substr(1, rest.size() - 7));
  if (rest.size() > 10 && rest.substr(rest.size() - 9) == "/versions" && m == "GET")
    return versions(req, rest.substr(1, rest.size() - 10));
  return error_response(404, "HTTP 404 Not Found");
}

http_response datasets_api::create(const net::http_request& req) {
  auto j = json_body(req);
  if (!j) return error_response(400, "Unable to process JSON");
  auto name = text_field(*j, "name");
  if (name.empty()) return errors_response(422, {"name must not be blank"});
  std::string id = j->contains("id") && (*j)["id"].is_string() ? (*j)["id"].get<std::string>() : new_id();
  if (!core::is_uuid_v7(id)) return error_response(400, "Dataset id must be a version 7 UUID");
  if (!db_.create_dataset(id, name, text_field(*j, "description"), clock_.now_ms()))
    return errors_response(409, {"Dataset already exists"});
  return {201, {{"Location", origin_of(req) + base + "/" + id}}, {}};
}

http_response datasets_api::retrieve(const net::http_request& req) {
  auto j = json_body(req);
  if (!j) return error_response(400, "Unable to process JSON");
  auto d = db_.find_dataset(text_field(*j, "dataset_name"));
  if (!d || d->name != text_field(*j, "dataset_name")) return error_response(404, "Dataset not found");
  return json_response(200, dataset_json(*d));
}

http_response datasets_api::find(const net::http_request& req) {
  auto q = parse_query(req.target);
  auto page = positive_param(q, "page", 1), size = positive_param(q, "size", 10);
  if (!page || !size) return error_response(400, "page and size must be whole numbers from 1 to 2147483647");
  auto name = q.count("name") ? q.at("name") : "";
  std::vector<store::dataset_record> matched;
  for (auto& d : db_.list_datasets())
    if (name.empty() || d.name.find(name) != std::string::npos) matched.push_back(std::move(d));
  auto content = nlohmann::json::array();
  auto [first, end] = slice_of(*page, *size, matched.size());
  for (auto i = first; i < end; ++i)
    content.push_back(dataset_json(matched[i]));
  return json_response(200, opik::page_body(*page, std::move(content), matched.size()));
}

http_response datasets_api::upsert_items(const net::http_request& req) {
  auto j = json_body(req);
  if (!j) return error_response(400, "Unable to process JSON");
  if (!j->contains("items") || !(*j)["items"].is_array() || (*j)["items"].empty())
    return errors_response(422, {"items must not be empty"});
  std::vector<core::dataset_item> items;
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < (*j)["items"].size(); ++i) {
    const auto& it = (*j)["items"][i];
    if (!it.is_object() || !it.contains("data") || !it["data"].is_object()) {
      problems.push_back("items[" + std::to_string(i) + "].data must be an object");
      continue;
    }
    std::string id = it.contains("id") && it["id"].is_string() ? it["id"].get<std::string>() : new_id();
    if (!core::is_uuid_v7(id)) return error_response(400, "Dataset item id must be a version 7 UUID");
    items.push_back({id, it["data"]});
  }
  if (!problems.empty()) return errors_response(422, std::move(problems));
  std::optional<store::dataset_record> d;
  if (j->contains("dataset_id")) {
    d = db_.find_dataset(text_field(*j, "dataset_id"));
    if (!d) return error_response(404, "Dataset not found");
  } else {
    auto name = text_field(*j, "dataset_name");
    if (name.empty()) return errors_response(422, {"dataset_name or dataset_id is required"});
    if (!db_.find_dataset(name)) db_.create_dataset(new_id(), name, "", clock_.now_ms());  // get or create, as Opik
    d = db_.find_dataset(name);
  }
  db_.upsert_dataset_items(d->id, items);
  return no_content();
}

http_response datasets_api::stream_items(const net::http_request& req) {
  auto j = json_body(req);
  if (!j) return error_response(400, "Unable to process JSON");
  auto limit = whole_field(*j, "steam_limit", 500);  // sic: Opik's field name
  if (limit < 1 || limit > 2000) return errors_response(422, {"steam_limit must be between 1 and 2000"});
  auto d = db_.find_dataset(text_field(*j, "dataset_name"));
  if (!d) return error_response(404, "Dataset not found");
  std::string out;
  for (const auto& item : db_.dataset_items_after(d->id, text_field(*j, "last_retrieved_id"), limit))
    out += opik::dataset_item_json(item, d->id).dump() + "\r\n";
  return {200, {{"Content-Type", "application/octet-stream"}}, std::move(out)};
}

http_response datasets_api::page_items(const net::http_request& req, const std::string& id) {
  auto d = db_.find_dataset(id);
  if (!d || d->id != id) return error_response(404, "Dataset not found");
  auto q = parse_query(req.target);
  auto page = positive_param(q, "page", 1), size = positive_param(q, "size", 10);
  if (!page || !size) return error_response(400, "page and size must be whole numbers from 1 to 2147483647");
  auto content = nlohmann::json::array();
  std::set<std::string> columns;
  for (const auto& item : db_.dataset_items_after(d->id, "", *size, (*page - 1) * *size)) {
    for (auto it = item.data.begin(); it != item.data.end(); ++it) columns.insert(it.key());
    content.push_back(opik::dataset_item_json(item, d->id));
  }
  auto body = opik::page_body(*page, std::move(content), static_cast<std::size_t>(d->item_count));
  body["columns"] = opik::columns_json(columns);
  return json_response(200, body);
}

// optd keeps one version of a dataset, its items as they are now. Opik's SDKs read the latest
// version before each trial (its id goes into the experiment); it changes as items are added.
http_response datasets_api::versions(const net::http_request& req, const std::string& id) {
  auto d = db_.find_dataset(id);
  if (!d || d->id != id) return error_response(404, "Dataset not found");
  auto q = parse_query(req.target);
  auto page = positive_param(q, "page", 1), size = positive_param(q, "size", 10);
  if (!page || !size) return error_response(400, "page and size must be whole numbers from 1 to 2147483647");
  auto hash = "items:" + std::to_string(d->item_count);
  nlohmann::json version = {{"id", core::derived_uuid_v7(d->id, "version:" + hash)},
                            {"dataset_id", d->id},
                            {"version_hash", hash},
                            {"version_name", "v1"},
                            {"tags", nlohmann::json::array()},
                            {"items_total", d->item_count},
                            {"items_added", d->item_count},
                            {"items_modified", 0},
                            {"items_deleted", 0},
                            {"created_at", core::iso8601(d->created_ms)},
                            {"created_by", "optd"},
                            {"last_updated_at", core::iso8601(d->created_ms)},
                            {"last_updated_by", "optd"}};
  auto content = nlohmann::json::array();
  if (*page == 1) content.push_back(std::move(version));
  return json_response(200, opik::page_body(*page, std::move(content), 1));
}

}  // namespace optd::api
