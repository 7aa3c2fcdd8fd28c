// Every YAML example in the README is what optd takes: a run config validates as it is shown (its
// dataset_file made up from its prompt's variables), a whole daemon config validates, and a
// fragment of the demo's daemon config validates in its place.
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/daemon_config.hpp"
#include "config/run_config.hpp"
#include "support/test_support.hpp"

namespace optd::config {
namespace {

std::vector<std::string> yaml_blocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  static const std::regex fence(R"(```yaml\n([\s\S]*?)```)");
  for (std::sregex_iterator it(markdown.begin(), markdown.end(), fence), end; it != end; ++it)
    blocks.push_back((*it)[1].str());
  return blocks;
}

std::vector<std::string> problems_of(const std::vector<diagnostic>& problems) {
  std::vector<std::string> out;
  for (const auto& d : problems) out.push_back(format(d));
  return out;
}

TEST(readme_examples, every_yaml_example_validates) {
  auto readme = test::read_file(std::string(OPTD_SOURCE_DIR) + "/README.md");
  auto blocks = yaml_blocks(readme);
  ASSERT_GE(blocks.size(), 2u);
  auto dir = test::temp_dir("readme_examples");
  int run_configs = 0, fragments = 0;
  for (const auto& block : blocks) {
    if (block.find("prompt:") != std::string::npos) {
      // A run config: its dataset file, with the fields its {{variables}} and metrics name.
      std::smatch file;
      ASSERT_TRUE(std::regex_search(block, file, std::regex(R"(dataset_file: (\S+))"))) << block;
      std::ofstream(dir + "/" + file[1].str()) << R"({"question": "Where is my order?", "answer": "shipping"})" << "\n";
      auto loaded = parse_run_config(block, "README.md", dir);
      EXPECT_TRUE(loaded.ok()) << ::testing::PrintToString(problems_of(loaded.problems)) << "\n" << block;
      ++run_configs;
    } else if (auto indent = block.find_first_not_of(' ');
               block.find("\n" + std::string(indent, ' ') + "providers:") != std::string::npos) {
      // A whole daemon config (indented as a list item's may be).
      auto text = std::regex_replace(block, std::regex("(^|\n) {" + std::to_string(indent) + "}"), "$1");
      auto loaded = parse_daemon_config(text, "README.md");
      EXPECT_TRUE(loaded.ok()) << ::testing::PrintToString(problems_of(loaded.problems)) << "\n" << block;
      ++fragments;
    } else {
      // A line of the demo's daemon config, shown changed: the config with it in place.
      auto demo = test::read_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml");
      auto key = block.substr(block.find_first_not_of(' '), block.find(':') - block.find_first_not_of(' ') + 1);
      auto at = demo.find("    " + key);
      ASSERT_NE(at, std::string::npos) << block;
      demo.replace(at, demo.find('\n', at) - at, block.substr(0, block.find('\n')));
      auto loaded = parse_daemon_config(demo, "README.md");
      EXPECT_TRUE(loaded.ok()) << ::testing::PrintToString(problems_of(loaded.problems)) << "\n" << block;
      ++fragments;
    }
  }
  EXPECT_GE(run_configs, 1);
  EXPECT_GE(fragments, 1);
}

}  // namespace
}  // namespace optd::config
