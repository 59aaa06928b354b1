// MQTT control packets as named structs, for 3.1 (level 3), 3.1.1 (level 4) and 5.0 (level 5).
// No I/O here: see codec.hpp for framing, decoding and encoding.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace coromq::packet {

/// The protocol level byte of CONNECT.
enum class protocol_version : std::uint8_t { v3_1 = 3, v3_1_1 = 4, v5 = 5 };

/// The four bits of the fixed header naming the packet.
enum class packet_type : std::uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    unsubscribe = 10,
    unsuback = 11,
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
    auth = 15,
};

enum class qos : std::uint8_t { at_most_once = 0, at_least_once = 1, exactly_once = 2 };

/// CONNACK return codes of MQTT 3.1/3.1.1 (section 3.2.2.3).
enum class connect_return_code : std::uint8_t {
    accepted = 0x00,
    unacceptable_protocol_version = 0x01,
    identifier_rejected = 0x02,
    server_unavailable = 0x03,
    bad_user_name_or_password = 0x04,
    not_authorized = 0x05,
};

/// MQTT 5.0 reason codes (section 2.4). In 3.1.1 SUBACK uses 0x00..0x02 and 0x80 too.
enum class reason_code : std::uint8_t {
    success = 0x00, // also normal_disconnection, granted_qos_0
    granted_qos_1 = 0x01,
    granted_qos_2 = 0x02,
    disconnect_with_will_message = 0x04,
    no_matching_subscribers = 0x10,
    no_subscription_existed = 0x11,
    continue_authentication = 0x18,
    re_authenticate = 0x19,
    unspecified_error = 0x80,
    malformed_packet = 0x81,
    protocol_error = 0x82,
    implementation_specific_error = 0x83,
    unsupported_protocol_version = 0x84,
    client_identifier_not_valid = 0x85,
    bad_user_name_or_password = 0x86,
    not_authorized = 0x87,
    server_unavailable = 0x88,
    server_busy = 0x89,
    banned = 0x8A,
    server_shutting_down = 0x8B,
    bad_authentication_method = 0x8C,
    keep_alive_timeout = 0x8D,
    session_taken_over = 0x8E,
    topic_filter_invalid = 0x8F,
    topic_name_invalid = 0x90,
    packet_identifier_in_use = 0x91,
    packet_identifier_not_found = 0x92,
    receive_maximum_exceeded = 0x93,
    topic_alias_invalid = 0x94,
    packet_too_large = 0x95,
    message_rate_too_high = 0x96,
    quota_exceeded = 0x97,
    administrative_action = 0x98,
    payload_format_invalid = 0x99,
    retain_not_supported = 0x9A,
    qos_not_supported = 0x9B,
    use_another_server = 0x9C,
    server_moved = 0x9D,
    shared_subscriptions_not_supported = 0x9E,
    connection_rate_exceeded = 0x9F,
    maximum_connect_time = 0xA0,
    subscription_identifiers_not_supported = 0xA1,
    wildcard_subscriptions_not_supported = 0xA2,
};

/// MQTT 5.0 property identifiers (section 2.2.2.2).
enum class property_id : std::uint8_t {
    payload_format_indicator = 0x01,
    message_expiry_interval = 0x02,
    content_type = 0x03,
    response_topic = 0x08,
    correlation_data = 0x09,
    subscription_identifier = 0x0B,
    session_expiry_interval = 0x11,
    assigned_client_identifier = 0x12,
    server_keep_alive = 0x13,
    authentication_method = 0x15,
    authentication_data = 0x16,
    request_problem_information = 0x17,
    will_delay_interval = 0x18,
    request_response_information = 0x19,
    response_information = 0x1A,
    server_reference = 0x1C,
    reason_string = 0x1F,
    receive_maximum = 0x21,
    topic_alias_maximum = 0x22,
    topic_alias = 0x23,
    maximum_qos = 0x24,
    retain_available = 0x25,
    user_property = 0x26,
    maximum_packet_size = 0x27,
    wildcard_subscription_available = 0x28,
    subscription_identifier_available = 0x29,
    shared_subscription_available = 0x2A,
};

/// One MQTT 5.0 property. Numeric types (byte, two/four byte integer, variable byte integer)
/// use `number`; UTF-8 strings and binary data use `value`; a user property is `key`/`value`.
struct property {
    property_id id{};
    std::uint32_t number = 0;
    std::string key;
    std::string value;

    friend bool operator==(const property&, const property&) = default;
};

/// Properties in wire order (user properties keep their order [MQTT-3.3.2-18]).
using properties = std::vector<property>;

/// The first property with this id, or nullptr.
const property* find_property(const properties& props, property_id id) noexcept;

