#include "properties.hpp"

#include <coromq/packet/codec.hpp>
#include <coromq/topic/topic.hpp>

#include <algorithm>
#include <array>
#include <bitset>

namespace coromq::packet {
namespace {

using detail::property_type;

/// True when `s` is well-formed UTF-8 without surrogates; sets `has_null` when it holds U+0000.
bool well_formed_utf8(std::string_view s, bool& has_null) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    has_null = false;
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            has_null |= (c == 0);
            ++p;
            continue;
        }
        int extra = 0;
        std::uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false; // continuation byte first, or 0xF8..0xFF
        }
        if (end - p <= extra) {
            return false;
        }
        for (int i = 1; i <= extra; ++i) {
            if ((p[i] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        // Overlong forms, surrogates [MQTT-1.5.3-1] and code points above U+10FFFF.
        static constexpr std::uint32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for_length[extra] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return false;
        }
        p += extra + 1;
    }
    return true;
}

} // namespace

bool valid_utf8_string(std::string_view s) noexcept {
    bool has_null = false;
    return s.size() <= 65535 && well_formed_utf8(s, has_null) && !has_null;
}

namespace {

/// Reads the fields of a packet body in order; every read checks the bounds.
class reader {
public:
    explicit reader(bytes_view body)
        : body_(body) {}

    std::size_t remaining() const noexcept { return body_.size() - pos_; }
    bool at_end() const noexcept { return pos_ == body_.size(); }

