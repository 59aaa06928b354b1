// Framing, decoding and encoding of MQTT packets. Pure functions over bytes: no sockets,
// no allocation beyond the decoded packet itself, no exceptions.
//
// Reading a stream is two steps so that nothing a peer merely declares is ever allocated:
//   1. parse_fixed_header(bytes, max_packet_size) -> need more / header / error
//   2. once header.remaining_length bytes of body are there: decode(header, body, version)
#pragma once

#include <coromq/packet/error.hpp>
#include <coromq/packet/types.hpp>

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace coromq::packet {

template <class T>
using result = boost::system::result<T>;

using bytes_view = std::span<const std::uint8_t>;

/// The largest remaining length a variable byte integer can express (268,435,455).
inline constexpr std::uint32_t max_remaining_length = 268'435'455;

/// The fixed header of a packet whose body may not have arrived yet.
struct fixed_header {
    packet_type type{};
    std::uint8_t flags = 0;             ///< the low four bits of the first byte
    std::uint32_t remaining_length = 0; ///< length of the body (variable header + payload)
    std::uint8_t size = 0;              ///< bytes taken by the fixed header itself (2..5)

    std::size_t packet_size() const noexcept { return size + std::size_t{remaining_length}; }
};

/// Parses the fixed header at the start of `bytes`.
/// Returns nullopt when more bytes are needed; `errc::malformed_remaining_length` for a fifth
/// length byte; `errc::packet_too_large` as soon as the declared whole-packet size exceeds
/// `max_packet_size`; `errc::reserved_packet_type` and `errc::invalid_fixed_header_flags` for
/// a first byte no version allows. Flags that depend on the version are checked by `decode`.
result<std::optional<fixed_header>> parse_fixed_header(bytes_view bytes,
                                                       std::uint32_t max_packet_size) noexcept;

/// Decodes a CONNECT body. The version comes from the packet itself.
result<connect> decode_connect(const fixed_header& header, bytes_view body);

/// Decodes any packet body for a connection that speaks `version`.
/// `body` must hold exactly `header.remaining_length` bytes.
result<any_packet> decode(const fixed_header& header, bytes_view body, protocol_version version);

/// True when `s` may be an MQTT UTF-8 string: at most 65,535 bytes of well-formed UTF-8
/// without surrogates [MQTT-1.5.3-1] and without U+0000 [MQTT-1.5.3-2]. For text that does not
/// come from a packet (topics given to the REST API or the services API).
bool valid_utf8_string(std::string_view s) noexcept;

/// Reads a variable byte integer (used by tests and by the property decoder).
/// Returns the value and the number of bytes it took, or nullopt when `bytes` ends first;
/// `errc::malformed_remaining_length` for a fifth byte or a padded, non-minimal encoding
/// [MQTT-1.5.5-1].
result<std::optional<std::pair<std::uint32_t, std::size_t>>>
read_variable_integer(bytes_view bytes) noexcept;

/// Appends `value` (at most 268,435,455) as a variable byte integer.
void append_variable_integer(std::string& out, std::uint32_t value);

/// Bytes taken by `value` as a variable byte integer.
std::size_t variable_integer_size(std::uint32_t value) noexcept;

// Encoding: each appends the whole packet to `out`. The version decides 3.x or 5.0 layout.
void encode(const connect& p, std::string& out); // version is p.version
void encode(const connack& p, protocol_version v, std::string& out);
void encode(const publish& p, protocol_version v, std::string& out);
void encode(const puback& p, protocol_version v, std::string& out);
void encode(const pubrec& p, protocol_version v, std::string& out);
void encode(const pubrel& p, protocol_version v, std::string& out);
void encode(const pubcomp& p, protocol_version v, std::string& out);
void encode(const subscribe& p, protocol_version v, std::string& out);
void encode(const suback& p, protocol_version v, std::string& out);
void encode(const unsubscribe& p, protocol_version v, std::string& out);
void encode(const unsuback& p, protocol_version v, std::string& out);
void encode(const pingreq& p, protocol_version v, std::string& out);
void encode(const pingresp& p, protocol_version v, std::string& out);
void encode(const disconnect& p, protocol_version v, std::string& out);
void encode(const auth& p, protocol_version v, std::string& out);
void encode(const any_packet& p, protocol_version v, std::string& out);

/// Appends everything of a PUBLISH but its payload: fixed header, remaining length, topic,
/// packet id, properties. A recipient's gather write is {this header, p.payload()}, so the
/// payload itself is never copied per recipient.
void encode_publish_header(const publish& p, protocol_version v, std::string& out);

/// Bytes that `encode(p, v, out)` would append (used to honour a peer's maximum packet size).
std::size_t encoded_size(const publish& p, protocol_version v);

} // namespace coromq::packet