/// Topic and payload of an application message in one immutable allocation, shared by every
/// recipient and every queue that holds the message: fan-out never copies the payload.
class message_buffer {
public:
    message_buffer() = default;
    message_buffer(std::string_view topic, std::string_view payload);

    std::string_view topic() const noexcept { return {data_.get(), topic_size_}; }
    std::string_view payload() const noexcept { return {data_.get() + topic_size_, payload_size_}; }
    bool empty() const noexcept { return !data_; }

    friend bool operator==(const message_buffer& a, const message_buffer& b) noexcept {
        return a.topic() == b.topic() && a.payload() == b.payload();
    }

private:
    std::shared_ptr<const char[]> data_;
    std::uint32_t topic_size_ = 0;
    std::uint32_t payload_size_ = 0;
};

/// The will of a CONNECT.
struct will {
    message_buffer message; ///< will topic and will payload
    qos qos_level = qos::at_most_once;
    bool retain = false;
    properties props; ///< will properties (5.0)

    friend bool operator==(const will&, const will&) = default;
};

struct connect {
    protocol_version version = protocol_version::v3_1_1;
    bool clean_start = true; ///< "clean session" before 5.0
    std::uint16_t keep_alive = 0;
    std::string client_id;
    std::optional<will> last_will;
    std::optional<std::string> username;
    std::optional<std::string> password; ///< binary data
    properties props;

    friend bool operator==(const connect&, const connect&) = default;
};

struct connack {
    bool session_present = false;
    /// 3.x: a `connect_return_code`; 5.0: a `reason_code`.
    std::uint8_t code = 0;
    properties props;

    friend bool operator==(const connack&, const connack&) = default;
};

struct publish {
    bool dup = false;
    qos qos_level = qos::at_most_once;
    bool retain = false;
    std::uint16_t packet_id = 0; ///< only for QoS 1 and 2
    message_buffer message;
    properties props;

    std::string_view topic() const noexcept { return message.topic(); }
    std::string_view payload() const noexcept { return message.payload(); }

    friend bool operator==(const publish&, const publish&) = default;
};

/// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape: a packet id, and in 5.0 a reason code
/// and properties (both omitted on the wire when success and empty).
struct ack {
    std::uint16_t packet_id = 0;
    reason_code reason = reason_code::success;
    properties props;

    friend bool operator==(const ack&, const ack&) = default;
};
struct puback : ack {};
struct pubrec : ack {};
struct pubrel : ack {};
struct pubcomp : ack {};

/// Retain handling of a 5.0 subscription (3.8.3.1).
enum class retain_handling : std::uint8_t {
    send_on_subscribe = 0,
    send_if_new_subscription = 1,
    do_not_send = 2,
};

/// One topic filter of a SUBSCRIBE with its options (only `max_qos` before 5.0).
struct subscription {
    std::string filter;
    qos max_qos = qos::at_most_once;
    bool no_local = false;
    bool retain_as_published = false;
    retain_handling retain_policy = retain_handling::send_on_subscribe;

    friend bool operator==(const subscription&, const subscription&) = default;
};

struct subscribe {
    std::uint16_t packet_id = 0;
    std::vector<subscription> subscriptions;
    properties props;

    friend bool operator==(const subscribe&, const subscribe&) = default;
};

struct suback {
    std::uint16_t packet_id = 0;
    std::vector<reason_code> codes; ///< 3.1.1: 0x00, 0x01, 0x02 or 0x80
    properties props;

    friend bool operator==(const suback&, const suback&) = default;
};

struct unsubscribe {
    std::uint16_t packet_id = 0;
    std::vector<std::string> filters;
    properties props;

    friend bool operator==(const unsubscribe&, const unsubscribe&) = default;
};

struct unsuback {
    std::uint16_t packet_id = 0;
    std::vector<reason_code> codes; ///< 5.0 only; empty before
    properties props;

    friend bool operator==(const unsuback&, const unsuback&) = default;
};

struct pingreq {
    friend bool operator==(const pingreq&, const pingreq&) = default;
};
struct pingresp {
    friend bool operator==(const pingresp&, const pingresp&) = default;
};

struct disconnect {
    reason_code reason = reason_code::success;
    properties props;

    friend bool operator==(const disconnect&, const disconnect&) = default;
};

struct auth {
    reason_code reason = reason_code::success;
    properties props;

    friend bool operator==(const auth&, const auth&) = default;
};

/// Any decoded packet.
using any_packet =
    std::variant<connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback,
                 unsubscribe, unsuback, pingreq, pingresp, disconnect, auth>;

/// The type of a decoded packet.
packet_type type_of(const any_packet& p) noexcept;

const char* to_string(packet_type t) noexcept;

} // namespace coromq::packet
