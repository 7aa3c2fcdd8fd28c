// What Opik's Python SDK (and so opik_optimizer) sends that its TypeScript SDK does not: bodies
// gzipped with Content-Encoding (every JSON body of 256 bytes or more, by default), a dataset
// version lookup before each trial, a liveness probe before it replays what it buffered, and
// creates retried after a lost answer. Over loopback, through optd's HTTP server.
#include "net/content_encoding.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/api_fixture.hpp"

namespace optd::api {
namespace {

using ::testing::HasSubstr;

const net::http_header gzipped{"Content-Encoding", "gzip"};

class python_sdk_wire : public api_test {};

TEST_F(python_sdk_wire, gzipped_bodies_are_read_as_the_json_they_inflate_to) {
  auto id = ids_.next(1'790'000'000'000);
  auto body = nlohmann::json{{"id", id}, {"name", "from-python"}, {"dataset_name", "skills"},
                             {"objective_name", "accuracy"}, {"status", "running"},
                             {"metadata", {{"optimizer", "GepaOptimizer"}, {"note", std::string(300, 'x')}}}}
                  .dump();
  auto r = call("POST", "/v1/private/optimizations", net::gzip(body), {gzipped});
  ASSERT_EQ(r.status, 201u) << r.body;
  auto back = json_of(call("GET", "/v1/private/optimizations/" + id));
  EXPECT_EQ(back["name"], "from-python");
  EXPECT_EQ(back["metadata"]["optimizer"], "GepaOptimizer");
  // Two gzip members back to back are one body (RFC 1952), as zlib's gzip writers may send.
  auto experiment = ids_.next(1'790'000'000'001);
  auto halves = nlohmann::json{{"id", experiment}, {"dataset_name", "skills"}, {"optimization_id", id}}.dump();
  auto cut = halves.size() / 2;
  r = call("POST", "/v1/private/experiments", net::gzip(halves.substr(0, cut)) + net::gzip(halves.substr(cut)), {gzipped});
  EXPECT_EQ(r.status, 201u) << r.body;
  EXPECT_TRUE(db_->trial_by_id(experiment));
}

TEST_F(python_sdk_wire, a_gzip_bomb_gets_413_and_other_bodies_that_are_not_gzip_a_4xx) {
  // 64 MiB of zeros in 64 kB: inflated, it would pass the 8 MiB body limit eight times over.
  auto bomb = net::gzip(std::string(64u << 20, '0'));
  ASSERT_LT(bomb.size(), 100'000u);
  auto r = call("POST", "/v1/private/optimizations", bomb, {gzipped});
  EXPECT_EQ(r.status, 413u);
  EXPECT_THAT(r.body, HasSubstr("too large once inflated"));
  // Not gzip, or a coding optd does not speak: a 4xx naming it, and the server goes on.
  r = call("POST", "/v1/private/optimizations", "{\"name\":\"x\"}", {gzipped});
  EXPECT_EQ(r.status, 400u);
  EXPECT_THAT(r.body, HasSubstr("not valid gzip"));
  r = call("POST", "/v1/private/optimizations", net::gzip("{}").substr(0, 12), {gzipped});  // truncated
  EXPECT_EQ(r.status, 400u);
  r = call("POST", "/v1/private/optimizations", "{}", {{"Content-Encoding", "br"}});
  EXPECT_EQ(r.status, 415u);
  EXPECT_THAT(r.body, HasSubstr("gzip or identity"));
  EXPECT_EQ(call("GET", "/v1/private/optimizations").status, 200u);
}

TEST_F(python_sdk_wire, the_liveness_probe_answers_without_a_token_as_opiks_does) {
  TearDown();
  start({}, "secret-token");
  auto r = call("GET", "/is-alive/ping");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json_of(r), (nlohmann::json{{"message", "Healthy Server"}, {"healthy", true}}));
  EXPECT_EQ(call("GET", "/is-alive/ver").status, 200u);
  EXPECT_EQ(call("GET", "/v1/private/optimizations").status, 401u);  // the rest still needs it
}

TEST_F(python_sdk_wire, a_dataset_has_a_latest_version_which_changes_as_items_are_added) {
  auto dataset = db_->find_dataset("skills");
  ASSERT_TRUE(dataset);
  auto versions = [&] {
    auto r = call("GET", "/v1/private/datasets/" + dataset->id + "/versions?page=1&size=1");
    EXPECT_EQ(r.status, 200u) << r.body;
    return json_of(r);
  };
  auto first = versions();
  ASSERT_EQ(first["content"].size(), 1u);
  const auto& v = first["content"][0];
  EXPECT_TRUE(core::is_uuid_v7(v["id"].get<std::string>()));
  EXPECT_EQ(v["dataset_id"], dataset->id);
  EXPECT_EQ(v["items_total"], 6);
  EXPECT_EQ(v["version_name"], "v1");
  EXPECT_EQ(versions()["content"][0]["id"], v["id"]);  // stable while the items are
  auto r = call("PUT", "/v1/private/datasets/items",
                nlohmann::json{{"dataset_name", "skills"}, {"items", {{{"data", {{"question", "q7"}}}}}}}.dump());
  ASSERT_EQ(r.status, 204u) << r.body;
  EXPECT_NE(versions()["content"][0]["id"], v["id"]);
  EXPECT_EQ(call("GET", "/v1/private/datasets/" + ids_.next(1) + "/versions").status, 404u);
}

TEST_F(python_sdk_wire, an_experiment_created_again_after_a_lost_answer_is_201_and_unchanged) {
  auto optimization = ids_.next(1'790'000'000'000);
  ASSERT_EQ(call("POST", "/v1/private/optimizations",
                 nlohmann::json{{"id", optimization}, {"name", "sdk-run"}, {"dataset_name", "skills"},
                                {"objective_name", "accuracy"}, {"status", "running"}}
                     .dump())
                .status,
            201u);
  auto id = ids_.next(1'790'000'000'001);
  auto body = nlohmann::json{{"id", id}, {"dataset_name", "skills"}, {"optimization_id", optimization},
                             {"name", "first"}};
  auto r = call("POST", "/v1/private/experiments", body.dump());
  EXPECT_EQ(r.status, 201u) << r.body;
  body["name"] = "second";
  EXPECT_EQ(call("POST", "/v1/private/experiments", body.dump()).status, 201u);
  EXPECT_EQ(db_->trial_by_id(id)->name, "first");
  EXPECT_EQ(db_->trials(optimization).size(), 1u);
}

TEST_F(python_sdk_wire, a_method_a_path_does_not_take_is_405_with_allow_and_a_body_not_json_is_415) {
  auto id = create(studio_body);
  auto r = call("DELETE", "/v1/private/optimizations/" + id);
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("allow"), "GET, PUT");
  EXPECT_THAT(r.body, HasSubstr("\"code\":405"));
  r = call("POST", "/v1/private/experiments/items/stream/");  // literal segments win over an {id}
  EXPECT_NE(r.status, 405u);
  r = call("GET", "/v1/private/traces/batch");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("allow"), "POST");
  EXPECT_EQ(call("GET", "/v1/private/nothing-here").status, 404u);
  EXPECT_EQ(call("GET", "/v1/private/optimizations/" + ids_.next(1)).status, 404u);  // a path it takes, no such run

  auto body = nlohmann::json{{"name", "typed"}, {"dataset_name", "skills"}, {"objective_name", "accuracy"},
                             {"status", "running"}}
                  .dump();
  // (Straight to the API: optd's HTTP client sets its own Content-Type.)
  auto post = [&](std::string type) {
    net::http_request req{"POST", "/api/v1/private/optimizations", {{"Content-Type", std::move(type)}}, body};
    return *test::run(ioc_, api_->handle(std::move(req)));
  };
  r = post("application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 415u);  // what curl -d sends unless told otherwise
  EXPECT_THAT(r.body, HasSubstr("Unsupported Media Type"));
  EXPECT_EQ(post("application/json; charset=utf-8").status, 201u);
}

}  // namespace
}  // namespace optd::api
