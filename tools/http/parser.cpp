// The HTTP/1.1 request parser: one linear pass over the head, line by line, then the
// body length. See parser.hpp for the grammar accepted and the status of each rejection.
#include "parser.hpp"

#include <algorithm>
#include <cstring>

namespace coring::http {

namespace {

// tchar (RFC 9110 §5.6.2): the characters of a method or a field name.
constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> tchar_table = make_tchar_table();

bool is_tchar(char c) noexcept { return tchar_table[static_cast<unsigned char>(c)]; }

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// field-value characters: HTAB, SP, VCHAR and obs-text; no other control character.
bool is_field_char(char ch) noexcept {
  const auto c = static_cast<unsigned char>(ch);
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

// request-target characters: visible ASCII (RFC 3986 plus what lenient clients send
// unencoded, like '|'); no space, control or non-ASCII byte.
bool is_target_char(char ch) noexcept {
  const auto c = static_cast<unsigned char>(ch);
  return c > 0x20 && c < 0x7f;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Whether the comma-separated list `value` (Connection) holds `token`, ignoring case.
bool list_contains(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Parses `METHOD SP target SP HTTP/1.x` into `out`. Returns 0 or the error status.
int parse_request_line(std::string_view line, request& out) noexcept {
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return 400;
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return 400;
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(out.method) || out.target.empty() ||
      !std::all_of(out.target.begin(), out.target.end(), is_target_char)) {
    return 400;
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3).
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !digit(version[5]) || version[6] != '.' ||
      !digit(version[7])) {
    return 400;
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) return 505;
  out.minor_version = version[7] - '0';
  return 0;
}

// A partial line (no LF yet) that can already be told to be garbage: a control
// character (a CR may only be the last byte, awaiting its LF), or a request line that
// does not start with a method character. Rejecting early spares waiting for 8 KiB of
// binary junk or for the header timeout.
bool partial_line_is_garbage(std::string_view partial, bool first_line) noexcept {
  if (first_line && !partial.empty() && !is_tchar(partial.front()) && partial.front() != '\r') return true;
  for (std::size_t i = 0; i < partial.size(); ++i) {
    const char c = partial[i];
    if (c == '\r' && i + 1 == partial.size()) break;
    if (!is_field_char(c)) return true;
  }
  return false;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> request::header(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return headers[i].value;
  }
  return std::nullopt;
}

parse_result parse_request(std::string_view buffer, const parser_limits& limits, request& out) noexcept {
  parse_result result;
  auto fail = [&result](int status) {
    result.status = parse_status::error;
    result.error = status;
    return result;
  };
  // Only the first max_head_bytes may hold the head: lines are searched in that window,
  // so running out of it means 431 and a longer buffer is never scanned.
  const std::size_t window = std::min(buffer.size(), limits.max_head_bytes);
  const char* const base = buffer.data();
  auto out_of_window = [&]() {
    return buffer.size() >= limits.max_head_bytes ? fail(431) : result;  // else: incomplete
  };

  std::size_t pos = 0;
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request
  // line (some clients send a CRLF after a POST body). All of them count toward the head.
  while (pos + 1 < window && base[pos] == '\r' && base[pos + 1] == '\n') pos += 2;

  out.header_count = 0;
  out.content_length = 0;
  out.body = {};
  out.expect_continue = false;
  bool first_line = true;
  bool close = false, keep_alive_token = false, transfer_encoding = false;
  std::size_t host_fields = 0;
  std::string_view content_length;  // the first Content-Length value, if any
  bool over_max_headers = false;

  for (;;) {
    const void* lf = pos < window ? std::memchr(base + pos, '\n', window - pos) : nullptr;
    if (lf == nullptr) {
      if (partial_line_is_garbage(buffer.substr(pos, window - pos), first_line)) return fail(400);
      return out_of_window();
    }
    const std::size_t lf_at = static_cast<std::size_t>(static_cast<const char*>(lf) - base);
    if (lf_at == pos || base[lf_at - 1] != '\r') return fail(400);  // a bare LF
    const std::string_view line(base + pos, lf_at - 1 - pos);
    pos = lf_at + 1;

    if (first_line) {
      if (const int status = parse_request_line(line, out)) return fail(status);
      first_line = false;
      continue;
    }
    if (line.empty()) break;  // the blank line: end of the head

    // Obsolete line folding (a field line starting with whitespace) is rejected, as
    // RFC 9112 §5.2 allows for a server outside a message/http media type.
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400);
    const std::string_view name = line.substr(0, colon);
    // A space before the colon must be rejected (RFC 9112 §5.1): is_token refuses it.
    if (!is_token(name)) return fail(400);
    const std::string_view raw_value = line.substr(colon + 1);
    if (!std::all_of(raw_value.begin(), raw_value.end(), is_field_char)) return fail(400);
    const std::string_view value = trim_ows(raw_value);

    if (out.header_count == request::max_headers) {
      over_max_headers = true;  // 431, once the rest of the head is known to be well-formed
    } else {
      out.headers[out.header_count++] = {name, value};
    }
    if (iequals(name, "content-length")) {
      if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return fail(400);  // also rejects a list ("5, 5") and a sign
      }
      if (!content_length.empty() && content_length != value) return fail(400);
      content_length = value;
    } else if (iequals(name, "transfer-encoding")) {
      transfer_encoding = true;
    } else if (iequals(name, "host")) {
      ++host_fields;
    } else if (iequals(name, "connection")) {
      close = close || list_contains(value, "close");
      keep_alive_token = keep_alive_token || list_contains(value, "keep-alive");
    } else if (iequals(name, "expect")) {
      out.expect_continue = iequals(value, "100-continue");
    }
  }

  // The head is complete and every line is well-formed: now the semantic checks, the
  // framing ones first (RFC 9112 §6.3).
  if (transfer_encoding) return fail(content_length.empty() ? 501 : 400);
  if (host_fields > 1 || (out.minor_version == 1 && host_fields == 0)) return fail(400);
  if (over_max_headers) return fail(431);
  std::size_t length = 0;
  for (char c : content_length) {
    const std::size_t digit = static_cast<std::size_t>(c - '0');
    // Past the cap is 413 whatever the rest of the digits. Checking before multiplying
    // keeps length * 10 + digit <= cap + 9: no overflow for any number of digits.
    if (length > limits.max_body_bytes / 10) return fail(413);
    length = length * 10 + digit;
    if (length > limits.max_body_bytes) return fail(413);
  }
  out.content_length = length;
  out.keep_alive = out.minor_version == 1 ? !close : (keep_alive_token && !close);

  result.head_bytes = pos;
  if (buffer.size() - pos < length) return result;  // incomplete: the body is arriving
  out.body = buffer.substr(pos, length);
  result.status = parse_status::complete;
  result.consumed = pos + length;
  return result;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace coring::http
