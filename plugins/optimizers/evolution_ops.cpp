#include "plugins/optimizers/evolution_ops.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <sstream>

#include "plugins/metrics/heuristic_metrics.hpp"
#include "plugins/optimizers/draws.hpp"

namespace optd::plugins {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string join_words(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& x : w) out += (out.empty() ? "" : " ") + x;
  return out;
}

bool dominates(const fitness& a, const fitness& b) {
  return a.score >= b.score && a.length <= b.length && (a.score > b.score || a.length < b.length);
}

bool fitter(const fitness& a, const fitness& b) { return a.score > b.score; }

}  // namespace

std::vector<std::string> sentences(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, '.'))
    if (auto t = trim(part); !t.empty()) out.push_back(std::move(t));
  return out;
}

std::string join_sentences(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p + ".";
  return out;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string w;
  while (ss >> w) out.push_back(w);
  return out;
}

std::optional<std::pair<std::string, std::string>> crossover_texts(const std::string& a, const std::string& b,
                                                                   std::mt19937_64& rng) {
  auto sa = sentences(a), sb = sentences(b);
  if (sa.size() >= 2 && sb.size() >= 2) {
    auto point = 1 + draw(rng, std::min(sa.size(), sb.size()) - 1);
    std::vector<std::string> c1(sa.begin(), sa.begin() + static_cast<std::ptrdiff_t>(point));
    c1.insert(c1.end(), sb.begin() + static_cast<std::ptrdiff_t>(point), sb.end());
    std::vector<std::string> c2(sb.begin(), sb.begin() + static_cast<std::ptrdiff_t>(point));
    c2.insert(c2.end(), sa.begin() + static_cast<std::ptrdiff_t>(point), sa.end());
    return std::make_pair(join_sentences(c1), join_sentences(c2));
  }
  auto wa = words(a), wb = words(b);
  if (wa.size() < 2 || wb.size() < 2) return std::nullopt;
  auto point = 1 + draw(rng, std::min(wa.size(), wb.size()) - 1);
  std::vector<std::string> c1(wa.begin(), wa.begin() + static_cast<std::ptrdiff_t>(point));
  c1.insert(c1.end(), wb.begin() + static_cast<std::ptrdiff_t>(point), wb.end());
  std::vector<std::string> c2(wb.begin(), wb.begin() + static_cast<std::ptrdiff_t>(point));
  c2.insert(c2.end(), wa.begin() + static_cast<std::ptrdiff_t>(point), wa.end());
  return std::make_pair(join_words(c1), join_words(c2));
}

std::optional<std::string> restructure(const std::string& text, std::mt19937_64& rng) {
  auto parts = sentences(text);
  if (parts.size() < 2) return std::nullopt;
  double u = draw_unit(rng);
  if (u < 0.3) {
    shuffle(parts, rng);
  } else if (u < 0.6) {
    auto i = draw(rng, parts.size() - 1);
    parts[i] += " and " + parts[i + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(i) + 1);
  } else {
    std::vector<std::size_t> long_ones;
    for (std::size_t i = 0; i < parts.size(); ++i)
      if (words(parts[i]).size() > 3) long_ones.push_back(i);
    if (long_ones.empty()) return join_sentences(parts);
    auto i = long_ones[draw(rng, long_ones.size())];
    auto w = words(parts[i]);
    auto cut = 1 + draw(rng, w.size() - 1);
    parts[i] = join_words({w.begin(), w.begin() + static_cast<std::ptrdiff_t>(cut)});
    parts.insert(parts.begin() + static_cast<std::ptrdiff_t>(i) + 1, join_words({w.begin() + static_cast<std::ptrdiff_t>(cut), w.end()}));
  }
  return join_sentences(parts);
}

std::optional<std::string> swap_words(const std::string& text, std::mt19937_64& rng) {
  auto w = words(text);
  if (w.size() <= 2) return std::nullopt;
  auto i = draw(rng, w.size()), j = draw(rng, w.size());
  std::swap(w[i], w[j]);
  return join_words(w);
}

