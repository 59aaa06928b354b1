// Small pure helpers of the REST API: request bodies and query strings taken apart, basic
// auth, and Gmqtt's time format. No I/O; all of them thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coromq::rest {

/// Form fields or query parameters by name. When a name repeats, the first value is kept
/// (as Go's url.Values.Get, which Gmqtt uses, does).
using fields = std::map<std::string, std::string, std::less<>>;

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as forms encode it).
/// nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

/// Parses an application/x-www-form-urlencoded body or a query string. nullopt when malformed.
std::optional<fields> parse_urlencoded(std::string_view s);

/// Parses a multipart/form-data body with the boundary named in `content_type`. Every part
/// with a name becomes a field (a file part's content included). nullopt when malformed.
std::optional<fields> parse_multipart(std::string_view body, std::string_view content_type);

/// What `parse_json_fields` found wrong, for the error message.
struct json_fields_error {
    std::string message;
};

/// Parses a JSON object whose members are strings, numbers or booleans into fields (numbers
/// and booleans as their JSON text; null members are left out). Fails on anything else.
std::pair<std::optional<fields>, json_fields_error> parse_json_fields(std::string_view body);

/// Decodes standard base64 (RFC 4648 section 4), padding optional. nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view s);

/// Compares two secrets in time that depends on neither their contents nor their lengths:
/// both are hashed with SHA-256 and the digests compared with CRYPTO_memcmp.
bool equal_secrets(std::string_view a, std::string_view b);

/// RFC 3339 with nanoseconds (trailing zeros trimmed) in the local time zone with a numeric
/// offset, e.g. "2018-11-18T02:10:36.6958382+08:00"; the clock's epoch (never set) is Go's zero
/// time "0001-01-01T00:00:00Z", as Gmqtt shows a session that was never offline.
std::string format_time(std::chrono::system_clock::time_point t);

/// True when `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b) noexcept;

} // namespace coromq::rest
