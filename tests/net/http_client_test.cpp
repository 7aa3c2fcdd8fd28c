#include "net/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace optd::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

http_request post(std::string target, std::string body) {
  http_request r;
  r.target = std::move(target);
  r.body = std::move(body);
  r.headers.push_back({"Content-Type", "application/json"});
  return r;
}

TEST(http_client, reuses_one_keep_alive_connection_for_sequential_calls) {
  asio::io_context ioc;
  test::scripted_server server(ioc, [](const http_request& r, int i) {
    return http_response{200, {{"X-Index", std::to_string(i)}}, "echo:" + r.body};
  });
  http_client client(ioc.get_executor(), nullptr);
  auto base = *parse_url(server.base_url() + "/v1");
  test::run(ioc, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      auto r = co_await client.send(base, post("/chat", "b" + std::to_string(i)), {});
      EXPECT_TRUE(r);
      if (!r) co_return;
      EXPECT_EQ(r->status, 200u);
      EXPECT_EQ(r->body, "echo:b" + std::to_string(i));
      EXPECT_EQ(r->header("x-index"), std::to_string(i));
    }
  }());
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(client.stats().connections_opened, 1u);
  ASSERT_EQ(server.received().size(), 3u);
  EXPECT_EQ(server.received()[0].target, "/v1/chat");
  EXPECT_EQ(server.received()[0].header("content-type"), "application/json");
  EXPECT_EQ(client.idle_connections(), 1u);
}

// A server that answers one request per connection with keep-alive, then closes the connection:
// the client's pooled connection is stale when it sends the second request.
asio::awaitable<void> close_after_each_answer(tcp::acceptor& acceptor, int connections) {
  for (int c = 0; c < connections; ++c) {
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::streambuf buf;
    co_await asio::async_read_until(socket, buf, "\r\n\r\n", asio::use_awaitable);
    std::string res = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
    co_await asio::async_write(socket, asio::buffer(res), asio::use_awaitable);
    socket.close();
  }
}

TEST(http_client, replaces_a_pooled_connection_the_server_closed) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  asio::co_spawn(ioc, close_after_each_answer(acceptor, 2), asio::detached);
  http_client client(ioc.get_executor(), nullptr);
  auto base = *parse_url("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
  test::run(ioc, [&]() -> asio::awaitable<void> {
    auto first = co_await client.send(base, post("/", "1"), {});
    EXPECT_TRUE(first);
    auto second = co_await client.send(base, post("/", "2"), {});
    EXPECT_TRUE(second) << (second ? "" : second.error().message());
    if (second) { EXPECT_EQ(second->body, "ok"); }
  }());
  EXPECT_EQ(client.stats().stale_reconnects, 1u);
  EXPECT_EQ(client.stats().connections_opened, 2u);
}

// Sends one request to a server that accepts the connection and never answers.
boost::system::error_code call_silent_server(const http_timeouts& timeouts) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::socket silent(ioc);
  acceptor.async_accept(silent, [](auto) {});
  http_client client(ioc.get_executor(), nullptr);
  auto base = *parse_url("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
  auto r = *test::run(ioc, client.send(base, post("/", "x"), timeouts));
  EXPECT_FALSE(r);
  return r ? boost::system::error_code{} : r.error();
}

TEST(http_client, read_timeout_ends_a_call_the_server_never_answers) {
  EXPECT_EQ(call_silent_server({1s, 100ms, 5s}), boost::beast::error::timeout);
}

TEST(http_client, overall_deadline_bounds_the_call) {
  EXPECT_EQ(call_silent_server({1s, 60s, 100ms}), boost::beast::error::timeout);
}