std::string replace_word(const std::string& text, std::size_t index, const std::string& with) {
  auto w = words(text);
  if (index < w.size()) w[index] = with;
  return join_words(w);
}

std::vector<std::size_t> tournament(const std::vector<fitness>& f, std::size_t k, std::size_t size, std::mt19937_64& rng) {
  std::vector<std::size_t> out;
  for (std::size_t n = 0; n < k && !f.empty(); ++n) {
    auto best = draw(rng, f.size());
    for (std::size_t t = 1; t < size; ++t) {
      auto c = draw(rng, f.size());
      if (fitter(f[c], f[best])) best = c;
    }
    out.push_back(best);
  }
  return out;
}

std::vector<std::size_t> best_of(const std::vector<fitness>& f, std::size_t k) {
  std::vector<std::size_t> order(f.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return fitter(f[a], f[b]); });
  order.resize(std::min(k, order.size()));
  return order;
}

std::vector<std::size_t> pareto_front(const std::vector<fitness>& f) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < f.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < f.size() && !dominated; ++j) dominated = j != i && dominates(f[j], f[i]);
    if (!dominated) out.push_back(i);
  }
  return out;
}

std::vector<std::size_t> nsga2(const std::vector<fitness>& f, std::size_t k) {
  std::vector<std::size_t> left(f.size());
  std::iota(left.begin(), left.end(), std::size_t{0});
  std::vector<std::size_t> out;
  while (out.size() < k && !left.empty()) {
    std::vector<std::size_t> front, rest;
    for (auto i : left) {
      bool dominated = std::any_of(left.begin(), left.end(), [&](auto j) { return j != i && dominates(f[j], f[i]); });
      (dominated ? rest : front).push_back(i);
    }
    if (out.size() + front.size() > k) {
      // Crowding distance on both objectives: the ends of the front first, then the sparse ones.
      std::vector<double> crowd(f.size(), 0.0);
      auto spread = [&](auto key) {
        std::vector<std::size_t> by = front;
        std::stable_sort(by.begin(), by.end(), [&](auto a, auto b) { return key(f[a]) < key(f[b]); });
        crowd[by.front()] = crowd[by.back()] = std::numeric_limits<double>::infinity();
        double range = key(f[by.back()]) - key(f[by.front()]);
        if (!(range > 0) || !std::isfinite(range)) return;
        for (std::size_t n = 1; n + 1 < by.size(); ++n) crowd[by[n]] += (key(f[by[n + 1]]) - key(f[by[n - 1]])) / range;
      };
      spread([](const fitness& x) { return x.score; });
      spread([](const fitness& x) { return x.length; });
      std::stable_sort(front.begin(), front.end(), [&](auto a, auto b) { return crowd[a] > crowd[b]; });
      front.resize(k - out.size());
    }
    out.insert(out.end(), front.begin(), front.end());
    left = std::move(rest);
  }
  return out;
}

double diversity(const std::vector<std::string>& texts) {
  if (texts.size() < 2) return 0.0;
  double sum = 0;
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < texts.size(); ++i)
    for (std::size_t j = i + 1; j < texts.size(); ++j, ++pairs) sum += 1.0 - levenshtein_ratio(texts[i], texts[j]);
  return sum / static_cast<double>(pairs);
}

double adaptive_rate(double base, const std::vector<double>& history, double diversity, int& stagnation) {
  constexpr double min_rate = 0.1, max_rate = 0.4, diversity_threshold = 0.7;
  if (history.size() < 2) return base;
  double prev = history[history.size() - 2], curr = history.back();
  double r = prev != 0 ? (curr - prev) / std::abs(prev) : (curr > prev ? 1.0 : 0.0);
  stagnation = r < 0.01 ? stagnation + 1 : 0;
  if (stagnation >= 3) return std::min(base * 2.5, max_rate);
  if (r < 0.01 && diversity < diversity_threshold) return std::min(base * 2.0, max_rate);
  if (r < 0.01) return std::min(base * 1.5, max_rate);
  if (r > 0.05) return std::max(base * 0.8, min_rate);
  return base;
}

}  // namespace optd::plugins
