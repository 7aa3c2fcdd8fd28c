#include "config/daemon_config.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/duration.hpp"
#include "config/yaml_guard.hpp"
#include "config/yaml_reader.hpp"

namespace optd::config {
namespace {

std::optional<std::chrono::milliseconds> duration_at(yaml_reader& r, const YAML::Node& map, const char* key,
                                                     const std::string& path) {
  auto n = map[key];
  if (!n) return std::nullopt;
  if (n.IsScalar())
    if (auto d = parse_duration(expand_env(n.Scalar())); d && d->count() > 0) return d;
  r.error(n, join_path(path, key) + " must be a positive duration like 500ms, 30s or 2m");
  return std::nullopt;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// A secret from `<prefix>_env` (an environment variable's name) or `<prefix>_file` (a file whose
// trimmed content it is); `source` says where from, for messages that must not show the value.
std::optional<secret> read_secret(yaml_reader& r, const YAML::Node& node, const std::string& prefix,
                                  const std::string& path, std::string* source = nullptr) {
  std::optional<secret> out;
  const std::string env_key = prefix + "_env", file_key = prefix + "_file";
  if (auto env = r.string_at(node, env_key.c_str(), path, false)) {
    if (source) *source = "env " + *env;
    if (const char* v = std::getenv(env->c_str()); v && *v) out = secret(v);
  }
  if (auto file = r.string_at(node, file_key.c_str(), path, false)) {
    auto f = expand_env(*file);
    if (source) *source = "file " + f;
    std::ifstream in(f);
    if (!in) {
      r.error(node[file_key], join_path(path, file_key) + ": cannot read '" + f + "'");
    } else {
      std::stringstream ss;
      ss << in.rdbuf();
      out = secret(trim(ss.str()));
    }
  }
  return out;
}

// `opik:`, with Opik's SDK environment variables as defaults (OPIK_URL_OVERRIDE, OPIK_API_KEY,
// OPIK_WORKSPACE, OPIK_PROJECT_NAME). Without the key and without OPIK_URL_OVERRIDE: not recording.
std::optional<opik_config> load_opik(yaml_reader& r, const YAML::Node& root) {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  const YAML::Node node = root["opik"];
  if (!node && env("OPIK_URL_OVERRIDE").empty()) return std::nullopt;
  opik_config o;
  o.url = env("OPIK_URL_OVERRIDE");
  o.api_key = secret(env("OPIK_API_KEY"));
  o.workspace = env("OPIK_WORKSPACE");
  if (auto project = env("OPIK_PROJECT_NAME"); !project.empty()) o.project_name = project;
  if (node) {
    if (!r.expect_map(node, "opik")) return std::nullopt;
    r.check_keys(node, {"url", "api_key_env", "api_key_file", "workspace", "project_name"}, "opik");
    if (auto u = r.string_at(node, "url", "opik", false)) o.url = expand_env(*u);
    if (auto key = read_secret(r, node, "api_key", "opik")) o.api_key = *key;
    if (auto w = r.string_at(node, "workspace", "opik", false)) o.workspace = expand_env(*w);
    if (auto p = r.string_at(node, "project_name", "opik", false)) o.project_name = expand_env(*p);
  }
  while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
  if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0)
    r.error(node ? node : root, "opik.url must start with http:// or https:// (or set OPIK_URL_OVERRIDE)");
  return o;
}

void load_code_metrics(yaml_reader& r, const YAML::Node& root, code_metrics_config& c) {
  const YAML::Node node = root["code_metrics"];
  const std::string path = "code_metrics";
  if (!node || !r.expect_map(node, path)) return;
  r.check_keys(node, {"sandbox", "bwrap", "python", "read_only_paths", "workers", "cpu_time", "wall_time", "memory_mb",
                      "processes", "output_kb", "tmp_mb"},
               path);
  if (auto s = r.string_at(node, "sandbox", path, false)) {
    if (*s == "bubblewrap" || *s == "none") c.sandbox = *s;
    else r.error(node["sandbox"], "code_metrics.sandbox must be bubblewrap or none, got '" + *s + "'");
  }
  if (auto s = r.string_at(node, "bwrap", path, false)) c.bwrap = expand_env(*s);
  if (auto s = r.string_at(node, "python", path, false)) c.python = expand_env(*s);
  if (auto paths = node["read_only_paths"]) {
    if (!paths.IsSequence()) r.error(paths, "code_metrics.read_only_paths must be a list of absolute paths");
    else
      for (const auto& p : paths) {
        auto v = p.IsScalar() ? expand_env(p.Scalar()) : "";
        if (v.empty() || v.front() != '/') r.error(p, "code_metrics.read_only_paths: '" + v + "' is not an absolute path");
        else c.read_only_paths.push_back(v);
      }
  }
  auto int_at = [&](const char* key, long long min, long long max, int fallback) {
    return static_cast<int>(r.integer_at(node, key, path, min, max).value_or(fallback));
  };
  c.workers = int_at("workers", 1, 64, c.workers);
  c.memory_mb = int_at("memory_mb", 64, 65'536, c.memory_mb);
  c.processes = int_at("processes", 1, 4'096, c.processes);
  c.output_kb = int_at("output_kb", 1, 1'048'576, c.output_kb);
  c.tmp_mb = int_at("tmp_mb", 1, 65'536, c.tmp_mb);
  c.cpu_time = duration_at(r, node, "cpu_time", path).value_or(c.cpu_time);
  c.wall_time = duration_at(r, node, "wall_time", path).value_or(c.wall_time);
}

// `studio_worker:`; REDIS_URL is the default URL, as for Opik's Python worker.
std::optional<studio_worker_config> load_studio_worker(yaml_reader& r, const YAML::Node& root, const daemon_config& c) {
  const YAML::Node node = root["studio_worker"];
  const std::string path = "studio_worker";
  if (!node || !r.expect_map(node, path)) return std::nullopt;
  r.check_keys(node, {"enabled", "redis_url", "redis_password_env", "redis_password_file", "queue", "max_jobs", "name",
                      "lease", "cancel_poll"},
               path);
  studio_worker_config w;
  w.enabled = r.bool_at(node, "enabled", path).value_or(true);
  const char* env_url = std::getenv("REDIS_URL");
  auto url = r.string_at(node, "redis_url", path, false).value_or(env_url && *env_url ? env_url : "");
  url = expand_env(url);
  if (url.empty()) {
    r.error(node, "studio_worker.redis_url is missing (or set REDIS_URL), e.g. redis://:opik@localhost:6379/0");
  } else if (auto endpoint = parse_redis_url(url)) {
    w.redis = std::move(*endpoint);
  } else {
    r.error(node["redis_url"] ? node["redis_url"] : node, "studio_worker.redis_url: " + endpoint.error());
  }
  if (auto password = read_secret(r, node, "redis_password", path)) w.redis.password = *password;
  if (auto q = r.string_at(node, "queue", path, false)) {
    w.queue = expand_env(*q);
    if (w.queue.empty() || w.queue.find_first_of(" \t\r\n") != std::string::npos)
      r.error(node["queue"], "studio_worker.queue must be a queue name without spaces, e.g. opik:optimizer-cloud");
  }
  w.max_jobs = static_cast<int>(r.integer_at(node, "max_jobs", path, 1, 10'000).value_or(0));
  if (auto n = r.string_at(node, "name", path, false)) {
    w.name = expand_env(*n);
    if (w.name.empty() || w.name.find_first_of(" \t\r\n:") != std::string::npos)
      r.error(node["name"], "studio_worker.name must be a name without spaces or ':'");
  }
  w.lease = duration_at(r, node, "lease", path).value_or(w.lease);
  if (w.lease < std::chrono::seconds(2)) r.error(node["lease"], "studio_worker.lease must be at least 2s");
  w.cancel_poll = duration_at(r, node, "cancel_poll", path).value_or(w.cancel_poll);
  if (w.cancel_poll < std::chrono::milliseconds(100) || w.cancel_poll > std::chrono::seconds(2))
    r.error(node["cancel_poll"] ? node["cancel_poll"] : node,
            "studio_worker.cancel_poll must be from 100ms to 2s (a cancel stops a run within 2 s)");
  if (!c.opik)
    r.error(node, "studio_worker needs an opik: section (or OPIK_URL_OVERRIDE): the jobs' runs are recorded there");
  if (!w.enabled) return std::nullopt;
  return w;
}

// Each entry of the map `key` of `p` (model → a map of `keys`), checked, handed to `f` with its
// path: a provider's prices and rate limits are written alike.
template <class F>
void for_each_model(yaml_reader& r, const YAML::Node& p, const char* key, const std::string& path,
                    std::initializer_list<std::string_view> keys, F f) {
  auto entries = p[key];
  if (!entries) return;
  auto epath = join_path(path, key);
  if (!r.expect_map(entries, epath)) return;
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    auto mpath = join_path(epath, it->first.Scalar());
    if (!r.expect_map(it->second, mpath)) continue;
    r.check_keys(it->second, keys, mpath);
    f(it->first.Scalar(), it->second, mpath);
  }
}

void load_provider(yaml_reader& r, const YAML::Node& p, const std::string& path, provider_config& out) {
  r.check_keys(p, {"name", "kind", "base_url", "workspace", "api_key_env", "api_key_file", "auth", "max_concurrency",
                   "timeouts", "retry", "prices", "rate_limits", "daily_budget_usd"},
               path);
  out.name = r.string_at(p, "name", path, true).value_or("");
  out.kind = r.string_at(p, "kind", path, false).value_or("openai_compatible");
  const bool gateway = out.kind == "opik_gateway";
  if (out.kind != "openai_compatible" && !gateway)
    r.error(p["kind"], join_path(path, "kind") + ": unknown provider kind '" + out.kind +
                           "'; known: openai_compatible, opik_gateway");
  out.base_url = expand_env(r.string_at(p, "base_url", path, !gateway).value_or(""));
  out.workspace = expand_env(r.string_at(p, "workspace", path, false).value_or(""));
  if (!out.base_url.empty() && out.base_url.rfind("http://", 0) != 0 && out.base_url.rfind("https://", 0) != 0)
    r.error(p["base_url"], join_path(path, "base_url") + " must start with http:// or https://");
  if (auto key = read_secret(r, p, "api_key", path, &out.api_key_source)) out.api_key = *key;
  if (gateway) out.auth = auth_style::opik;
  if (auto a = r.string_at(p, "auth", path, false)) {
    if (*a == "bearer") out.auth = auth_style::bearer;
    else if (*a == "api-key") out.auth = auth_style::api_key_header;
    else if (*a == "none") out.auth = auth_style::none;
    else if (*a == "opik") out.auth = auth_style::opik;
    else r.error(p["auth"], join_path(path, "auth") + " must be bearer, api-key, opik or none");
  }
  out.max_concurrency = static_cast<int>(r.integer_at(p, "max_concurrency", path, 1, 100'000).value_or(64));
  if (auto t = p["timeouts"]) {
    auto tpath = join_path(path, "timeouts");
    if (r.expect_map(t, tpath)) {
      r.check_keys(t, {"connect", "read", "total"}, tpath);
      out.connect_timeout = duration_at(r, t, "connect", tpath).value_or(out.connect_timeout);
      out.read_timeout = duration_at(r, t, "read", tpath).value_or(out.read_timeout);
      out.total_timeout = duration_at(r, t, "total", tpath).value_or(out.total_timeout);
    }
  }
  if (auto rt = p["retry"]) {
    auto rpath = join_path(path, "retry");
    if (r.expect_map(rt, rpath)) {
      r.check_keys(rt, {"max_attempts", "base_delay", "max_delay"}, rpath);
      out.retry.max_attempts = static_cast<int>(r.integer_at(rt, "max_attempts", rpath, 1, 100).value_or(5));
      out.retry.base_delay = duration_at(r, rt, "base_delay", rpath).value_or(out.retry.base_delay);
      out.retry.max_delay = duration_at(r, rt, "max_delay", rpath).value_or(out.retry.max_delay);
    }
  }
  for_each_model(r, p, "prices", path, {"input", "output"}, [&](const std::string& model, const YAML::Node& n,
                                                                  const std::string& mpath) {
    core::model_price price;
    price.input_per_million = r.number_at(n, "input", mpath, 0, 1e6).value_or(0);
    price.output_per_million = r.number_at(n, "output", mpath, 0, 1e6).value_or(0);
    out.prices[model] = price;
  });
  for_each_model(r, p, "rate_limits", path, {"requests_per_minute", "tokens_per_minute"},
                 [&](const std::string& model, const YAML::Node& n, const std::string& mpath) {
                   core::rate_limits l;
                   l.requests_per_minute = r.number_at(n, "requests_per_minute", mpath, 1e-3, 1e9);
                   l.tokens_per_minute = r.number_at(n, "tokens_per_minute", mpath, 1, 1e12);
                   out.rate_limits[model] = l;
                 });
  out.daily_budget_usd = r.number_at(p, "daily_budget_usd", path, 1e-6, 1e9);
  // A budget counts with prices: without any, every call would cost $0 and the budget never hold.
  if (out.daily_budget_usd && out.prices.empty())
    r.error(p["daily_budget_usd"], join_path(path, "daily_budget_usd") +
                                      " needs the prices of the models this provider serves (add them under prices)");
}

// An opik_gateway provider takes what it does not say itself from the `opik:` section.
void use_opik_defaults(yaml_reader& r, const YAML::Node& p, const std::string& path,
                       const std::optional<opik_config>& opik, provider_config& out) {
  if (out.base_url.empty()) {
    if (!opik || opik->url.empty())
      return r.error(p, path + ": an opik_gateway provider needs base_url or an opik: section (or OPIK_URL_OVERRIDE)");
    out.base_url = opik->url + "/v1/private";
  }
  if (opik && out.api_key.empty() && !opik->api_key.empty()) {
    out.api_key = opik->api_key;
    out.api_key_source = "opik.api_key";
  }
  if (out.workspace.empty()) out.workspace = opik && !opik->workspace.empty() ? opik->workspace : "default";
}

}  // namespace

namespace {

// The entry for `model`: its own, else the longest key it starts with; null when none.
template <class T>
const T* entry_for(const std::map<std::string, T, std::less<>>& entries, std::string_view model) {
  if (auto it = entries.find(model); it != entries.end()) return &it->second;
  const T* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [prefix, value] : entries)
    if (model.substr(0, prefix.size()) == prefix && prefix.size() >= best_len) best = &value, best_len = prefix.size();
  return best;
}

}  // namespace

std::optional<core::model_price> provider_config::price_of(std::string_view model) const {
  const auto* price = entry_for(prices, model);
  return price ? std::optional<core::model_price>(*price) : std::nullopt;
}

core::rate_limits provider_config::rate_limits_of(std::string_view model) const {
  const auto* limits = entry_for(rate_limits, model);
  return limits ? *limits : core::rate_limits{};
}

const provider_config* daemon_config::find_provider(std::string_view name) const noexcept {
  if (name.empty()) name = default_provider;
  for (const auto& p : providers)
    if (p.name == name) return &p;
  return nullptr;
}

std::string expand_env(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto start = text.find("${", pos);
    auto end = start == std::string_view::npos ? start : text.find('}', start);
    if (end == std::string_view::npos) break;
    out.append(text.substr(pos, start - pos));
    auto inner = text.substr(start + 2, end - start - 2);
    std::string_view fallback;
    if (auto d = inner.find(":-"); d != std::string_view::npos) {
      fallback = inner.substr(d + 2);
      inner = inner.substr(0, d);
    }
    const char* v = std::getenv(std::string(inner).c_str());
    out.append(v && *v ? std::string_view(v) : fallback);
    pos = end + 1;
  }
  out.append(text.substr(pos));
  return out;
}

loaded_daemon_config parse_daemon_config(std::string_view text, const std::string& name) {
  loaded_daemon_config out;
  out.config.source = name;
  auto loaded = load_yaml(text, name, out.problems);
  if (!loaded) return out;
  const YAML::Node root = *loaded;
  yaml_reader r(name, out.problems, 100'000);
  if (!r.expect_map(root, "")) return out;
  r.check_keys(root, {"state_dir", "listen", "max_concurrent_runs", "drain_timeout", "api_token_env", "api_token_file",
                      "default_provider", "providers", "inbox_dir", "opik", "code_metrics", "studio_worker"},
               "");
  auto& c = out.config;
  if (auto s = r.string_at(root, "state_dir", "", false)) c.state_dir = expand_env(*s);
  if (auto s = r.string_at(root, "inbox_dir", "", false)) c.inbox_dir = expand_env(*s);
  if (auto l = r.string_at(root, "listen", "", false)) {
    c.listen = expand_env(*l);
    if (auto parsed = parse_listen(c.listen); !parsed) r.error(root["listen"], "listen: " + parsed.error());
  }
  c.max_concurrent_runs =
      static_cast<int>(r.integer_at(root, "max_concurrent_runs", "", 1, 10'000).value_or(c.max_concurrent_runs));
  c.drain_timeout = duration_at(r, root, "drain_timeout", "").value_or(c.drain_timeout);
  if (auto token = read_secret(r, root, "api_token", "")) c.api_token = *token;
  c.opik = load_opik(r, root);
  load_code_metrics(r, root, c.code_metrics);
  c.studio_worker = load_studio_worker(r, root, c);
  auto providers = root["providers"];
  if (!providers || !providers.IsSequence() || providers.size() == 0) {
    r.error(providers ? providers : root, "providers must be a non-empty list");
    return out;
  }
  for (std::size_t i = 0; i < providers.size(); ++i) {
    auto path = "providers[" + std::to_string(i) + "]";
    if (!r.expect_map(providers[i], path)) continue;
    provider_config p;
    load_provider(r, providers[i], path, p);
    if (p.kind == "opik_gateway") use_opik_defaults(r, providers[i], path, c.opik, p);
    for (const auto& q : c.providers)
      if (q.name == p.name) r.error(providers[i]["name"], path + ".name: provider '" + p.name + "' is defined twice");
    c.providers.push_back(std::move(p));
  }
  c.default_provider = r.string_at(root, "default_provider", "", false).value_or(c.providers.empty() ? "" : c.providers.front().name);
  if (!c.providers.empty() && !c.find_provider(c.default_provider))
    r.error(root["default_provider"], "default_provider '" + c.default_provider + "' is not one of the providers");
  return out;
}

loaded_daemon_config load_daemon_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    loaded_daemon_config out;
    out.problems.push_back({path, 0, 0, "cannot open the daemon config"});
    return out;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_daemon_config(ss.str(), path);
}

boost::system::result<listen_address, std::string> parse_listen(std::string_view text) {
  using result = boost::system::result<listen_address, std::string>;
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return result(boost::system::in_place_error, "'" + std::string(text) + "' is not HOST:PORT");
  auto port_text = text.substr(colon + 1);
  unsigned long port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return result(boost::system::in_place_error,
                  "port '" + std::string(port_text) + "' is not a number from 1 to 65535 (or 0: any free port)");
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return listen_address{std::string(host), static_cast<unsigned short>(port)};
}

boost::system::result<redis_endpoint, std::string> parse_redis_url(std::string_view url) {
  using result = boost::system::result<redis_endpoint, std::string>;
  auto fail = [&](std::string why) { return result(boost::system::in_place_error, std::move(why)); };
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme)
    return fail(url.substr(0, 9) == "rediss://" ? "rediss:// (TLS) is not supported; use redis:// on a trusted network"
                                              : "'" + std::string(url.substr(0, 40)) + "' does not start with redis://");
  auto rest = url.substr(scheme.size());
  redis_endpoint e;
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto db = rest.substr(slash + 1);
    if (!db.empty()) {
      int n = 0;
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), n);
      if (ec != std::errc{} || end != db.data() + db.size() || n < 0 || n > 15)
        return fail("the database '" + std::string(db) + "' after the host is not a number from 0 to 15");
      e.db = n;
    }
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    e.username = std::string(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) e.password = secret(std::string(userinfo.substr(colon + 1)));
  }
  if (authority.empty()) return fail("the URL names no host");
  auto colon = authority.rfind(':');
  bool bracketed = authority.front() == '[';
  if (colon != std::string_view::npos && (!bracketed || authority[colon - 1] == ']')) {
    auto port = authority.substr(colon + 1);
    unsigned long n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || n == 0 || n > 65535)
      return fail("the port '" + std::string(port) + "' is not a number from 1 to 65535");
    e.port = static_cast<unsigned short>(n);
    authority = authority.substr(0, colon);
  }
  if (bracketed && authority.size() > 2 && authority.back() == ']') authority = authority.substr(1, authority.size() - 2);
  e.host = std::string(authority);
  return e;
}

}  // namespace optd::config
