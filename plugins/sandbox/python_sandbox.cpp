#include "plugins/sandbox/python_sandbox.hpp"

#include <unistd.h>

#include <filesystem>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace optd::plugins {

extern const std::string_view code_metric_shim;  // code_metric_shim.py, embedded at build time

namespace asio = boost::asio;

namespace {

constexpr std::size_t max_reply = 64 * 1024;  // the shim caps reasons at 2,000 characters
// How long a retired interpreter may take to exit by itself (Python's shutdown: some milliseconds).
constexpr std::chrono::milliseconds exit_grace{200};

std::string seconds(std::chrono::milliseconds d) {
  auto s = std::to_string(static_cast<double>(d.count()) / 1000.0);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s + " s";
}

// PATH lookup before fork: the child only calls execve.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (std::size_t b = 0; b <= dirs.size();) {
    auto e = dirs.find(':', b);
    if (e == std::string::npos) e = dirs.size();
    auto candidate = std::filesystem::path(dirs.substr(b, e - b)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    b = e + 1;
  }
  return name;  // execve fails, and the child says so
}

core::metric_result failed_score(const std::string& reason) { return {0, "Error: " + reason.substr(0, 200), true}; }

}  // namespace

spawn_options sandbox_command(const sandbox_settings& s) {
  nlohmann::json limits = {{"memory_bytes", s.memory_bytes},
                           {"processes", s.processes},
                           {"file_bytes", s.tmp_bytes},
                           {"cpu_seconds", static_cast<double>(s.cpu_time.count()) / 1000.0},
                           {"output_bytes", s.output_bytes},
                           {"pid_namespace", s.isolated}};
  spawn_options o;
  o.env = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp"};
  std::vector<std::string> python = {s.python, "-I", "-c", std::string(code_metric_shim), limits.dump()};
  if (!s.isolated) {
    o.program = s.python;
    o.argv = std::move(python);
    return o;
  }
  o.program = find_program(s.bwrap);
  o.argv = {"bwrap",
            // Every namespace of its own: no network (only a loopback), no view of the daemon's
            // processes, and a user namespace in which it may create no other.
            "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL",
            // Nothing of the host's filesystem but /usr, read-only: no /etc, /home, /var, /run.
            "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin"};
  for (const auto& p : s.read_only_paths) o.argv.insert(o.argv.end(), {"--ro-bind", p, p});
  o.argv.insert(o.argv.end(), {"--proc", "/proc", "--dev", "/dev", "--size", std::to_string(s.tmp_bytes), "--tmpfs", "/tmp",
                               "--remount-ro", "/", "--chdir", "/tmp", "--"});
  o.argv.insert(o.argv.end(), python.begin(), python.end());
  return o;
}

python_worker::python_worker(child_process process, const sandbox_settings& settings)
    : process_(std::move(process)), settings_(settings), deadline_(process_.io().get_executor()) {}

python_worker::~python_worker() { process_.end(usable_ ? exit_grace : std::chrono::milliseconds{}); }

asio::awaitable<boost::system::result<std::unique_ptr<python_worker>, code_problem>> python_worker::start(
    const sandbox_settings& settings, std::string code) {
  // Named locals, not temporaries, in co_return: GCC 12 miscompiles some of those.
  code_problem problem;
  auto spawned = child_process::spawn(co_await asio::this_coro::executor, sandbox_command(settings));
  if (!spawned) {
    problem.message = "could not start the sandbox: " + spawned.error();
    co_return problem;
  }
  auto worker = std::make_unique<python_worker>(std::move(*spawned), settings);
  nlohmann::json request = {{"load", std::move(code)}};
  auto loaded = co_await worker->ask(request);
  if (!loaded) {
    problem.message = "the sandbox did not start: " + loaded.error().reason;
    co_return problem;
  }
  if (!loaded->value("ok", false)) {
    problem.message = loaded->value("error", std::string("the code did not load"));
    problem.line = loaded->value("line", 0);
    problem.column = loaded->value("column", 0);
    co_return problem;
  }
  co_return worker;
}

