#include "config/dataset_file.hpp"

#include <gtest/gtest.h>

namespace optd::config {
namespace {

TEST(dataset_file, jsonl_rows_and_blank_lines) {
  auto r = parse_jsonl("{\"q\":\"a\"}\n\n{\"q\":\"b\",\"n\":2}\r\n", "d.jsonl");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[1]["n"], 2);
}

TEST(dataset_file, jsonl_errors_name_the_line) {
  auto r = parse_jsonl("{\"q\":1}\n[1,2]\n", "d.jsonl");
  ASSERT_FALSE(r);
  EXPECT_EQ(format(r.error()), "d.jsonl:2:1: each line must be a JSON object");
  EXPECT_EQ(format(parse_jsonl("{\"q\":1}\n{oops\n", "d.jsonl").error()), "d.jsonl:2:1: not a JSON value");
  EXPECT_EQ(format(parse_jsonl("\n\n", "d.jsonl").error()), "d.jsonl: the dataset has no items");
}

TEST(dataset_file, csv_with_quotes_commas_and_newlines) {
  auto r = parse_csv("question,answer\n\"Say \"\"hi\"\", then a comma, please\",hi\n\"two\nlines\",x\n", "d.csv");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0]["question"], "Say \"hi\", then a comma, please");
  EXPECT_EQ(r->rows[1]["question"], "two\nlines");
  EXPECT_EQ(r->rows[1]["answer"], "x");
}

TEST(dataset_file, csv_ragged_rows_are_refused_with_their_line) {
  auto r = parse_csv("a,b\n1,2\n3\n", "d.csv");
  ASSERT_FALSE(r);
  EXPECT_EQ(format(r.error()), "d.csv:3:1: row has 1 fields; the header has 2");
}

TEST(dataset_file, content_hash_changes_with_content) {
  EXPECT_EQ(parse_jsonl("{\"a\":1}", "x")->content_hash, parse_jsonl("{\"a\":1}", "y")->content_hash);
  EXPECT_NE(parse_jsonl("{\"a\":1}", "x")->content_hash, parse_jsonl("{\"a\":2}", "x")->content_hash);
}

}  // namespace
}  // namespace optd::config
