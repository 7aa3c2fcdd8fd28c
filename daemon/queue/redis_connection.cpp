#include "queue/redis_connection.hpp"

#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <hiredis/async.h>

namespace optd::queue {

namespace asio = boost::asio;

namespace {

// A command (or the connect) waiting for hiredis: the callback fills it and cancels the timer the
// coroutine waits on.
struct pending {
  explicit pending(asio::any_io_executor ex) : done(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer done;
  bool finished = false;
  std::optional<redis_reply> reply;  // nullopt when it failed
  std::string error;
};

redis_reply convert(const redisReply* r) {
  redis_reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = redis_reply::kind::string; break;
    case REDIS_REPLY_STATUS: out.type = redis_reply::kind::status; break;
    case REDIS_REPLY_ERROR: out.type = redis_reply::kind::error; break;
    case REDIS_REPLY_INTEGER: out.type = redis_reply::kind::integer; break;
    case REDIS_REPLY_ARRAY: out.type = redis_reply::kind::array; break;
    default: out.type = redis_reply::kind::nil; break;
  }
  if (r->str) out.str.assign(r->str, r->len);
  out.integer = r->integer;
  for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
  return out;
}

}  // namespace

struct redis_connection::state : std::enable_shared_from_this<state> {
  explicit state(asio::any_io_executor ex) : executor(ex), socket(ex) {}

  asio::any_io_executor executor;
  // Watches hiredis's socket for readiness; released, never closed, here: the socket is hiredis's.
  asio::posix::stream_descriptor socket;
  redisAsyncContext* ac = nullptr;  // null once hiredis freed it (closed, lost, failed)
  // One direction of hiredis's interest in its socket: whether it wants to hear of it, and whether
  // a wait for it is armed.
  struct interest {
    bool wanted = false, armed = false;
  };
  interest reads, writes;
  std::string server;
  std::shared_ptr<pending> connecting;
  std::string lost;  // why the connection ended, when it did

  // Waits for the socket to be ready in direction `i` (`type`), hands it to hiredis (`handle`), and
  // waits again while hiredis still wants it.
  void arm(interest& i, asio::posix::descriptor_base::wait_type type, void (*handle)(redisAsyncContext*)) {
    if (i.armed || !ac) return;
    i.armed = true;
    socket.async_wait(type, [self = shared_from_this(), &i, type, handle](boost::system::error_code ec) {
      i.armed = false;  // `i` is a member of `self`, which the handler keeps alive
      if (ec || !self->ac || !i.wanted) return;
      handle(self->ac);  // may free the context (a lost connection): ac is null then
      if (self->ac && i.wanted) self->arm(i, type, handle);
    });
  }

  // hiredis's event hooks: idempotent, as it asks.
  static void add_read(void* p) {
    auto* s = static_cast<state*>(p);
    s->reads.wanted = true;
    s->arm(s->reads, asio::posix::descriptor_base::wait_read, &redisAsyncHandleRead);
  }
  static void del_read(void* p) { static_cast<state*>(p)->reads.wanted = false; }
  static void add_write(void* p) {
    auto* s = static_cast<state*>(p);
    s->writes.wanted = true;
    s->arm(s->writes, asio::posix::descriptor_base::wait_write, &redisAsyncHandleWrite);
  }
  static void del_write(void* p) { static_cast<state*>(p)->writes.wanted = false; }
  static void cleanup(void* p) {  // the context is being freed: stop watching its socket
    auto* s = static_cast<state*>(p);
    s->ac = nullptr;
    s->reads.wanted = s->writes.wanted = false;
    if (s->socket.is_open()) (void)s->socket.release();
  }
  static void on_connect(const redisAsyncContext* ac, int status) {
    auto* s = static_cast<state*>(ac->data);
    if (!s->connecting) return;
    if (status != REDIS_OK) s->connecting->error = ac->errstr;
    s->connecting->finished = true;
    s->connecting->done.cancel();
  }
  static void on_disconnect(const redisAsyncContext* ac, int status) {
    auto* s = static_cast<state*>(ac->data);
    s->lost = status == REDIS_OK ? "closed" : ac->errstr;
  }
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
    auto* holder = static_cast<std::shared_ptr<pending>*>(privdata);
    auto p = std::move(*holder);
    delete holder;
    if (reply) p->reply = convert(static_cast<redisReply*>(reply));
    else p->error = ac && ac->err ? ac->errstr : "the connection closed";
    p->finished = true;
    p->done.cancel();
  }

  void close() noexcept {
    if (ac) redisAsyncFree(ac);  // fails what is in flight (on_reply with no reply), then cleanup
  }
};

