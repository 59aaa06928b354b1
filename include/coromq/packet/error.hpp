// Errors the codec reports: one value per rule of the specification that a packet can break,
// so a test (or the broker) can tell exactly which rule fired.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <type_traits>

namespace coromq::packet {

/// Every way a byte sequence can fail to be a valid MQTT packet.
enum class errc : std::uint8_t {
    ok = 0,
    // framing
    malformed_remaining_length =
        1,                ///< more than 4 bytes of variable byte integer [MQTT-1.5.5-1] / 2.2.3
    packet_too_large,     ///< declared length above the configured maximum packet size
    reserved_packet_type, ///< packet type 0, or 15 (AUTH) before MQTT 5.0
    invalid_fixed_header_flags, ///< reserved flag bits not as the spec fixes them [MQTT-2.2.2-1/2]
    // generic body decoding
    truncated,                  ///< the body ends before a field it declares
    trailing_bytes,             ///< the body has bytes after the last field
    invalid_utf8,               ///< ill-formed UTF-8, or a surrogate code point [MQTT-1.5.3-1]
    utf8_contains_null,         ///< U+0000 in a UTF-8 string [MQTT-1.5.3-2]
    malformed_variable_integer, ///< a variable byte integer inside the body longer than 4 bytes
    // CONNECT
    invalid_protocol_name,        ///< neither "MQTT" (4, 5) nor "MQIsdp" (3) [MQTT-3.1.2-1]
    unsupported_protocol_version, ///< protocol level not 3, 4 or 5 [MQTT-3.1.2-2]
    connect_reserved_flag_set,    ///< CONNECT flags bit 0 not zero [MQTT-3.1.2-3]
    invalid_will_flags,           ///< will QoS/retain set without the will flag, or will QoS 3
                                  ///< [MQTT-3.1.2-11/13/14/15]
    password_without_username,    ///< password flag without user name flag in 3.1/3.1.1
                                  ///< [MQTT-3.1.2-22]
    invalid_client_id,            ///< client id the codec can already reject (3.1: longer than 23)
    // PUBLISH
    invalid_qos,         ///< QoS 3 [MQTT-3.3.1-4]
    dup_with_qos0,       ///< DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]
    topic_name_wildcard, ///< '+' or '#' in a topic name [MQTT-3.3.2-2]
    topic_name_empty,    ///< empty topic name without a topic alias [MQTT-4.7.3-1]
    zero_packet_id,      ///< packet identifier 0 where one is required [MQTT-2.3.1-1]
    // SUBSCRIBE / UNSUBSCRIBE
    empty_subscription_list,      ///< no topic filter in SUBSCRIBE/UNSUBSCRIBE [MQTT-3.8.3-3]
                                  ///< [MQTT-3.10.3-2]
    invalid_topic_filter,         ///< '#' not last or not alone in its level, '+' not alone
                                  ///< [MQTT-4.7.1-2/3]
    invalid_subscription_options, ///< reserved bits of the requested QoS/options byte
                                  ///< [MQTT-3.8.3-4]
    // MQTT 5.0 properties and reason codes
    invalid_property_id,    ///< an identifier the spec does not define
    property_not_allowed,   ///< a property on a packet that may not carry it
    duplicate_property,     ///< a property that may appear once appears twice
    invalid_property_value, ///< e.g. payload format indicator 2, receive maximum 0
    invalid_reason_code,    ///< a reason code the packet may not carry
    // CONNACK / SUBACK seen by a client
    invalid_connack_flags, ///< reserved CONNACK acknowledge flag bits set [MQTT-3.2.2-1]
};

/// The error category of `errc`, so codec errors travel as `boost::system::error_code`.
const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

/// A short, stable, human-readable name of the rule (for logs and tests).
const char* to_string(errc e) noexcept;

} // namespace coromq::packet

template <>
struct boost::system::is_error_code_enum<coromq::packet::errc> : std::true_type {};
