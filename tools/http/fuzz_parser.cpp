// libFuzzer target for the HTTP/1.1 request parser (built with -DCORING_BUILD_FUZZ=ON by
// clang; run by tools/fuzz). Besides crashes and sanitizer reports it checks the
// parser's contract on every input:
//  - a complete request consumes at least one byte and no more than it was given; its
//    views lie inside the buffer; its body is content_length bytes, within the cap;
//  - an error is one of the documented status codes;
//  - the head is never longer than the head limit;
//  - the outcome depends only on the request's own bytes: the same buffer cut right
//    after the request parses the same way, and every shorter prefix is incomplete
//    (a parser that answered early on a prefix could split one request into two).
// The first input byte picks the limits, so that small ones make the 431/413 paths
// reachable with short inputs; the rest is parsed as a stream of pipelined requests.
#include "parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using coring::http::parse_request;
using coring::http::parse_result;
using coring::http::parse_status;
using coring::http::parser_limits;
using coring::http::request;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_request(const request& req, std::string_view buffer, const parse_result& r, const parser_limits& limits) {
  check(r.consumed > 0 && r.consumed <= buffer.size());
  check(r.head_bytes > 0 && r.head_bytes <= limits.max_head_bytes && r.head_bytes <= r.consumed);
  check(r.consumed == r.head_bytes + req.content_length);
  check(req.body.size() == req.content_length && req.content_length <= limits.max_body_bytes);
  check(req.minor_version == 0 || req.minor_version == 1);
  check(!req.method.empty() && !req.target.empty());
  check(inside(req.method, buffer) && inside(req.target, buffer) && inside(req.body, buffer));
  check(req.header_count <= request::max_headers);
  for (std::size_t i = 0; i < req.header_count; ++i) {
    check(!req.headers[i].name.empty());
    check(inside(req.headers[i].name, buffer) && inside(req.headers[i].value, buffer));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  parser_limits limits;
  constexpr std::size_t head_limits[] = {32, 128, 1024, 8 * 1024};
  constexpr std::size_t body_limits[] = {0, 7, 100, 1024 * 1024};
  limits.max_head_bytes = head_limits[data[0] & 3];
  limits.max_body_bytes = body_limits[(data[0] >> 2) & 3];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  request req;
  while (!rest.empty()) {
    const parse_result r = parse_request(rest, limits, req);
    if (r.status == parse_status::error) {
      const int e = r.error;
      check(e == 400 || e == 413 || e == 431 || e == 501 || e == 505);
      break;
    }
    if (r.status == parse_status::incomplete) {
      check(r.head_bytes <= limits.max_head_bytes);
      break;
    }
    check_request(req, rest, r, limits);

    // The request alone parses the same way ...
    const std::string_view own = rest.substr(0, r.consumed);
    request again;
    const parse_result alone = parse_request(own, limits, again);
    check(alone.status == parse_status::complete && alone.consumed == r.consumed);
    // ... and none of its proper prefixes is complete or an error.
    for (std::size_t cut : {r.consumed - 1, r.head_bytes - 1, r.consumed / 2, std::size_t{1}}) {
      if (cut >= r.consumed) continue;
      check(parse_request(own.substr(0, cut), limits, again).status == parse_status::incomplete);
    }
    rest.remove_prefix(r.consumed);
  }
  return 0;
}