TEST(http_client, connection_refused_is_an_error_value) {
  asio::io_context ioc;
  unsigned short port = 0;
  {
    tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  http_client client(ioc.get_executor(), nullptr);
  auto base = *parse_url("http://127.0.0.1:" + std::to_string(port));
  test::run(ioc, [&]() -> asio::awaitable<void> {
    auto r = co_await client.send(base, post("/", "x"), {});
    EXPECT_FALSE(r);
    if (!r) { EXPECT_EQ(r.error(), asio::error::connection_refused); }
  }());
}

TEST(http_client, https_without_a_tls_context_is_refused) {
  asio::io_context ioc;
  http_client client(ioc.get_executor(), nullptr);
  test::run(ioc, [&]() -> asio::awaitable<void> {
    auto r = co_await client.send(*parse_url("https://127.0.0.1:1"), post("/", "x"), {});
    EXPECT_FALSE(r);
  }());
}

TEST(http_client, a_streamed_body_arrives_piece_by_piece_until_the_server_closes_it) {
  asio::io_context ioc;
  // Three pieces, the second larger than the client's read buffer, then the end of the stream.
  auto pieces = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{"event: a\n\n", std::string(10'000, 'x'), "event: b\n\n"});
  net::http_server server(ioc.get_executor(), [pieces](http_request r) -> asio::awaitable<http_response> {
    if (r.target == "/missing") co_return http_response{404, {}, R"({"code":404,"message":"no"})"};
    http_response res{200, {{"Content-Type", "text/event-stream"}}, {}};
    auto next = std::make_shared<std::size_t>(0);
    res.stream = [pieces, next]() -> asio::awaitable<std::optional<std::string>> {
      if (*next == pieces->size()) co_return std::nullopt;
      co_return (*pieces)[(*next)++];
    };
    co_return res;
  });
  auto base = *parse_url("http://127.0.0.1:" + std::to_string(server.listen("127.0.0.1", 0)));
  server.start();
  http_client client(ioc.get_executor(), nullptr);
  std::string got;
  int calls = 0;
  http_client::piece_handler collect = [&](std::string_view piece) {
    got += piece;
    ++calls;
  };
  http_request get;
  get.method = "GET";
  get.target = "/events";
  const http_timeouts timeouts{1s, 5s, 5s};
  auto r = *test::run(ioc, client.stream(base, get, timeouts, collect));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->header("content-type"), "text/event-stream");
  EXPECT_EQ(got, (*pieces)[0] + (*pieces)[1] + (*pieces)[2]);
  EXPECT_GE(calls, 3);
  // An error answer comes back whole, as from send().
  get.target = "/missing";
  got.clear();
  auto missing = *test::run(ioc, client.stream(base, get, timeouts, collect));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404u);
  EXPECT_EQ(missing->body, R"({"code":404,"message":"no"})");
  EXPECT_TRUE(got.empty());
}

TEST(http_server, answers_400_to_garbage_and_413_to_oversized_bodies) {
  asio::io_context ioc;
  net::http_server server(ioc.get_executor(), [](http_request) -> asio::awaitable<http_response> {
    co_return http_response{200, {}, "fine"};
  }, {.body_limit = 16, .read_timeout = std::chrono::seconds(5)});
  auto port = server.listen("127.0.0.1", 0);
  server.start();
  auto exchange = [&](std::string raw) -> asio::awaitable<std::string> {
    tcp::socket s(ioc);
    co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(raw), asio::use_awaitable);
    asio::streambuf buf;
    co_await asio::async_read_until(s, buf, "\r\n", asio::use_awaitable);
    std::string line;
    std::istream(&buf) >> line >> line;
    co_return line;
  };
  EXPECT_EQ(*test::run(ioc, exchange("NOT HTTP AT ALL\r\n\r\n")), "400");
  EXPECT_EQ(*test::run(ioc, exchange("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'a'))),
            "413");
  EXPECT_EQ(*test::run(ioc, exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n")), "200");
}

TEST(http_server, a_client_that_expects_100_continue_is_told_to_send_its_body) {
  asio::io_context ioc;
  net::http_server server(ioc.get_executor(), [](http_request r) -> asio::awaitable<http_response> {
    co_return http_response{200, {}, "got " + r.body};
  });
  auto port = server.listen("127.0.0.1", 0);
  server.start();
  // Headers only; the body goes once the server says 100, as curl sends a large one.
  auto exchange = [&]() -> asio::awaitable<std::pair<std::string, std::string>> {
    tcp::socket s(ioc);
    co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(head), asio::use_awaitable);
    asio::streambuf buf;
    auto n = co_await asio::async_read_until(s, buf, "\r\n\r\n", asio::use_awaitable);
    std::string interim(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
    buf.consume(n);
    co_await asio::async_write(s, asio::buffer(std::string("hello")), asio::use_awaitable);
    co_await asio::async_read_until(s, buf, "got hello", asio::use_awaitable);
    co_return std::pair{interim, std::string(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()))};
  };
  auto [interim, final_answer] = *test::run(ioc, exchange());
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_THAT(final_answer, ::testing::StartsWith("HTTP/1.1 200 OK"));
}

TEST(http_server, a_slow_client_is_cut_off_after_the_read_timeout) {
  asio::io_context ioc;
  net::http_server server(ioc.get_executor(), [](http_request) -> asio::awaitable<http_response> {
    co_return http_response{200, {}, "fine"};
  }, {.body_limit = 1024, .read_timeout = std::chrono::milliseconds(100)});
  auto port = server.listen("127.0.0.1", 0);
  server.start();
  // Half a request, then silence: the server must close the connection rather than wait forever.
  auto trickle = [&]() -> asio::awaitable<boost::system::error_code> {
    tcp::socket s(ioc);
    co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    std::string partial = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
    co_await asio::async_write(s, asio::buffer(partial), asio::use_awaitable);
    char buf[64];
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    co_return ec;
  };
  auto ec = *test::run(ioc, trickle());
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

}  // namespace
}  // namespace optd::net
