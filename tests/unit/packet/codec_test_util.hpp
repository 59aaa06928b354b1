// Helpers shared by the codec tests: building byte vectors, decoding a whole packet (fixed
// header + body) the way a connection does, encoding any packet, and printing packets and
// error values readably when a check fails.
#pragma once

#include <coromq/packet/codec.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <source_location>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace coromq::packet::test {

using byte_vector = std::vector<std::uint8_t>;

/// A generous maximum packet size for tests that are not about the limit.
inline constexpr std::uint32_t test_max_packet_size = 1u << 24;

inline std::string hex(bytes_view b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 3);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i != 0)
            s += ' ';
        s += digits[b[i] >> 4];
        s += digits[b[i] & 0xF];
    }
    return s;
}

inline std::string hex(std::string_view s) {
    return hex(bytes_view{reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

inline std::string hex(const byte_vector& b) {
    return hex(bytes_view{b});
}

/// The bytes of a string.
inline byte_vector bytes_of(std::string_view s) {
    return byte_vector(s.begin(), s.end());
}

/// Concatenation of byte vectors.
inline byte_vector cat(std::initializer_list<byte_vector> parts) {
    byte_vector out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

/// A two-byte length followed by the bytes of `s` (UTF-8 string or binary data field).
inline byte_vector str(std::string_view s) {
    // push_back rather than insert: g++ 12 warns falsely (-Warray-bounds) on the insert.
    byte_vector out;
    out.reserve(2 + s.size());
    out.push_back(static_cast<std::uint8_t>(s.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(s.size() & 0xFF));
    for (char c : s)
        out.push_back(static_cast<std::uint8_t>(c));
    return out;
}

/// A variable byte integer, written here independently of the codec under test.
inline byte_vector varint(std::uint32_t v) {
    byte_vector out;
    do {
        std::uint8_t b = v % 128;
        v /= 128;
        if (v > 0)
            b |= 0x80;
        out.push_back(b);
    } while (v > 0);
    return out;
}

/// A whole packet from its first byte and its body; the remaining length is computed here,
/// so malformed-body vectors only have to get the body right.
inline byte_vector frame(std::uint8_t first_byte, const byte_vector& body) {
    byte_vector out{first_byte};
    auto len = varint(static_cast<std::uint32_t>(body.size()));
    out.insert(out.end(), len.begin(), len.end());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

/// A 5.0 property block: variable byte integer length followed by the properties.
inline byte_vector props_block(const byte_vector& props) {
    return cat({varint(static_cast<std::uint32_t>(props.size())), props});
}

/// The codec error value of an error code (checks that it is one of ours).
inline errc to_errc(const boost::system::error_code& ec) {
    CHECK_MESSAGE(ec.category() == category(), "error from another category: " << ec.message());
    return static_cast<errc>(ec.value());
}

struct decode_outcome {
    errc error = errc::ok;
    std::optional<any_packet> packet;
};

/// Frames and decodes a whole packet as a connection speaking `v` would: parse_fixed_header,
/// then decode_connect for CONNECT or decode for anything else.
inline decode_outcome decode_wire(const byte_vector& wire, protocol_version v,
                                  std::uint32_t max_packet_size = test_max_packet_size) {
    auto header = parse_fixed_header(wire, max_packet_size);
    if (!header)
        return {to_errc(header.error()), std::nullopt};
    if (!header->has_value()) {
        FAIL_CHECK("parse_fixed_header wants more bytes for " << hex(wire));
        return {};
    }
    const fixed_header& h = **header;
    if (h.packet_size() != wire.size()) {
        FAIL_CHECK("test vector is " << wire.size() << " bytes but declares " << h.packet_size()
                                     << ": " << hex(wire));
        return {};
    }
    bytes_view body = bytes_view{wire}.subspan(h.size);
    if (h.type == packet_type::connect) {
        auto r = decode_connect(h, body);
        if (!r)
            return {to_errc(r.error()), std::nullopt};
        return {errc::ok, any_packet{std::in_place_type<connect>, std::move(*r)}};
    }
    auto r = decode(h, body, v);
    if (!r)
        return {to_errc(r.error()), std::nullopt};
    return {errc::ok, std::move(*r)};
}

/// The error decoding `wire` gives (errc::ok when it decodes).
inline errc decode_error(const byte_vector& wire, protocol_version v,
                         std::uint32_t max_packet_size = test_max_packet_size) {
    return decode_wire(wire, v, max_packet_size).error;
}

/// The decoded packet; fails the check when decoding fails.
inline any_packet decode_ok(const byte_vector& wire, protocol_version v) {
    auto out = decode_wire(wire, v);
    const auto wire_hex = hex(wire);
    CAPTURE(wire_hex);
    CHECK(out.error == errc::ok);
    return out.packet ? *out.packet : any_packet{};
}

/// Encodes with the typed overload (CONNECT takes its version from the packet).
inline std::string encode_typed(const any_packet& p, protocol_version v) {
    std::string out;
    std::visit(
        [&](const auto& x) {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, connect>)
                encode(x, out);
            else
                encode(x, v, out);
        },
        p);
    return out;
}

/// Encodes with both the typed and the any_packet overload and checks they agree.
inline std::string encode_wire(const any_packet& p, protocol_version v) {
    std::string typed = encode_typed(p, v);
    std::string generic;
    encode(p, v, generic);
    CHECK(hex(generic) == hex(typed));
    return typed;
}

} // namespace coromq::packet::test

// Printing for doctest; found by argument-dependent lookup, test code only.
namespace coromq::packet {

inline std::string escaped(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            static constexpr char digits[] = "0123456789abcdef";
            out += "\\x";
            out += digits[c >> 4];
            out += digits[c & 0xF];
        }
    }
    return out + "\"";
}

inline std::string describe(const properties& props) {
    std::ostringstream o;
    o << "[";
    for (const auto& p : props) {
        o << " {0x" << std::hex << int(p.id) << std::dec << " n=" << p.number;
        if (!p.key.empty())
            o << " k=" << escaped(p.key);
        if (!p.value.empty())
            o << " v=" << escaped(p.value);
        o << "}";
    }
    o << " ]";
    return o.str();
}

inline std::string describe(const message_buffer& m) {
    return "topic=" + escaped(m.topic()) + " payload=" + escaped(m.payload());
}

inline std::string describe(const any_packet& packet) {
    std::ostringstream o;
    auto codes = [&](const std::vector<reason_code>& cs) {
        o << " codes=[";
        for (auto c : cs)
            o << " 0x" << std::hex << int(c) << std::dec;
        o << " ]";
    };
    auto ack_fields = [&](const ack& a) {
        o << " id=" << a.packet_id << " reason=0x" << std::hex << int(a.reason) << std::dec
          << " props=" << describe(a.props);
    };
    std::visit(
        [&](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            o << to_string(type_of(any_packet{p})) << "{";
            if constexpr (std::is_same_v<T, connect>) {
                o << "version=" << int(p.version) << " clean=" << p.clean_start
                  << " keep_alive=" << p.keep_alive << " client_id=" << escaped(p.client_id);
                if (p.last_will)
                    o << " will={" << describe(p.last_will->message)
                      << " qos=" << int(p.last_will->qos_level) << " retain=" << p.last_will->retain
                      << " props=" << describe(p.last_will->props) << "}";
                if (p.username)
                    o << " username=" << escaped(*p.username);
                if (p.password)
                    o << " password=" << escaped(*p.password);
                o << " props=" << describe(p.props);
            } else if constexpr (std::is_same_v<T, connack>) {
                o << "session_present=" << p.session_present << " code=0x" << std::hex
                  << int(p.code) << std::dec << " props=" << describe(p.props);
            } else if constexpr (std::is_same_v<T, publish>) {
                o << "dup=" << p.dup << " qos=" << int(p.qos_level) << " retain=" << p.retain
                  << " id=" << p.packet_id << " " << describe(p.message)
                  << " props=" << describe(p.props);
            } else if constexpr (std::is_base_of_v<ack, T>) {
                ack_fields(p);
            } else if constexpr (std::is_same_v<T, subscribe>) {
                o << "id=" << p.packet_id << " subs=[";
                for (const auto& s : p.subscriptions)
                    o << " {" << escaped(s.filter) << " qos=" << int(s.max_qos)
                      << " nl=" << s.no_local << " rap=" << s.retain_as_published
                      << " rh=" << int(s.retain_policy) << "}";
                o << " ] props=" << describe(p.props);
            } else if constexpr (std::is_same_v<T, suback> || std::is_same_v<T, unsuback>) {
                o << "id=" << p.packet_id;
                codes(p.codes);
                o << " props=" << describe(p.props);
            } else if constexpr (std::is_same_v<T, unsubscribe>) {
                o << "id=" << p.packet_id << " filters=[";
                for (const auto& f : p.filters)
                    o << " " << escaped(f);
                o << " ] props=" << describe(p.props);
            } else if constexpr (std::is_same_v<T, disconnect> || std::is_same_v<T, auth>) {
                o << "reason=0x" << std::hex << int(p.reason) << std::dec
                  << " props=" << describe(p.props);
            }
            o << "}";
        },
        packet);
    return o.str();
}

inline doctest::String toString(errc e) {
    std::ostringstream o;
    o << "errc::" << to_string(e) << " (" << int(e) << ")";
    return o.str().c_str();
}

inline doctest::String toString(const any_packet& p) {
    return describe(p).c_str();
}

} // namespace coromq::packet

namespace coromq::packet::test {

/// Decodes `wire` and compares it with `expected`, then encodes `expected` and compares the
/// bytes with `wire`: every hand-written vector is checked both ways.
inline void check_both_ways(const byte_vector& wire, const any_packet& expected, protocol_version v,
                            std::source_location where = std::source_location::current()) {
    const auto vector_line = where.line();
    const auto wire_hex = hex(wire);
    CAPTURE(vector_line);
    CAPTURE(wire_hex);
    auto out = decode_wire(wire, v);
    CHECK(out.error == errc::ok);
    if (out.packet)
        CHECK(*out.packet == expected);
    CHECK(hex(encode_wire(expected, v)) == wire_hex);
}

/// Decode-only check, for wire forms the encoder may legitimately write differently
/// (e.g. a 5.0 PUBACK with a reason code and an explicit zero property length).
inline void check_decodes_to(const byte_vector& wire, const any_packet& expected,
                             protocol_version v,
                             std::source_location where = std::source_location::current()) {
    const auto vector_line = where.line();
    const auto wire_hex = hex(wire);
    CAPTURE(vector_line);
    CAPTURE(wire_hex);
    auto out = decode_wire(wire, v);
    CHECK(out.error == errc::ok);
    if (out.packet)
        CHECK(*out.packet == expected);
}

// Protocol levels, short.
inline constexpr protocol_version v31 = protocol_version::v3_1;
inline constexpr protocol_version v311 = protocol_version::v3_1_1;
inline constexpr protocol_version v5 = protocol_version::v5;

/// Property constructors.
inline property num_prop(property_id id, std::uint32_t n) {
    return property{id, n, {}, {}};
}
inline property str_prop(property_id id, std::string v) {
    return property{id, 0, {}, std::move(v)};
}
inline property user_prop(std::string k, std::string v) {
    return property{property_id::user_property, 0, std::move(k), std::move(v)};
}

} // namespace coromq::packet::test
