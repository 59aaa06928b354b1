#include <coromq/packet/error.hpp>

#include <string>

namespace coromq::packet {

const char* to_string(errc e) noexcept {
    switch (e) {
    case errc::ok:
        return "ok";
    case errc::malformed_remaining_length:
        return "malformed remaining length";
    case errc::packet_too_large:
        return "packet too large";
    case errc::reserved_packet_type:
        return "reserved packet type";
    case errc::invalid_fixed_header_flags:
        return "invalid fixed header flags";
    case errc::truncated:
        return "truncated packet";
    case errc::trailing_bytes:
        return "trailing bytes after the packet";
    case errc::invalid_utf8:
        return "invalid UTF-8 string";
    case errc::utf8_contains_null:
        return "UTF-8 string contains U+0000";
    case errc::malformed_variable_integer:
        return "malformed variable byte integer";
    case errc::invalid_protocol_name:
        return "invalid protocol name";
    case errc::unsupported_protocol_version:
        return "unsupported protocol version";
    case errc::connect_reserved_flag_set:
        return "CONNECT reserved flag set";
    case errc::invalid_will_flags:
        return "invalid will flags";
    case errc::password_without_username:
        return "password flag without user name flag";
    case errc::invalid_client_id:
        return "invalid client identifier";
    case errc::invalid_qos:
        return "invalid QoS";
    case errc::dup_with_qos0:
        return "DUP flag set on a QoS 0 PUBLISH";
    case errc::topic_name_wildcard:
        return "wildcard in topic name";
    case errc::topic_name_empty:
        return "empty topic name";
    case errc::zero_packet_id:
        return "packet identifier 0";
    case errc::empty_subscription_list:
        return "no topic filter";
    case errc::invalid_topic_filter:
        return "invalid topic filter";
    case errc::invalid_subscription_options:
        return "invalid subscription options";
    case errc::invalid_property_id:
        return "invalid property identifier";
    case errc::property_not_allowed:
        return "property not allowed on this packet";
    case errc::duplicate_property:
        return "duplicate property";
    case errc::invalid_property_value:
        return "invalid property value";
    case errc::invalid_reason_code:
        return "invalid reason code";
    case errc::invalid_connack_flags:
        return "invalid CONNACK flags";
    }
    return "unknown codec error";
}

namespace {
class codec_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "coromq.packet"; }
    std::string message(int ev) const override { return to_string(static_cast<errc>(ev)); }
};
} // namespace

const boost::system::error_category& category() noexcept {
    static const codec_category instance;
    return instance;
}

} // namespace coromq::packet
