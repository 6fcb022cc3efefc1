// The HTTP/1.1 request parser (tools/http/parser.hpp): grammar, keep-alive, pipelining,
// and every limit at, and one past, its bound.
#include "parser.hpp"

#include <gtest/gtest.h>

#include <string>

using coring::http::parse_request;
using coring::http::parse_result;
using coring::http::parse_status;
using coring::http::parser_limits;
using coring::http::request;

namespace {

parse_result parse(std::string_view text, request& req, parser_limits limits = {}) {
  return parse_request(text, limits, req);
}

// The status a complete-or-error parse of `text` ends with: 0 for complete, the error
// code otherwise, -1 for incomplete.
int outcome(std::string_view text, parser_limits limits = {}) {
  request req;
  const parse_result r = parse(text, req, limits);
  if (r.status == parse_status::complete) return 0;
  if (r.status == parse_status::error) return r.error;
  return -1;
}

std::string get(std::string_view extra = {}, std::string_view version = "HTTP/1.1") {
  return "GET / " + std::string(version) + "\r\nHost: x\r\n" + std::string(extra) + "\r\n";
}

}  // namespace

TEST(http_parser, parses_a_simple_get) {
  const std::string text = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
  request req;
  const parse_result r = parse(text, req);
  ASSERT_EQ(r.status, parse_status::complete);
  EXPECT_EQ(r.consumed, text.size());
  EXPECT_EQ(r.head_bytes, text.size());
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/index.html?q=1");
  EXPECT_EQ(req.minor_version, 1);
  EXPECT_EQ(req.header_count, 2u);
  EXPECT_EQ(req.header("host"), "example.com");
  EXPECT_EQ(req.header("USER-AGENT"), "t");
  EXPECT_FALSE(req.header("accept").has_value());
  EXPECT_TRUE(req.keep_alive);
  EXPECT_TRUE(req.body.empty());
}

TEST(http_parser, trims_optional_whitespace_around_values) {
  request req;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost:\t  x y \t\r\n\r\n", req).status, parse_status::complete);
  EXPECT_EQ(req.header("host"), "x y");
}

TEST(http_parser, every_prefix_of_a_valid_request_is_incomplete) {
  const std::string text = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  for (std::size_t n = 0; n < text.size(); ++n) {
    request req;
    const parse_result r = parse(std::string_view(text).substr(0, n), req);
    EXPECT_EQ(r.status, parse_status::incomplete) << "prefix of " << n << " bytes";
  }
  EXPECT_EQ(outcome(text), 0);
}

TEST(http_parser, a_body_in_transit_reports_the_head_size) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n";
  request req;
  const std::string partial = head + "abc";
  const parse_result r = parse(partial, req);
  EXPECT_EQ(r.status, parse_status::incomplete);
  EXPECT_EQ(r.head_bytes, head.size());
  EXPECT_EQ(req.content_length, 10u);
  const std::string whole = head + "0123456789";  // `req` points into it: it must outlive the checks
  const parse_result done = parse(whole, req);
  ASSERT_EQ(done.status, parse_status::complete);
  EXPECT_EQ(req.body, "0123456789");
  EXPECT_EQ(done.consumed, head.size() + 10);
}

