#pragma once
// The operators of Opik's EvolutionaryOptimizer that need no model (reference/optimizers.md
// §4.2): structural crossover and mutation of texts, selection (tournament, elitism, NSGA-II
// for score against length), population diversity and the adaptive mutation rate. Pure:
// randomness comes from the caller's generator.
#include <cstddef>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace optd::plugins {

struct fitness {
  double score = -std::numeric_limits<double>::infinity();  // not evaluated (out of budget): −∞
  double length = std::numeric_limits<double>::infinity();  // characters of the prompt (MOO: smaller wins)
  bool valid = false;
};

// The text's sentences (split on '.'), trimmed, empty ones dropped.
std::vector<std::string> sentences(const std::string& text);
// Sentences joined back as ". "-separated text ending with a '.'.
std::string join_sentences(const std::vector<std::string>& parts);
std::vector<std::string> words(const std::string& text);

// One-point crossover of two texts: by sentences when both have two or more, else by words when
// both have two or more; nullopt when neither can be cut.
std::optional<std::pair<std::string, std::string>> crossover_texts(const std::string& a, const std::string& b,
                                                                   std::mt19937_64& rng);

// Structural mutation of a text: shuffle its sentences (p 0.3), join two neighbours with " and "
// (p 0.3), or split a sentence of more than three words at a random point; nullopt for a text of
// one sentence (the caller mutates its words instead).
std::optional<std::string> restructure(const std::string& text, std::mt19937_64& rng);
// Swaps two random words (a text of more than two words); nullopt otherwise.
std::optional<std::string> swap_words(const std::string& text, std::mt19937_64& rng);
// `text` with its word at `index` replaced.
std::string replace_word(const std::string& text, std::size_t index, const std::string& with);

// Tournament selection: `k` picks, each the fittest of `size` drawn at random (with replacement).
std::vector<std::size_t> tournament(const std::vector<fitness>& f, std::size_t k, std::size_t size, std::mt19937_64& rng);
// The `k` fittest, best first (ties: the earlier).
std::vector<std::size_t> best_of(const std::vector<fitness>& f, std::size_t k);
// NSGA-II: whole non-dominated fronts (score up, length down) in rank order, the last one cut by
// crowding distance, largest first.
std::vector<std::size_t> nsga2(const std::vector<fitness>& f, std::size_t k);
// Indices on the first non-dominated front.
std::vector<std::size_t> pareto_front(const std::vector<fitness>& f);

// Mean normalized InDel distance (1 − levenshtein ratio) over all pairs; 0 for fewer than two.
double diversity(const std::vector<std::string>& texts);

// The mutation rate for the next generation from the history of best scores (Opik's adaptive
// rule, with its stagnation counter kept by the caller).
double adaptive_rate(double base, const std::vector<double>& history, double diversity, int& stagnation);

}  // namespace optd::plugins
