#include "app/providers.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/ssl/context.hpp>

#include "plugins/providers/openai_compatible.hpp"
#include "telemetry/metered_provider.hpp"

namespace optd::app {

provider_set::provider_set(boost::asio::any_io_executor ex, const config::daemon_config& cfg, core::clock& clock,
                           store::store& db, telemetry::metrics* metrics, engine::daily_budget::notice tell)
    : cfg_(cfg),
      tls_(net::make_client_tls_context()),
      client_(std::make_unique<net::http_client>(ex, tls_.get())),
      metrics_(metrics),
      clock_(clock),
      db_(db),
      tell_(std::move(tell)) {
  build();
  if (metrics_) metrics_->add_collector([this] { collect_metrics(); });
}

void provider_set::collect_metrics() {
  for (const auto& [provider_name, b] : providers_) {
    const auto& name = provider_name;  // a structured binding cannot be captured in C++20 (clang)
    auto max = static_cast<double>(cfg_.find_provider(name) ? cfg_.find_provider(name)->max_concurrency : 0);
    metrics_->set_llm_in_flight(name, std::max(0.0, max - static_cast<double>(b.provider->slots().available())));
    metrics_->set_llm_waiting(name, static_cast<double>(b.provider->slots().waiting()));
    b.gate->for_each([&](const std::string& model, const core::rate_limits& l) {
      if (l.requests_per_minute) metrics_->set_llm_rate_limit(name, model, "requests", *l.requests_per_minute);
      if (l.tokens_per_minute) metrics_->set_llm_rate_limit(name, model, "tokens", *l.tokens_per_minute);
    });
    // The time waited and the attempts unanswered count on across a reload: the retired gates'
    // share stays in.
    auto waited = b.gate->waited();
    auto unanswered = b.gate->unanswered();
    for (const auto& [retired_name, r] : retired_)
      if (retired_name == name) {
        waited += r.gate->waited();
        unanswered += r.gate->unanswered();
      }
    metrics_->set_llm_rate_limit_wait(name, std::chrono::duration<double>(waited).count());
    metrics_->set_llm_attempts_unanswered(name, static_cast<double>(unanswered));
    if (b.budgeted) {
      auto& daily = *daily_.at(name);
      metrics_->set_llm_daily_budget(name, daily.cap(), daily.spent_today(), daily.exhausted());
    }
  }
}

void provider_set::reload() {
  for (auto& [name, b] : providers_) retired_.emplace_back(name, std::move(b));
  providers_.clear();
  build();
}

void provider_set::build() {
  std::random_device rd;
  for (const auto& p : cfg_.providers) {
    plugins::openai_compatible_settings s;
    auto base = net::parse_url(p.base_url);
    if (!base) throw std::invalid_argument("provider '" + p.name + "': base_url is not a valid URL");
    s.base = *base;
    if (!p.api_key.empty()) {
      if (p.auth == config::auth_style::bearer) s.headers.push_back({"Authorization", "Bearer " + p.api_key.reveal()});
      else if (p.auth == config::auth_style::api_key_header) s.headers.push_back({"api-key", p.api_key.reveal()});
      else if (p.auth == config::auth_style::opik) s.headers.push_back({"authorization", p.api_key.reveal()});
    }
    if (!p.workspace.empty()) s.headers.push_back({"Comet-Workspace", p.workspace});
    if (p.kind == "opik_gateway") s.caller_headers = gateway_headers_;
    s.timeouts = {p.connect_timeout, p.read_timeout, p.total_timeout};
    s.retry = p.retry;
    built b;
    b.gate = std::make_unique<engine::rate_gate>(clock_, [p](std::string_view model) { return p.rate_limits_of(model); });
    s.pacer = b.gate.get();
    std::unique_ptr<core::llm_provider> inner =
        std::make_unique<plugins::openai_compatible>(*client_, clock_, std::move(s), rd());
    if (metrics_) {
      metrics_->declare_provider(p.name);
      inner = std::make_unique<telemetry::metered_provider>(
          std::move(inner), p.name, [this, name = p.name](std::string_view model) { return price(name, model); },
          *metrics_);
    }
    b.provider = std::make_unique<engine::limited_provider>(std::move(inner), static_cast<std::size_t>(p.max_concurrency));
    if (p.daily_budget_usd) {
      auto& daily = daily_[p.name];
      if (!daily) daily = std::make_unique<engine::daily_budget>(p.name, *p.daily_budget_usd, clock_, db_, tell_);
      daily->set_cap(*p.daily_budget_usd);
      b.budgeted = std::make_unique<engine::budgeted_provider>(
          *b.provider, *daily, [this, name = p.name](std::string_view model) { return price(name, model); });
    }
    providers_.emplace(p.name, std::move(b));
  }
}

provider_set::~provider_set() = default;

core::llm_provider* provider_set::find(std::string_view name) {
  auto it = providers_.find(name.empty() ? std::string_view(cfg_.default_provider) : name);
  if (it == providers_.end()) return nullptr;
  if (it->second.budgeted) return it->second.budgeted.get();
  return it->second.provider.get();
}

core::model_price provider_set::price(std::string_view provider, std::string_view model) const {
  const auto* p = cfg_.find_provider(provider);
  return p ? p->price_of(model).value_or(core::model_price{}) : core::model_price{};
}

}  // namespace optd::app