TEST(http_parser, pipelined_requests_parse_one_after_another) {
  const std::string one = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string two = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz";
  const std::string three = "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  const std::string all = one + two + three + "GET /d HT";  // and a partial fourth
  std::string_view rest = all;
  std::vector<std::string> targets;
  request req;
  for (;;) {
    const parse_result r = parse(rest, req);
    if (r.status != parse_status::complete) {
      EXPECT_EQ(r.status, parse_status::incomplete);
      break;
    }
    targets.emplace_back(req.target);
    if (req.target == "/b") {
      EXPECT_EQ(req.body, "xyz");
    }
    if (req.target == "/c") {
      EXPECT_FALSE(req.keep_alive);
    }
    rest.remove_prefix(r.consumed);
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/a", "/b", "/c"}));
  EXPECT_EQ(rest, "GET /d HT");
}

TEST(http_parser, keep_alive_follows_the_version_and_connection_field) {
  request req;
  ASSERT_EQ(parse(get(), req).status, parse_status::complete);
  EXPECT_TRUE(req.keep_alive);
  ASSERT_EQ(parse(get("Connection: close\r\n"), req).status, parse_status::complete);
  EXPECT_FALSE(req.keep_alive);
  ASSERT_EQ(parse(get("connection: Upgrade, CLOSE\r\n"), req).status, parse_status::complete);
  EXPECT_FALSE(req.keep_alive);
  ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", req).status, parse_status::complete);
  EXPECT_EQ(req.minor_version, 0);
  EXPECT_FALSE(req.keep_alive);
  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", req).status, parse_status::complete);
  EXPECT_TRUE(req.keep_alive);
  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", req).status, parse_status::complete);
  EXPECT_FALSE(req.keep_alive);
}

TEST(http_parser, skips_empty_lines_before_the_request_line) {
  request req;
  const std::string text = "\r\n\r\n" + get();
  const parse_result r = parse(text, req);
  ASSERT_EQ(r.status, parse_status::complete);
  EXPECT_EQ(r.consumed, text.size());
}

TEST(http_parser, expect_continue_is_reported) {
  request req;
  const parse_result r =
      parse("POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n", req);
  EXPECT_EQ(r.status, parse_status::incomplete);
  EXPECT_NE(r.head_bytes, 0u);
  EXPECT_TRUE(req.expect_continue);
}

// --- limits ---

TEST(http_parser, head_of_exactly_the_limit_is_accepted_and_one_more_byte_is_431) {
  parser_limits limits;
  limits.max_head_bytes = 8192;
  const std::string base = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: \r\n\r\n";
  const std::string exact = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(8192 - base.size(), 'a') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 8192u);
  EXPECT_EQ(outcome(exact, limits), 0);
  const std::string over = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(8193 - base.size(), 'a') + "\r\n\r\n";
  EXPECT_EQ(outcome(over, limits), 431);
}

TEST(http_parser, an_unterminated_head_is_431_once_the_limit_is_reached) {
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  // One byte short of the limit: it may still end in time.
  EXPECT_EQ(outcome(start + std::string(8191 - start.size(), 'a')), -1);
  // At the limit without the blank line: it cannot.
  EXPECT_EQ(outcome(start + std::string(8192 - start.size(), 'a')), 431);
  // Far beyond: the parser looks at the first 8 KiB only.
  EXPECT_EQ(outcome(start + std::string(1 << 20, 'a')), 431);
}

