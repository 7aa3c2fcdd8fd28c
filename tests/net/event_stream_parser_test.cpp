#include "net/event_stream_parser.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace optd::net {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<std::pair<std::string, std::string>> parse(const std::vector<std::string>& pieces) {
  std::vector<std::pair<std::string, std::string>> events;
  event_stream_parser p([&](std::string_view e, std::string_view d) { events.emplace_back(e, d); });
  for (const auto& piece : pieces) p.feed(piece);
  return events;
}

TEST(event_stream_parser, events_come_whole_however_the_pieces_cut_them) {
  std::string stream = "event: progress\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: progress\r\ndata: {\"a\":2}\r\n\r\n";
  auto whole = parse({stream});
  EXPECT_THAT(whole, ElementsAre(Pair("progress", "{\"a\":1}"), Pair("progress", "{\"a\":2}")));
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_EQ(parse(bytes), whole);
}

TEST(event_stream_parser, data_lines_join_and_unnamed_events_are_messages) {
  EXPECT_THAT(parse({"data: one\ndata:two\n\nevent: x\n\ndata\n\n"}),
              ElementsAre(Pair("message", "one\ntwo"), Pair("message", "")));
  EXPECT_TRUE(parse({"data: cut off before its blank line\n"}).empty());
}

}  // namespace
}  // namespace optd::net