asio::awaitable<std::unique_ptr<redis_connection>> redis_connection::connect(asio::any_io_executor ex,
                                                                             const config::redis_endpoint& endpoint,
                                                                             std::chrono::milliseconds timeout) {
  auto server = endpoint.host + ":" + std::to_string(endpoint.port);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::ip::tcp::resolver resolver(ex);
  boost::system::error_code ec;
  auto found = co_await resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                                               asio::redirect_error(asio::use_awaitable, ec));
  if (ec || found.empty()) throw redis_error("cannot resolve the Redis host " + endpoint.host + ": " + ec.message());
  auto ip = found.begin()->endpoint().address().to_string();

  auto s = std::make_shared<state>(ex);
  s->server = server;
  s->ac = redisAsyncConnect(ip.c_str(), endpoint.port);
  if (!s->ac) throw std::bad_alloc();
  if (s->ac->err) {
    std::string why = s->ac->errstr;
    redisAsyncFree(s->ac);
    throw redis_error("cannot connect to Redis at " + server + ": " + why);
  }
  s->ac->data = s.get();
  s->socket.assign(s->ac->c.fd);
  s->ac->ev.data = s.get();
  s->ac->ev.addRead = &state::add_read;
  s->ac->ev.delRead = &state::del_read;
  s->ac->ev.addWrite = &state::add_write;
  s->ac->ev.delWrite = &state::del_write;
  s->ac->ev.cleanup = &state::cleanup;
  s->connecting = std::make_shared<pending>(ex);
  redisAsyncSetDisconnectCallback(s->ac, &state::on_disconnect);
  redisAsyncSetConnectCallback(s->ac, &state::on_connect);  // watches for writability: the connect's end

  auto& c = *s->connecting;
  c.done.expires_at(deadline);
  co_await c.done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!c.finished) {
    s->close();
    throw redis_error("cannot connect to Redis at " + server + ": no answer within " +
                      std::to_string(timeout.count()) + " ms");
  }
  if (!c.error.empty()) throw redis_error("cannot connect to Redis at " + server + ": " + c.error);
  s->connecting.reset();

  std::unique_ptr<redis_connection> conn(new redis_connection(s));
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       deadline - std::chrono::steady_clock::now()));
  };
  if (!endpoint.password.empty()) {
    redis_command auth{"AUTH"};
    if (!endpoint.username.empty()) auth.push_back(endpoint.username);
    auth.push_back(endpoint.password.reveal());
    auto r = co_await conn->command(std::move(auth), left());
    if (r.is_error()) throw redis_error("Redis at " + server + " refused the password: " + r.str);
  }
  if (endpoint.db != 0) {
    auto r = co_await conn->command(make_command("SELECT", std::to_string(endpoint.db)), left());
    if (r.is_error()) throw redis_error("Redis at " + server + " refused database " + std::to_string(endpoint.db) + ": " + r.str);
  }
  co_return conn;
}

redis_connection::~redis_connection() { close(); }

bool redis_connection::connected() const noexcept { return s_->ac != nullptr; }
void redis_connection::close() noexcept { s_->close(); }
const std::string& redis_connection::server() const noexcept { return s_->server; }

asio::awaitable<redis_reply> redis_connection::command(redis_command args, std::chrono::milliseconds timeout) {
  std::vector<redis_command> one;
  one.push_back(std::move(args));
  auto replies = co_await pipeline(std::move(one), timeout);
  co_return std::move(replies.front());
}

asio::awaitable<std::vector<redis_reply>> redis_connection::pipeline(std::vector<redis_command> commands,
                                                                     std::chrono::milliseconds timeout) {
  auto s = s_;  // this connection may be destroyed while the coroutine waits
  if (!s->ac) throw redis_error("the connection to Redis at " + s->server + " is closed" +
                                (s->lost.empty() ? "" : " (" + s->lost + ")"));
  std::vector<std::shared_ptr<pending>> waits;
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto p = std::make_shared<pending>(s->executor);
    auto* holder = new std::shared_ptr<pending>(p);
    if (redisAsyncCommandArgv(s->ac, &state::on_reply, holder, static_cast<int>(argv.size()), argv.data(),
                              lens.data()) != REDIS_OK) {
      delete holder;
      throw redis_error("the connection to Redis at " + s->server + " is closing");
    }
    waits.push_back(std::move(p));
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<redis_reply> replies;
  for (auto& p : waits) {
    if (!p->finished) {
      p->done.expires_at(deadline);
      boost::system::error_code ec;
      co_await p->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!p->finished) {
        // No reply in time (or the caller was cancelled): the connection is of no more use, since
        // its replies would now be matched to the wrong commands.
        s->close();
        if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
        throw redis_error("Redis at " + s->server + " did not answer within " + std::to_string(timeout.count()) + " ms");
      }
    }
    if (!p->reply) throw redis_error("lost the connection to Redis at " + s->server + ": " + p->error);
    replies.push_back(std::move(*p->reply));
  }
  co_return replies;
}

}  // namespace optd::queue