TEST(http_parser, many_short_header_fields_hit_the_field_count_limit) {
  std::string fields;
  for (std::size_t i = 1; i < request::max_headers; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(outcome(get(fields)), 0);  // Host + 63 = 64
  EXPECT_EQ(outcome(get(fields + "X-last: v\r\n")), 431);
}

TEST(http_parser, body_of_exactly_the_cap_is_accepted_and_one_more_byte_is_413) {
  parser_limits limits;
  limits.max_body_bytes = 100;
  const std::string head = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: ";
  EXPECT_EQ(outcome(head + "100\r\n\r\n" + std::string(100, 'b'), limits), 0);
  // 413 as soon as the head is in: the body is not waited for.
  EXPECT_EQ(outcome(head + "101\r\n\r\n", limits), 413);
  EXPECT_EQ(outcome(head + "99999999999999999999999999999999\r\n\r\n", limits), 413);
  limits.max_body_bytes = 0;
  EXPECT_EQ(outcome(head + "0\r\n\r\n", limits), 0);
  EXPECT_EQ(outcome(head + "1\r\n\r\n", limits), 413);
  EXPECT_EQ(outcome(head + "9\r\n\r\n", limits), 413);
}

TEST(http_parser, content_length_must_be_one_plain_number) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: h\r\n";
  EXPECT_EQ(outcome(head + "Content-Length: abc\r\n\r\n"), 400);
  EXPECT_EQ(outcome(head + "Content-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(outcome(head + "Content-Length: +1\r\n\r\n"), 400);
  EXPECT_EQ(outcome(head + "Content-Length: \r\n\r\n"), 400);
  EXPECT_EQ(outcome(head + "Content-Length: 1, 1\r\n\r\nx"), 400);
  EXPECT_EQ(outcome(head + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy"), 400);
  EXPECT_EQ(outcome(head + "Content-Length: 1\r\ncontent-length: 1\r\n\r\nx"), 0);
}

TEST(http_parser, transfer_encoding_is_not_implemented) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: h\r\n";
  EXPECT_EQ(outcome(head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), 501);
  EXPECT_EQ(outcome(head + "Transfer-Encoding: gzip\r\n\r\n"), 501);
  // Both framings at once: a smuggling attempt.
  EXPECT_EQ(outcome(head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello"), 400);
}

TEST(http_parser, http11_needs_exactly_one_host) {
  EXPECT_EQ(outcome("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(outcome("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(outcome("GET / HTTP/1.0\r\n\r\n"), 0);
  EXPECT_EQ(outcome("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
}

// --- malformed ---

TEST(http_parser, malformed_request_lines_are_400) {
  for (const char* line : {"GET /\r\n", "GET  / HTTP/1.1\r\n", "GET / HTTP/1.1 \r\n", " GET / HTTP/1.1\r\n",
                           "GET / http/1.1\r\n", "GET / HTTP/1\r\n", "GET / HTTP/1.x\r\n", "G(T / HTTP/1.1\r\n",
                           "GET /a\x7f HTTP/1.1\r\n", "GET /\xc3\xa9 HTTP/1.1\r\n", "\r\n\r\nGET\r\n",
                           "GET / HTTP/1.1\r\r\n"}) {
    EXPECT_EQ(outcome(std::string(line) + "Host: h\r\n\r\n"), 400) << line;
  }
}

TEST(http_parser, other_http_versions_are_505) {
  EXPECT_EQ(outcome(get({}, "HTTP/2.0")), 505);
  EXPECT_EQ(outcome(get({}, "HTTP/1.2")), 505);
  EXPECT_EQ(outcome(get({}, "HTTP/0.9")), 505);
}

TEST(http_parser, malformed_header_fields_are_400) {
  for (const char* field : {"Host : h\r\n", "Ho st: h\r\n", ": v\r\n", "NoColon\r\n", "X: a\r\n b\r\n",
                            "X: a\r\n\tb\r\n", "X: a\x01 b\r\n", "X: a\x7f\r\n", "X: a\nY: b\r\n",
                            "X: a\rb\r\n"}) {
    EXPECT_EQ(outcome("GET / HTTP/1.1\r\nHost: h\r\n" + std::string(field) + "\r\n"), 400) << field;
  }
  EXPECT_EQ(outcome("GET / HTTP/1.1\r\nHost: h\r\nX: a" + std::string(1, '\0') + "b\r\n\r\n"), 400);
}

TEST(http_parser, bare_line_feeds_are_400) {
  EXPECT_EQ(outcome("GET / HTTP/1.1\nHost: h\n\n"), 400);
  EXPECT_EQ(outcome("GET / HTTP/1.1\r\nHost: h\r\n\n"), 400);
  EXPECT_EQ(outcome("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

TEST(http_parser, obs_text_in_a_value_is_allowed) {
  EXPECT_EQ(outcome("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n"), 0);
}

TEST(http_parser, garbage_is_rejected_before_the_head_is_complete) {
  // Binary junk or a request line that cannot start a request does not wait for 8 KiB.
  EXPECT_EQ(outcome(std::string("\x16\x03\x01\x02\x00", 5)), 400);  // a TLS ClientHello
  EXPECT_EQ(outcome("/index.html"), 400);
  EXPECT_EQ(outcome("GET / HTTP/1.1\r\nHost: h\r\nX: \x01"), 400);
  // A valid-looking start is given time.
  EXPECT_EQ(outcome("GET / HTTP/1.1\r"), -1);
  EXPECT_EQ(outcome("\r"), -1);
}

TEST(http_parser, case_insensitive_compare) {
  EXPECT_TRUE(coring::http::iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(coring::http::iequals("Content-Length", "Content-Lengt"));
  EXPECT_FALSE(coring::http::iequals("a", "b"));
}
