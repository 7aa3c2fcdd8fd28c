#include "net/url.hpp"

#include <gtest/gtest.h>

namespace optd::net {
namespace {

TEST(url, parses_scheme_host_port_path_and_query) {
  auto u = parse_url("https://example.openai.azure.com/openai/deployments/d/?api-version=2024-06-01");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls());
  EXPECT_EQ(u->host, "example.openai.azure.com");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->path, "/openai/deployments/d");
  EXPECT_EQ(u->target("/chat/completions"), "/openai/deployments/d/chat/completions?api-version=2024-06-01");
  auto v = parse_url("http://127.0.0.1:8089/v1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->port, "8089");
  EXPECT_EQ(v->target("/chat/completions"), "/v1/chat/completions");
  auto w = parse_url("http://[::1]:9/");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->host, "::1");
  EXPECT_EQ(w->target(""), "/");
}

TEST(url, refuses_what_is_not_an_http_url) {
  for (auto bad : {"ftp://x", "localhost:80", "http://", "http://user:pw@host/", "http://h:port/", "http://[::1"})
    EXPECT_FALSE(parse_url(bad)) << bad;
}

}  // namespace
}  // namespace optd::net
