#include "http_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace coromq::rest {
namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

std::string_view unquote(std::string_view s) noexcept {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
        return s.substr(1, s.size() - 2);
    }
    return s;
}

/// The value of parameter `name` in a header value such as `form-data; name="qos"`.
std::optional<std::string_view> header_param(std::string_view value, std::string_view name) {
    while (!value.empty()) {
        const auto semi = value.find(';');
        auto part = trim(value.substr(0, semi));
        value = semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
        const auto eq = part.find('=');
        if (eq != std::string_view::npos && iequals(trim(part.substr(0, eq)), name)) {
            return unquote(trim(part.substr(eq + 1)));
        }
    }
    return std::nullopt;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) {
                return std::nullopt;
            }
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            out.push_back(char(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::optional<fields> parse_urlencoded(std::string_view s) {
    fields out;
    while (!s.empty()) {
        const auto amp = s.find('&');
        const auto pair = s.substr(0, amp);
        s = amp == std::string_view::npos ? std::string_view{} : s.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq), true);
        auto value = percent_decode(
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
        if (!name || !value) {
            return std::nullopt;
        }
        out.emplace(std::move(*name), std::move(*value)); // the first one wins
    }
    return out;
}

std::optional<fields> parse_multipart(std::string_view body, std::string_view content_type) {
    const auto boundary = header_param(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 200) {
        return std::nullopt;
    }
    const std::string delimiter = "--" + std::string(*boundary);
    const std::string separator = "\r\n" + delimiter;
    auto pos = body.find(delimiter);
    if (pos == std::string_view::npos) {
        return std::nullopt;
    }
    pos += delimiter.size();
    fields out;
    for (;;) {
        if (body.substr(pos, 2) == "--") {
            return out; // the close delimiter
        }
        if (body.substr(pos, 2) != "\r\n") {
            return std::nullopt;
        }
        pos += 2;
        const auto headers_end = body.find("\r\n\r\n", pos);
        if (headers_end == std::string_view::npos) {
            return std::nullopt;
        }
        auto headers = body.substr(pos, headers_end - pos);
        const auto content_begin = headers_end + 4;
        const auto next = body.find(separator, content_begin);
        if (next == std::string_view::npos) {
            return std::nullopt;
        }
        std::optional<std::string_view> name;
        while (!headers.empty()) {
            const auto eol = headers.find("\r\n");
            const auto line = headers.substr(0, eol);
            headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
            const auto colon = line.find(':');
            if (colon != std::string_view::npos &&
                iequals(trim(line.substr(0, colon)), "content-disposition")) {
                name = header_param(line.substr(colon + 1), "name");
            }
        }
        if (name) {
            out.emplace(std::string(*name),
                        std::string(body.substr(content_begin, next - content_begin)));
        }
        pos = next + separator.size();
    }
}

std::pair<std::optional<fields>, json_fields_error> parse_json_fields(std::string_view body) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(body, ec);
    if (ec) {
        return {std::nullopt, {"malformed JSON body: " + ec.message()}};
    }
    if (!v.is_object()) {
        return {std::nullopt, {"the JSON body must be an object"}};
    }
    fields out;
    for (const auto& member : v.get_object()) {
        const auto& value = member.value();
        std::string text;
        if (value.is_string()) {
            text = std::string(value.get_string());
        } else if (value.is_number() || value.is_bool()) {
            text = boost::json::serialize(value);
        } else if (value.is_null()) {
            continue;
        } else {
            return {std::nullopt,
                    {"member '" + std::string(member.key()) +
                     "' must be a string, a number or a boolean"}};
        }
        out.emplace(std::string(member.key()), std::move(text));
    }
    return {std::move(out), {}};
}

std::optional<std::string> base64_decode(std::string_view s) {
    while (!s.empty() && s.back() == '=') {
        s.remove_suffix(1);
    }
    if (s.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(s.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : s) {
        int v = -1;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+') {
            v = 62;
        } else if (c == '/') {
            v = 63;
        }
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | std::uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char((acc >> bits) & 0xff));
        }
    }
    return out;
}

bool equal_secrets(std::string_view a, std::string_view b) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> da{};
    std::array<unsigned char, EVP_MAX_MD_SIZE> db{};
    unsigned la = 0;
    unsigned lb = 0;
    const bool ok = EVP_Digest(a.data(), a.size(), da.data(), &la, EVP_sha256(), nullptr) == 1 &&
                    EVP_Digest(b.data(), b.size(), db.data(), &lb, EVP_sha256(), nullptr) == 1;
    return ok && la == lb && CRYPTO_memcmp(da.data(), db.data(), la) == 0;
}

std::string format_time(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    if (t.time_since_epoch().count() == 0) {
        return "0001-01-01T00:00:00Z"; // Go's zero time.Time
    }
    const auto secs = floor<seconds>(t);
    const auto nanos = duration_cast<nanoseconds>(t - secs).count();
    const std::time_t tt = system_clock::to_time_t(system_clock::time_point(secs));
    std::tm local{};
    localtime_r(&tt, &local);
    char buf[80];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
    std::string out(buf, n);
    if (nanos != 0) {
        std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nanos));
        std::string fraction(buf);
        while (fraction.back() == '0') {
            fraction.pop_back();
        }
        out += fraction;
    }
    const long offset = local.tm_gmtoff;
    const long minutes = (offset < 0 ? -offset : offset) / 60;
    std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", offset < 0 ? '-' : '+', minutes / 60,
                  minutes % 60);
    out += buf;
    return out;
}

} // namespace coromq::rest