    result<std::uint8_t> u8() {
        if (remaining() < 1) {
            return errc::truncated;
        }
        return body_[pos_++];
    }
    result<std::uint16_t> u16() {
        if (remaining() < 2) {
            return errc::truncated;
        }
        const auto v = std::uint16_t((body_[pos_] << 8) | body_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    result<std::uint32_t> u32() {
        if (remaining() < 4) {
            return errc::truncated;
        }
        const std::uint32_t v = (std::uint32_t(body_[pos_]) << 24) |
                                (std::uint32_t(body_[pos_ + 1]) << 16) |
                                (std::uint32_t(body_[pos_ + 2]) << 8) | body_[pos_ + 3];
        pos_ += 4;
        return v;
    }
    result<std::uint32_t> varint() {
        auto r = read_variable_integer(body_.subspan(pos_));
        if (!r) {
            return errc::malformed_variable_integer;
        }
        if (!*r) {
            return errc::truncated;
        }
        pos_ += (*r)->second;
        return (*r)->first;
    }
    /// Two-byte length prefixed bytes, as a view into the body.
    result<std::string_view> binary() {
        auto len = u16();
        if (!len) {
            return len.error();
        }
        if (remaining() < *len) {
            return errc::truncated;
        }
        std::string_view v(reinterpret_cast<const char*>(body_.data()) + pos_, *len);
        pos_ += *len;
        return v;
    }
    /// A UTF-8 encoded string [MQTT-1.5.3-1] [MQTT-1.5.3-2].
    result<std::string_view> utf8() {
        auto v = binary();
        if (!v) {
            return v;
        }
        bool has_null = false;
        if (!well_formed_utf8(*v, has_null)) {
            return errc::invalid_utf8;
        }
        if (has_null) {
            return errc::utf8_contains_null;
        }
        return v;
    }
    /// The rest of the body.
    std::string_view rest() noexcept {
        std::string_view v(reinterpret_cast<const char*>(body_.data()) + pos_, remaining());
        pos_ = body_.size();
        return v;
    }
    /// A sub-reader over the next `n` bytes (a property list).
    result<reader> take(std::size_t n) {
        if (remaining() < n) {
            return errc::truncated;
        }
        reader r(body_.subspan(pos_, n));
        pos_ += n;
        return r;
    }

private:
    bytes_view body_;
    std::size_t pos_ = 0;
};

#define COROMQ_TRY(var, expr)                                                                      \
    auto var##_r = (expr);                                                                         \
    if (!var##_r) {                                                                                \
        return var##_r.error();                                                                    \
    }                                                                                              \
    auto var = *var##_r

/// Checks a value that the spec restricts beyond its wire type.
bool valid_property_value(property_id id, std::uint32_t n) noexcept {
    switch (id) {
    case property_id::payload_format_indicator:
    case property_id::request_problem_information:
    case property_id::request_response_information:
    case property_id::maximum_qos:
    case property_id::retain_available:
    case property_id::wildcard_subscription_available:
    case property_id::subscription_identifier_available:
    case property_id::shared_subscription_available:
        return n <= 1;
    case property_id::receive_maximum:
    case property_id::maximum_packet_size:
    case property_id::subscription_identifier:
    case property_id::topic_alias:
        return n != 0;
    default:
        return true;
    }
}

bool has_wildcard(std::string_view topic) noexcept {
    return topic.find_first_of("+#") != std::string_view::npos;
}

/// Reads a property length and the properties it covers, checking each against the table.
result<properties> read_properties(reader& in, std::uint16_t context) {
    COROMQ_TRY(length, in.varint());
    COROMQ_TRY(list, in.take(length));
    properties props;
    std::bitset<64> seen;
    while (!list.at_end()) {
        COROMQ_TRY(raw_id, list.varint()); // identifiers are variable byte integers
        if (raw_id > 0xFF) {
            return errc::invalid_property_id;
        }
        const auto rule = detail::rule_of(std::uint8_t(raw_id));
        if (rule.type == property_type::invalid) {
            return errc::invalid_property_id;
        }
        if ((rule.allowed_in & context) == 0) {
            return errc::property_not_allowed;
        }
        if (raw_id < seen.size()) {
            if (seen[raw_id] && !(rule.repeatable && (rule.repeatable_in & context))) {
                return errc::duplicate_property;
            }
            seen[raw_id] = true;
        }
        property p;
        p.id = property_id(raw_id);
        switch (rule.type) {
        case property_type::byte: {
            COROMQ_TRY(v, list.u8());
            p.number = v;
            break;
        }
        case property_type::two_byte_integer: {
            COROMQ_TRY(v, list.u16());
            p.number = v;
            break;
        }
        case property_type::four_byte_integer: {
            COROMQ_TRY(v, list.u32());
            p.number = v;
            break;
        }
        case property_type::variable_byte_integer: {
            COROMQ_TRY(v, list.varint());
            p.number = v;
            break;
        }
        case property_type::utf8_string: {
            COROMQ_TRY(v, list.utf8());
            if (p.id == property_id::response_topic && has_wildcard(v)) {
                return errc::topic_name_wildcard; // [MQTT-3.3.2-14], and the same for a will
            }
            p.value = v;
            break;
        }
        case property_type::binary_data: {
            COROMQ_TRY(v, list.binary());
            p.value = v;
            break;
        }
        case property_type::utf8_string_pair: {
            COROMQ_TRY(k, list.utf8());
            COROMQ_TRY(v, list.utf8());
            p.key = k;
            p.value = v;
            break;
        }
        case property_type::invalid:
            return errc::invalid_property_id;
        }
        if (!valid_property_value(p.id, p.number)) {
            return errc::invalid_property_value;
        }
        props.push_back(std::move(p));
    }
    return props;
}

constexpr std::uint16_t context_of(packet_type t) {
    return detail::bit(t);
}

template <class Ack>
result<any_packet> decode_ack(packet_type type, reader& in, protocol_version v,
                              std::initializer_list<std::uint8_t> allowed) {
    Ack a;
    COROMQ_TRY(id, in.u16());
    if (id == 0) {
        return errc::zero_packet_id; // [MQTT-2.3.1-1]
    }
    a.packet_id = id;
    if (v == protocol_version::v5 && !in.at_end()) {
        COROMQ_TRY(code, in.u8());
        if (std::find(allowed.begin(), allowed.end(), code) == allowed.end()) {
            return errc::invalid_reason_code;
        }
        a.reason = reason_code(code);
        if (!in.at_end()) {
            COROMQ_TRY(props, read_properties(in, context_of(type)));
            a.props = std::move(props);
        }
    }
    if (!in.at_end()) {
        return errc::trailing_bytes;
    }
    return any_packet{std::move(a)};
}

result<any_packet> decode_publish(const fixed_header& h, reader& in, protocol_version v) {
    publish p;
    p.retain = (h.flags & 0x01) != 0;
    const auto q = (h.flags >> 1) & 0x03;
    if (q == 3) {
        return errc::invalid_qos; // [MQTT-3.3.1-4]
    }
    p.qos_level = qos(q);
    p.dup = (h.flags & 0x08) != 0;
    if (p.dup && p.qos_level == qos::at_most_once) {
        return errc::dup_with_qos0; // [MQTT-3.3.1-2]
    }
    COROMQ_TRY(topic, in.utf8());
    if (has_wildcard(topic)) {
        return errc::topic_name_wildcard; // [MQTT-3.3.2-2]
    }
    if (p.qos_level != qos::at_most_once) {
        COROMQ_TRY(id, in.u16());
        if (id == 0) {
            return errc::zero_packet_id; // [MQTT-2.3.1-1]
        }
        p.packet_id = id;
    }
    if (v == protocol_version::v5) {
        COROMQ_TRY(props, read_properties(in, context_of(packet_type::publish)));
        p.props = std::move(props);
    }
    // An empty topic is only meaningful with a topic alias (5.0) [MQTT-4.7.3-1].
    if (topic.empty() && !find_property(p.props, property_id::topic_alias)) {
        return errc::topic_name_empty;
    }
    p.message = message_buffer(topic, in.rest());
    return any_packet{std::move(p)};
}

/// A filter of a SUBSCRIBE or UNSUBSCRIBE: wildcards where they may stand [MQTT-4.7.1-2]
/// [MQTT-4.7.1-3], not empty [MQTT-4.7.3-1]; in 5.0 a "$share/" filter needs a group without
/// wildcards and a filter after it [MQTT-4.8.2-1] [MQTT-4.8.2-2].
bool valid_filter(std::string_view filter, protocol_version v) {
    if (!topic::valid_filter(filter)) {
        return false;
    }
    if (v == protocol_version::v5 && filter.starts_with("$share/")) {
        auto shared = topic::parse_shared(filter);
        return shared && topic::valid_filter(shared->filter);
    }
    return true;
}

result<subscription> read_subscription(reader& in, protocol_version v) {
    subscription s;
    COROMQ_TRY(filter, in.utf8());
    if (!valid_filter(filter, v)) {
        return errc::invalid_topic_filter;
    }
    s.filter = filter;
    COROMQ_TRY(options, in.u8());
    if (v == protocol_version::v5) {
        if ((options & 0xC0) != 0 || ((options >> 4) & 0x03) == 3) {
            return errc::invalid_subscription_options; // [MQTT-3.8.3-5]
        }
        s.no_local = (options & 0x04) != 0;
        s.retain_as_published = (options & 0x08) != 0;
        s.retain_policy = retain_handling((options >> 4) & 0x03);
        if (s.no_local && filter.starts_with("$share/")) {
            return errc::invalid_subscription_options; // 5.0 [MQTT-3.8.3-4]
        }
    } else if ((options & 0xFC) != 0) {
        return errc::invalid_subscription_options; // [MQTT-3.8.3-4]
    }
    if ((options & 0x03) == 3) {
        return errc::invalid_qos; // [MQTT-3.8.3-4]
    }
    s.max_qos = qos(options & 0x03);
    return s;
}

result<any_packet> decode_subscribe(reader& in, protocol_version v) {
    subscribe p;
    COROMQ_TRY(id, in.u16());
    if (id == 0) {
        return errc::zero_packet_id; // [MQTT-2.3.1-1]
    }
    p.packet_id = id;
    if (v == protocol_version::v5) {
        COROMQ_TRY(props, read_properties(in, context_of(packet_type::subscribe)));
        p.props = std::move(props);
    }
    while (!in.at_end()) {
        COROMQ_TRY(s, read_subscription(in, v));
        p.subscriptions.push_back(std::move(s));
    }
    if (p.subscriptions.empty()) {
        return errc::empty_subscription_list; // [MQTT-3.8.3-3]
    }
    return any_packet{std::move(p)};
}

result<any_packet> decode_unsubscribe(reader& in, protocol_version v) {
    unsubscribe p;
    COROMQ_TRY(id, in.u16());
    if (id == 0) {
        return errc::zero_packet_id; // [MQTT-2.3.1-1]
    }
    p.packet_id = id;
    if (v == protocol_version::v5) {
        COROMQ_TRY(props, read_properties(in, context_of(packet_type::unsubscribe)));
        p.props = std::move(props);
    }
    while (!in.at_end()) {
        COROMQ_TRY(filter, in.utf8());
        if (!valid_filter(filter, v)) {
            return errc::invalid_topic_filter;
        }
        p.filters.emplace_back(filter);
    }
    if (p.filters.empty()) {
        return errc::empty_subscription_list; // [MQTT-3.10.3-2]
    }
    return any_packet{std::move(p)};
}

constexpr std::array<std::uint8_t, 12> suback_v5_codes{0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                                       0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr std::array<std::uint8_t, 7> unsuback_v5_codes{0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr std::array<std::uint8_t, 29> disconnect_codes{
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr std::array<std::uint8_t, 22> connack_v5_codes{
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};

template <std::size_t N>
bool contains(const std::array<std::uint8_t, N>& codes, std::uint8_t c) {
    return std::find(codes.begin(), codes.end(), c) != codes.end();
}

result<any_packet> decode_suback(reader& in, protocol_version v) {
    suback p;
    COROMQ_TRY(id, in.u16());
    if (id == 0) {
        return errc::zero_packet_id;
    }
    p.packet_id = id;
    if (v == protocol_version::v5) {
        COROMQ_TRY(props, read_properties(in, context_of(packet_type::suback)));
        p.props = std::move(props);
    }
    while (!in.at_end()) {
        COROMQ_TRY(code, in.u8());
        const bool ok = v == protocol_version::v5 ? contains(suback_v5_codes, code)
                                                  : (code <= 2 || code == 0x80);
        if (!ok) {
            return errc::invalid_reason_code;
        }
        p.codes.push_back(reason_code(code));
    }
    if (p.codes.empty()) {
        return errc::empty_subscription_list;
    }
    return any_packet{std::move(p)};
}

result<any_packet> decode_unsuback(reader& in, protocol_version v) {
    unsuback p;
    COROMQ_TRY(id, in.u16());
    if (id == 0) {
        return errc::zero_packet_id;
    }
    p.packet_id = id;
    if (v == protocol_version::v5) {
        COROMQ_TRY(props, read_properties(in, context_of(packet_type::unsuback)));
        p.props = std::move(props);
        while (!in.at_end()) {
            COROMQ_TRY(code, in.u8());
            if (!contains(unsuback_v5_codes, code)) {
                return errc::invalid_reason_code;
            }
            p.codes.push_back(reason_code(code));
        }
        if (p.codes.empty()) {
            return errc::empty_subscription_list;
        }
    }
    if (!in.at_end()) {
        return errc::trailing_bytes;
    }
    return any_packet{std::move(p)};
}

result<any_packet> decode_connack(reader& in, protocol_version v) {
    connack p;
    COROMQ_TRY(flags, in.u8());
    if ((flags & 0xFE) != 0) {
        return errc::invalid_connack_flags; // [MQTT-3.2.2-1]
    }
    p.session_present = (flags & 0x01) != 0;
    COROMQ_TRY(code, in.u8());
    if (v == protocol_version::v5) {
        if (!contains(connack_v5_codes, code)) {
            return errc::invalid_reason_code;
        }
        COROMQ_TRY(props, read_properties(in, context_of(packet_type::connack)));
        p.props = std::move(props);
    } else if (code > 5) {
        return errc::invalid_reason_code;
    }
    p.code = code;
    if (code != 0 && p.session_present) {
        return errc::invalid_connack_flags; // [MQTT-3.2.2-4] (5.0: [MQTT-3.2.2-6])
    }
    if (!in.at_end()) {
        return errc::trailing_bytes;
    }
    return any_packet{std::move(p)};
}

/// DISCONNECT and AUTH in 5.0: an optional reason code and optional properties.
template <class P, std::size_t N>
result<any_packet> decode_reason_only(reader& in, packet_type type,
                                      const std::array<std::uint8_t, N>& allowed) {
    P p;
    if (!in.at_end()) {
        COROMQ_TRY(code, in.u8());
        if (!contains(allowed, code)) {
            return errc::invalid_reason_code;
        }
        p.reason = reason_code(code);
        if (!in.at_end()) {
            COROMQ_TRY(props, read_properties(in, context_of(type)));
            p.props = std::move(props);
        }
    }
    if (!in.at_end()) {
        return errc::trailing_bytes;
    }
    return any_packet{std::move(p)};
}

constexpr std::array<std::uint8_t, 3> auth_codes{0x00, 0x18, 0x19};

/// The fixed-header flags every version requires of a packet type [MQTT-2.2.2-1]
/// (PUBLISH carries DUP/QoS/RETAIN instead and is checked by its decoder).
constexpr bool flags_valid(packet_type t, std::uint8_t flags) noexcept {
    switch (t) {
    case packet_type::publish:
        return true;
    case packet_type::pubrel:
    case packet_type::subscribe:
    case packet_type::unsubscribe:
        // [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]; MQTT 3.1 also let a resent one carry
        // DUP (1010), which `decode` accepts for 3.1 only.
        return flags == 0x02 || flags == 0x0A;
    default:
        return flags == 0;
    }
}

} // namespace

result<std::optional<std::pair<std::uint32_t, std::size_t>>>
read_variable_integer(bytes_view bytes) noexcept {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        if (i >= bytes.size()) {
            return std::optional<std::pair<std::uint32_t, std::size_t>>{};
        }
        value |= std::uint32_t(bytes[i] & 0x7F) << (7 * i);
        if ((bytes[i] & 0x80) == 0) {
            if (i > 0 && bytes[i] == 0) {
                // A trailing zero byte only pads: [MQTT-1.5.5-1] wants the fewest bytes.
                return errc::malformed_remaining_length;
            }
            return std::optional{std::pair{value, i + 1}};
        }
    }
    return errc::malformed_remaining_length; // a fifth byte [MQTT-1.5.5-1]
}

result<std::optional<fixed_header>> parse_fixed_header(bytes_view bytes,
                                                       std::uint32_t max_packet_size) noexcept {
    if (bytes.empty()) {
        return std::optional<fixed_header>{};
    }
    fixed_header h;
    const auto type = bytes[0] >> 4;
    if (type == 0) {
        return errc::reserved_packet_type;
    }
    h.type = packet_type(type);
    h.flags = bytes[0] & 0x0F;
    if (!flags_valid(h.type, h.flags)) {
        return errc::invalid_fixed_header_flags;
    }
    auto len = read_variable_integer(bytes.subspan(1));
    if (!len) {
        return len.error();
    }
    if (!*len) {
        return std::optional<fixed_header>{};
    }
    h.remaining_length = (*len)->first;
    h.size = std::uint8_t(1 + (*len)->second);
    // Checked before a single body byte is read or allocated.
    if (h.packet_size() > max_packet_size) {
        return errc::packet_too_large;
    }
    return std::optional{h};
}

result<connect> decode_connect(const fixed_header& h, bytes_view body) {
    if (h.type != packet_type::connect) {
        return errc::reserved_packet_type;
    }
    if (body.size() != h.remaining_length) {
        return errc::truncated;
    }
    reader in(body);
    connect c;
    COROMQ_TRY(name, in.utf8());
    COROMQ_TRY(level, in.u8());
    if (name == "MQTT") {
        if (level != 4 && level != 5) {
            return errc::unsupported_protocol_version; // [MQTT-3.1.2-2]
        }
    } else if (name == "MQIsdp") {
        if (level != 3) {
            return errc::unsupported_protocol_version;
        }
    } else {
        return errc::invalid_protocol_name; // [MQTT-3.1.2-1]
    }
    c.version = protocol_version(level);
    const bool v5 = c.version == protocol_version::v5;
    COROMQ_TRY(flags, in.u8());
    if (flags & 0x01) {
        return errc::connect_reserved_flag_set; // [MQTT-3.1.2-3]
    }
    c.clean_start = (flags & 0x02) != 0;
    const bool will_flag = (flags & 0x04) != 0;
    const auto will_qos = (flags >> 3) & 0x03;
    const bool will_retain = (flags & 0x20) != 0;
    const bool password_flag = (flags & 0x40) != 0;
    const bool username_flag = (flags & 0x80) != 0;
    if (!will_flag && (will_qos != 0 || will_retain)) {
        return errc::invalid_will_flags; // [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]
    }
    if (will_qos == 3) {
        return errc::invalid_will_flags; // [MQTT-3.1.2-14]
    }
    if (!v5 && password_flag && !username_flag) {
        return errc::password_without_username; // [MQTT-3.1.2-22]
    }
    COROMQ_TRY(keep_alive, in.u16());
    c.keep_alive = keep_alive;
    if (v5) {
        COROMQ_TRY(props, read_properties(in, context_of(packet_type::connect)));
        c.props = std::move(props);
    }
    COROMQ_TRY(client_id, in.utf8()); // [MQTT-3.1.3-4]
    if (c.version == protocol_version::v3_1 && (client_id.empty() || client_id.size() > 23)) {
        return errc::invalid_client_id; // MQTT 3.1: 1 to 23 characters
    }
    c.client_id = client_id;
    if (will_flag) {
        will w;
        w.qos_level = qos(will_qos);
        w.retain = will_retain;
        if (v5) {
            COROMQ_TRY(props, read_properties(in, detail::will_context));
            w.props = std::move(props);
        }
        COROMQ_TRY(topic, in.utf8());
        if (topic.empty()) {
            return errc::topic_name_empty;
        }
        if (has_wildcard(topic)) {
            return errc::topic_name_wildcard;
        }
        COROMQ_TRY(payload, in.binary());
        w.message = message_buffer(topic, payload);
        c.last_will = std::move(w);
    }
    if (username_flag) {
        COROMQ_TRY(username, in.utf8()); // [MQTT-3.1.3-11]
        c.username = std::string(username);
    }
    if (password_flag) {
        COROMQ_TRY(password, in.binary());
        c.password = std::string(password);
    }
    if (!in.at_end()) {
        return errc::trailing_bytes;
    }
    return c;
}

result<any_packet> decode(const fixed_header& h, bytes_view body, protocol_version v) {
    if (body.size() != h.remaining_length) {
        return errc::truncated;
    }
    if (!flags_valid(h.type, h.flags) ||
        (h.type != packet_type::publish && h.flags == 0x0A && v != protocol_version::v3_1)) {
        return errc::invalid_fixed_header_flags;
    }
    reader in(body);
    const bool v5 = v == protocol_version::v5;
    switch (h.type) {
    case packet_type::connect: {
        auto c = decode_connect(h, body);
        if (!c) {
            return c.error();
        }
        return any_packet{std::move(*c)};
    }
    case packet_type::connack:
        return decode_connack(in, v);
    case packet_type::publish:
        return decode_publish(h, in, v);
    case packet_type::puback:
        return decode_ack<puback>(h.type, in, v,
                                  {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99});
    case packet_type::pubrec:
        return decode_ack<pubrec>(h.type, in, v,
                                  {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99});
    case packet_type::pubrel:
        return decode_ack<pubrel>(h.type, in, v, {0x00, 0x92});
    case packet_type::pubcomp:
        return decode_ack<pubcomp>(h.type, in, v, {0x00, 0x92});
    case packet_type::subscribe:
        return decode_subscribe(in, v);
    case packet_type::suback:
        return decode_suback(in, v);
    case packet_type::unsubscribe:
        return decode_unsubscribe(in, v);
    case packet_type::unsuback:
        return decode_unsuback(in, v);
    case packet_type::pingreq:
        if (!in.at_end()) {
            return errc::trailing_bytes;
        }
        return any_packet{pingreq{}};
    case packet_type::pingresp:
        if (!in.at_end()) {
            return errc::trailing_bytes;
        }
        return any_packet{pingresp{}};
    case packet_type::disconnect:
        if (!v5) {
            if (!in.at_end()) {
                return errc::trailing_bytes;
            }
            return any_packet{disconnect{}};
        }
        return decode_reason_only<disconnect>(in, h.type, disconnect_codes);
    case packet_type::auth:
        if (!v5) {
            return errc::reserved_packet_type; // AUTH does not exist before 5.0
        }
        return decode_reason_only<auth>(in, h.type, auth_codes);
    }
    return errc::reserved_packet_type;
}

} // namespace coromq::packet
