// An HTTP/1.1 request parser (RFC 9112), small on purpose: the part of the server that
// reads bytes an attacker controls, so it is its own unit, unit-tested and fuzzed
// (tools/http/fuzz_parser.cpp, tools/fuzz).
//
//   coring::http::request req;
//   auto r = coring::http::parse_request(buffer, limits, req);
//   if (r.status == parse_status::complete) { ...; buffer.erase(0, r.consumed); }
//
// The parser is stateless: it parses one request from the front of a buffer, so it is
// called again when more bytes arrive, and again on what follows `consumed` for
// pipelined requests. It allocates nothing; the request's fields are views into the
// buffer, valid while the buffer is unchanged. Re-parsing a partial head is bounded by
// the head limit (8 KiB by default), so a slow sender costs at most that per read.
//
// What it accepts, and what each rejection answers (`parse_result::error`):
//  - request line `METHOD SP target SP HTTP/1.x CRLF`; empty lines before it are skipped
//    (RFC 9112 §2.2). Another HTTP version: 505. Anything else malformed: 400.
//  - lines end in CRLF; a bare LF or CR is malformed (400): accepting both invites
//    request smuggling between a proxy and us.
//  - header fields `name: value` (no space before the colon, no obsolete line folding,
//    no control characters): 400 otherwise. More than `max_headers` fields: 431.
//  - request line + headers (through the blank line) longer than `max_head_bytes`: 431,
//    reported as soon as that many bytes have arrived without the blank line.
//  - Content-Length: decimal digits; repeated with different values, or a list: 400.
//    Longer than `max_body_bytes`: 413 as soon as the head is parsed (the body is not
//    waited for).
//  - Transfer-Encoding (chunked or any other) is not supported: 501. With a
//    Content-Length as well it is a smuggling attempt: 400 (RFC 9112 §6.1).
//  - HTTP/1.1 needs exactly one Host field (RFC 9112 §3.2): 400 otherwise.
//  - keep-alive: HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0
//    closes it unless `Connection: keep-alive`.
// After an error the connection cannot be resynchronised: answer and close it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace coring::http {

struct parser_limits {
  // Request line + header fields + the blank line. 8 KiB, like nginx's default
  // large_client_header_buffers line size and most servers' total.
  std::size_t max_head_bytes = 8 * 1024;
  // Largest Content-Length accepted.
  std::size_t max_body_bytes = 1024 * 1024;
};

struct header_field {
  std::string_view name;   // as sent (compare case-insensitively)
  std::string_view value;  // without the surrounding optional whitespace
};

// One parsed request. Views point into the buffer given to parse_request.
struct request {
  // More header fields than this get 431; enough for browsers (~20) with room to spare.
  static constexpr std::size_t max_headers = 64;

  std::string_view method;
  std::string_view target;
  int minor_version = 1;  // HTTP/1.<minor_version>: 0 or 1
  std::array<header_field, max_headers> headers{};
  std::size_t header_count = 0;
  std::size_t content_length = 0;
  std::string_view body;         // content_length bytes (complete requests only)
  bool keep_alive = true;        // the connection may carry another request
  bool expect_continue = false;  // `Expect: 100-continue` was sent

  // The value of the first field called `name` (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
};

enum class parse_status : std::uint8_t {
  incomplete,  // need more bytes (see parse_result::head_bytes)
  complete,    // a whole request is at the front of the buffer
  error,       // malformed or over a limit: answer parse_result::error and close
};

struct parse_result {
  parse_status status = parse_status::incomplete;
  // For error: the status code to answer (400, 413, 431, 501 or 505).
  int error = 0;
  // For complete: the bytes this request occupies (head + body); the next pipelined
  // request starts there.
  std::size_t consumed = 0;
  // Once the head is parsed (complete, or incomplete while the body is arriving): its
  // size; the request then needs head_bytes + content_length bytes in all. 0 while the
  // head itself is incomplete.
  std::size_t head_bytes = 0;
};

// Parses one request from the front of `buffer` into `out` (see the file comment).
// `out` is filled when the head is complete (status complete, or incomplete with
// head_bytes != 0); otherwise its contents are unspecified. Never throws.
parse_result parse_request(std::string_view buffer, const parser_limits& limits, request& out) noexcept;

// True if `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b) noexcept;

// The reason phrase for the status codes this server sends ("OK", "Bad Request", ...).
std::string_view reason_phrase(int status) noexcept;

}  // namespace coring::http