asio::awaitable<boost::system::result<nlohmann::json, python_worker::ask_failure>> python_worker::ask(const nlohmann::json& request) {
  auto line = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  timed_out_ = false;
  deadline_.expires_after(settings_.wall_time);
  deadline_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the reply came (or the worker is gone; then `this` is too)
    timed_out_ = true;
    process_.kill();
  });
  auto [wrote, n] = co_await asio::async_write(process_.io(), asio::buffer(line), asio::as_tuple(asio::use_awaitable));
  std::size_t got = 0;
  boost::system::error_code read;
  if (!wrote)
    std::tie(read, got) = co_await asio::async_read_until(process_.io(), asio::dynamic_buffer(buffer_, max_reply), '\n',
                                                          asio::as_tuple(asio::use_awaitable));
  deadline_.cancel();
  ask_failure failure;
  if (wrote || read) {
    usable_ = false;
    failure.reason = timed_out_                       ? "wall time limit exceeded (" + seconds(settings_.wall_time) + " per score)"
                     : read == asio::error::not_found ? "the reply was larger than " + std::to_string(max_reply) + " bytes"
                                                      : "the interpreter ended (" + process_.end() + ")";
    co_return failure;
  }
  auto reply = nlohmann::json::parse(buffer_.substr(0, got - 1), nullptr, false);
  buffer_.erase(0, got);
  if (!reply.is_object()) {
    usable_ = false;
    failure.reason = "the interpreter answered something else than JSON";
    co_return failure;
  }
  // In place: a JSON value converts to nearly anything, the failure type included.
  boost::system::result<nlohmann::json, ask_failure> answer(boost::system::in_place_value, std::move(reply));
  co_return answer;
}

asio::awaitable<core::metric_result> python_worker::score(const nlohmann::json& kwargs) {
  nlohmann::json request = {{"score", kwargs}};
  auto reply = co_await ask(request);
  if (!reply) co_return failed_score(reply.error().reason);
  if (reply->value("recycle", false)) usable_ = false;
  if (!reply->value("ok", false)) co_return failed_score(reply->value("error", std::string("unknown error")));
  last_name_ = reply->value("name", std::string());
  co_return core::metric_result{reply->value("value", 0.0), reply->value("reason", std::string()),
                                reply->value("failed", false)};
}

python_sandbox::python_sandbox(sandbox_settings settings) : settings_(std::move(settings)) {}

namespace {

// Runs `work` to its end on a private loop: config validation is synchronous.
template <class T>
T run_blocking(asio::awaitable<T> work) {
  asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) out.emplace(std::move(v));
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

asio::awaitable<code_check> load_and_probe(const sandbox_settings& settings, std::string code) {
  auto worker = co_await python_worker::start(settings, std::move(code));
  if (!worker) co_return code_check{{}, worker.error()};
  nlohmann::json empty_output = {{"output", ""}};
  auto probe = co_await (*worker)->score(empty_output);
  if (probe.failed && probe.reason.starts_with("Error: "))
    co_return code_check{{}, code_problem{"the metric fails on an empty output: " + probe.reason.substr(7)}};
  auto name = (*worker)->last_name();
  co_return code_check{name.empty() ? "code" : name, std::nullopt};
}

}  // namespace

code_check python_sandbox::check(const std::string& code) const {
  return run_blocking(load_and_probe(settings_, code));
}

const std::optional<std::string>& python_sandbox::unavailable() const {
  if (!unavailable_) {
    auto probe = check(
        "from opik.evaluation.metrics import base_metric, score_result\n"
        "class Probe(base_metric.BaseMetric):\n"
        "    def score(self, output, **kwargs):\n"
        "        return score_result.ScoreResult(name='probe', value=1.0)\n");
    if (probe.problem) unavailable_.emplace(probe.problem->message);
    else unavailable_.emplace(std::nullopt);
  }
  return *unavailable_;
}

}  // namespace optd::plugins
