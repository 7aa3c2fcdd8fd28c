#include "support/test_support.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace optd::test {

void run(boost::asio::io_context& ioc, boost::asio::awaitable<void> a, std::chrono::seconds cap) {
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  auto deadline = std::chrono::steady_clock::now() + cap;
  while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_one_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(done) << "coroutine did not finish within the safety cap";
  if (error) std::rethrow_exception(error);
}

net::http_response http(const std::string& base, std::string method, std::string target, std::string body,
                        std::vector<net::http_header> headers) {
  boost::asio::io_context ioc;
  net::http_client client(ioc.get_executor(), nullptr);
  net::http_request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.headers = {{"Content-Type", "application/json"}};
  for (auto& h : headers) r.headers.push_back(std::move(h));
  auto res = *run(ioc, client.send(*net::parse_url(base), r, {}));
  EXPECT_TRUE(res) << r.method << " " << r.target << ": " << (res ? std::string() : res.error().message());
  return res ? *res : net::http_response{};
}

bool poll_until(boost::asio::io_context& ioc, const std::function<bool()>& pred, std::chrono::seconds cap) {
  auto deadline = std::chrono::steady_clock::now() + cap;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "condition not reached within the safety cap";
      return false;
    }
    ioc.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

scripted_server::scripted_server(boost::asio::io_context& ioc, script s)
    : script_(std::move(s)),
      server_(ioc.get_executor(), [this](net::http_request r) -> boost::asio::awaitable<net::http_response> {
        received_.push_back(r);
        co_return script_(received_.back(), static_cast<int>(received_.size()) - 1);
      }) {
  port_ = server_.listen("127.0.0.1", 0);
  server_.start();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string temp_dir(const std::string& name) {
  auto base = std::filesystem::temp_directory_path() / ("optd-test-" + std::to_string(::getpid()));
  auto dir = base / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace optd::test
