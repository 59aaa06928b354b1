// The MQTT 5.0 property table (section 2.2.2.2): each identifier's wire type, and which
// packets may carry it. Shared by the decoder and the encoder.
#pragma once

#include <coromq/packet/types.hpp>

#include <cstdint>

namespace coromq::packet::detail {

enum class property_type : std::uint8_t {
    invalid,
    byte,
    two_byte_integer,
    four_byte_integer,
    variable_byte_integer,
    utf8_string,
    binary_data,
    utf8_string_pair,
};

/// Where a property list sits: a packet type, or the will properties of a CONNECT.
/// Bit N of a mask is packet type N; bit 0 (packet type 0 is reserved) stands for "will".
inline constexpr std::uint16_t will_context = 1u << 0;
constexpr std::uint16_t bit(packet_type t) {
    return std::uint16_t(1u << unsigned(t));
}

struct property_rule {
    property_type type = property_type::invalid;
    std::uint16_t allowed_in = 0; ///< mask of contexts
    bool repeatable = false;      ///< may appear more than once (in `repeatable_in`)
    std::uint16_t repeatable_in = 0;
};

constexpr property_rule rule_of(std::uint8_t id) noexcept {
    using enum packet_type;
    using pt = property_type;
    constexpr std::uint16_t all_acks = bit(puback) | bit(pubrec) | bit(pubrel) | bit(pubcomp);
    constexpr std::uint16_t message = bit(publish) | will_context;
    switch (static_cast<property_id>(id)) {
    case property_id::payload_format_indicator:
        return {pt::byte, message};
    case property_id::message_expiry_interval:
        return {pt::four_byte_integer, message};
    case property_id::content_type:
        return {pt::utf8_string, message};
    case property_id::response_topic:
        return {pt::utf8_string, message};
    case property_id::correlation_data:
        return {pt::binary_data, message};
    case property_id::subscription_identifier:
        return {pt::variable_byte_integer, std::uint16_t(bit(publish) | bit(subscribe)), true,
                bit(publish)};
    case property_id::session_expiry_interval:
        return {pt::four_byte_integer,
                std::uint16_t(bit(connect) | bit(connack) | bit(disconnect))};
    case property_id::assigned_client_identifier:
        return {pt::utf8_string, bit(connack)};
    case property_id::server_keep_alive:
        return {pt::two_byte_integer, bit(connack)};
    case property_id::authentication_method:
        return {pt::utf8_string, std::uint16_t(bit(connect) | bit(connack) | bit(auth))};
    case property_id::authentication_data:
        return {pt::binary_data, std::uint16_t(bit(connect) | bit(connack) | bit(auth))};
    case property_id::request_problem_information:
        return {pt::byte, bit(connect)};
    case property_id::will_delay_interval:
        return {pt::four_byte_integer, will_context};
    case property_id::request_response_information:
        return {pt::byte, bit(connect)};
    case property_id::response_information:
        return {pt::utf8_string, bit(connack)};
    case property_id::server_reference:
        return {pt::utf8_string, std::uint16_t(bit(connack) | bit(disconnect))};
    case property_id::reason_string:
        return {pt::utf8_string, std::uint16_t(bit(connack) | all_acks | bit(suback) |
                                               bit(unsuback) | bit(disconnect) | bit(auth))};
    case property_id::receive_maximum:
        return {pt::two_byte_integer, std::uint16_t(bit(connect) | bit(connack))};
    case property_id::topic_alias_maximum:
        return {pt::two_byte_integer, std::uint16_t(bit(connect) | bit(connack))};
    case property_id::topic_alias:
        return {pt::two_byte_integer, bit(publish)};
    case property_id::maximum_qos:
        return {pt::byte, bit(connack)};
    case property_id::retain_available:
        return {pt::byte, bit(connack)};
    case property_id::user_property:
        return {pt::utf8_string_pair, 0xFFFF, true, 0xFFFF};
    case property_id::maximum_packet_size:
        return {pt::four_byte_integer, std::uint16_t(bit(connect) | bit(connack))};
    case property_id::wildcard_subscription_available:
        return {pt::byte, bit(connack)};
    case property_id::subscription_identifier_available:
        return {pt::byte, bit(connack)};
    case property_id::shared_subscription_available:
        return {pt::byte, bit(connack)};
    }
    return {};
}

} // namespace coromq::packet::detail
