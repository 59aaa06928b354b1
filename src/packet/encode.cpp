#include "properties.hpp"

#include <coromq/packet/codec.hpp>

namespace coromq::packet {
namespace {

using detail::property_type;

void put_u8(std::string& out, std::uint8_t v) {
    out.push_back(char(v));
}
void put_u16(std::string& out, std::uint16_t v) {
    out.push_back(char(v >> 8));
    out.push_back(char(v & 0xFF));
}
void put_u32(std::string& out, std::uint32_t v) {
    put_u16(out, std::uint16_t(v >> 16));
    put_u16(out, std::uint16_t(v & 0xFFFF));
}
void put_string(std::string& out, std::string_view s) {
    put_u16(out, std::uint16_t(s.size()));
    out.append(s);
}

std::size_t property_size(const property& p) {
    const auto rule = detail::rule_of(std::uint8_t(p.id));
    std::size_t n = 1; // identifiers below 0x80 take one byte
    switch (rule.type) {
    case property_type::byte:
        return n + 1;
    case property_type::two_byte_integer:
        return n + 2;
    case property_type::four_byte_integer:
        return n + 4;
    case property_type::variable_byte_integer:
        return n + variable_integer_size(p.number);
    case property_type::utf8_string:
    case property_type::binary_data:
        return n + 2 + p.value.size();
    case property_type::utf8_string_pair:
        return n + 4 + p.key.size() + p.value.size();
    case property_type::invalid:
        return 0;
    }
    return 0;
}

std::size_t properties_size(const properties& props) {
    std::size_t n = 0;
    for (const auto& p : props) {
        n += property_size(p);
    }
    return n;
}

/// Property length followed by the properties.
void put_properties(std::string& out, const properties& props) {
    append_variable_integer(out, std::uint32_t(properties_size(props)));
    for (const auto& p : props) {
        const auto rule = detail::rule_of(std::uint8_t(p.id));
        if (rule.type == property_type::invalid) {
            continue;
        }
        put_u8(out, std::uint8_t(p.id));
        switch (rule.type) {
        case property_type::byte:
            put_u8(out, std::uint8_t(p.number));
            break;
        case property_type::two_byte_integer:
            put_u16(out, std::uint16_t(p.number));
            break;
        case property_type::four_byte_integer:
            put_u32(out, p.number);
            break;
        case property_type::variable_byte_integer:
            append_variable_integer(out, p.number);
            break;
        case property_type::utf8_string:
        case property_type::binary_data:
            put_string(out, p.value);
            break;
        case property_type::utf8_string_pair:
            put_string(out, p.key);
            put_string(out, p.value);
            break;
        case property_type::invalid:
            break;
        }
    }
}

std::size_t properties_field_size(const properties& props) {
    const auto n = properties_size(props);
    return variable_integer_size(std::uint32_t(n)) + n;
}

/// Appends the fixed header, then lets `body` append exactly `body_size` bytes.
template <class Body>
void put_packet(std::string& out, packet_type t, std::uint8_t flags, std::size_t body_size,
                Body&& body) {
    out.reserve(out.size() + 5 + body_size);
    put_u8(out, std::uint8_t((std::uint8_t(t) << 4) | flags));
    append_variable_integer(out, std::uint32_t(body_size));
    body();
}

template <class Ack>
void encode_ack(const Ack& a, packet_type t, std::uint8_t flags, protocol_version v,
                std::string& out) {
    // 5.0 short forms: the reason code and the property length may be omitted when the
    // reason is success and there are no properties (3.4.2.1).
    const bool v5 = v == protocol_version::v5;
    const bool with_reason = v5 && (a.reason != reason_code::success || !a.props.empty());
    const bool with_props = v5 && !a.props.empty();
    const std::size_t size =
        2 + (with_reason ? 1 : 0) + (with_props ? properties_field_size(a.props) : 0);
    put_packet(out, t, flags, size, [&] {
        put_u16(out, a.packet_id);
        if (with_reason) {
            put_u8(out, std::uint8_t(a.reason));
        }
        if (with_props) {
            put_properties(out, a.props);
        }
    });
}

template <class P>
void encode_reason_only(const P& p, packet_type t, protocol_version v, std::string& out) {
    const bool v5 = v == protocol_version::v5;
    const bool with_reason = v5 && (p.reason != reason_code::success || !p.props.empty());
    const bool with_props = v5 && !p.props.empty();
    const std::size_t size =
        (with_reason ? 1 : 0) + (with_props ? properties_field_size(p.props) : 0);
    put_packet(out, t, 0, size, [&] {
        if (with_reason) {
            put_u8(out, std::uint8_t(p.reason));
        }
        if (with_props) {
            put_properties(out, p.props);
        }
    });
}

std::uint8_t publish_flags(const publish& p) {
    return std::uint8_t((p.dup ? 0x08 : 0) | (std::uint8_t(p.qos_level) << 1) |
                        (p.retain ? 0x01 : 0));
}

std::size_t publish_body_size(const publish& p, protocol_version v) {
    return 2 + p.topic().size() + (p.qos_level != qos::at_most_once ? 2 : 0) +
           (v == protocol_version::v5 ? properties_field_size(p.props) : 0) + p.payload().size();
}

} // namespace

std::size_t variable_integer_size(std::uint32_t value) noexcept {
    return value < 128 ? 1 : value < 16'384 ? 2 : value < 2'097'152 ? 3 : 4;
}

void append_variable_integer(std::string& out, std::uint32_t value) {
    do {
        auto byte = std::uint8_t(value & 0x7F);
        value >>= 7;
        if (value != 0) {
            byte |= 0x80;
        }
        out.push_back(char(byte));
    } while (value != 0);
}

void encode(const connect& c, std::string& out) {
    const bool v5 = c.version == protocol_version::v5;
    const std::string_view name = c.version == protocol_version::v3_1 ? "MQIsdp" : "MQTT";
    std::size_t size = 2 + name.size() + 1 + 1 + 2 + 2 + c.client_id.size();
    if (v5) {
        size += properties_field_size(c.props);
    }
    if (c.last_will) {
        size += 4 + c.last_will->message.topic().size() + c.last_will->message.payload().size();
        if (v5) {
            size += properties_field_size(c.last_will->props);
        }
    }
    if (c.username) {
        size += 2 + c.username->size();
    }
    if (c.password) {
        size += 2 + c.password->size();
    }
    std::uint8_t flags = c.clean_start ? 0x02 : 0;
    if (c.last_will) {
        flags |= 0x04 | std::uint8_t(std::uint8_t(c.last_will->qos_level) << 3) |
                 (c.last_will->retain ? 0x20 : 0);
    }
    if (c.password) {
        flags |= 0x40;
    }
    if (c.username) {
        flags |= 0x80;
    }
    put_packet(out, packet_type::connect, 0, size, [&] {
        put_string(out, name);
        put_u8(out, std::uint8_t(c.version));
        put_u8(out, flags);
        put_u16(out, c.keep_alive);
        if (v5) {
            put_properties(out, c.props);
        }
        put_string(out, c.client_id);
        if (c.last_will) {
            if (v5) {
                put_properties(out, c.last_will->props);
            }
            put_string(out, c.last_will->message.topic());
            put_string(out, c.last_will->message.payload());
        }
        if (c.username) {
            put_string(out, *c.username);
        }
        if (c.password) {
            put_string(out, *c.password);
        }
    });
}

void encode(const connack& p, protocol_version v, std::string& out) {
    const bool v5 = v == protocol_version::v5;
    const std::size_t size = 2 + (v5 ? properties_field_size(p.props) : 0);
    put_packet(out, packet_type::connack, 0, size, [&] {
        put_u8(out, p.session_present ? 1 : 0);
        put_u8(out, p.code);
        if (v5) {
            put_properties(out, p.props);
        }
    });
}

void encode_publish_header(const publish& p, protocol_version v, std::string& out) {
    const std::size_t size = publish_body_size(p, v);
    put_u8(out, std::uint8_t((std::uint8_t(packet_type::publish) << 4) | publish_flags(p)));
    append_variable_integer(out, std::uint32_t(size));
    put_string(out, p.topic());
    if (p.qos_level != qos::at_most_once) {
        put_u16(out, p.packet_id);
    }
    if (v == protocol_version::v5) {
        put_properties(out, p.props);
    }
}

void encode(const publish& p, protocol_version v, std::string& out) {
    out.reserve(out.size() + encoded_size(p, v));
    encode_publish_header(p, v, out);
    out.append(p.payload());
}

std::size_t encoded_size(const publish& p, protocol_version v) {
    const auto body = publish_body_size(p, v);
    return 1 + variable_integer_size(std::uint32_t(body)) + body;
}

void encode(const puback& p, protocol_version v, std::string& out) {
    encode_ack(p, packet_type::puback, 0, v, out);
}
void encode(const pubrec& p, protocol_version v, std::string& out) {
    encode_ack(p, packet_type::pubrec, 0, v, out);
}
void encode(const pubrel& p, protocol_version v, std::string& out) {
    encode_ack(p, packet_type::pubrel, 0x02, v, out); // [MQTT-3.6.1-1]
}
void encode(const pubcomp& p, protocol_version v, std::string& out) {
    encode_ack(p, packet_type::pubcomp, 0, v, out);
}

void encode(const subscribe& p, protocol_version v, std::string& out) {
    const bool v5 = v == protocol_version::v5;
    std::size_t size = 2 + (v5 ? properties_field_size(p.props) : 0);
    for (const auto& s : p.subscriptions) {
        size += 2 + s.filter.size() + 1;
    }
    put_packet(out, packet_type::subscribe, 0x02, size, [&] {
        put_u16(out, p.packet_id);
        if (v5) {
            put_properties(out, p.props);
        }
        for (const auto& s : p.subscriptions) {
            put_string(out, s.filter);
            std::uint8_t options = std::uint8_t(s.max_qos);
            if (v5) {
                options |=
                    std::uint8_t((s.no_local ? 0x04 : 0) | (s.retain_as_published ? 0x08 : 0) |
                                 (std::uint8_t(s.retain_policy) << 4));
            }
            put_u8(out, options);
        }
    });
}

void encode(const suback& p, protocol_version v, std::string& out) {
    const bool v5 = v == protocol_version::v5;
    const std::size_t size = 2 + (v5 ? properties_field_size(p.props) : 0) + p.codes.size();
    put_packet(out, packet_type::suback, 0, size, [&] {
        put_u16(out, p.packet_id);
        if (v5) {
            put_properties(out, p.props);
        }
        for (auto c : p.codes) {
            put_u8(out, std::uint8_t(c));
        }
    });
}

void encode(const unsubscribe& p, protocol_version v, std::string& out) {
    const bool v5 = v == protocol_version::v5;
    std::size_t size = 2 + (v5 ? properties_field_size(p.props) : 0);
    for (const auto& f : p.filters) {
        size += 2 + f.size();
    }
    put_packet(out, packet_type::unsubscribe, 0x02, size, [&] {
        put_u16(out, p.packet_id);
        if (v5) {
            put_properties(out, p.props);
        }
        for (const auto& f : p.filters) {
            put_string(out, f);
        }
    });
}

void encode(const unsuback& p, protocol_version v, std::string& out) {
    const bool v5 = v == protocol_version::v5;
    const std::size_t size = 2 + (v5 ? properties_field_size(p.props) + p.codes.size() : 0);
    put_packet(out, packet_type::unsuback, 0, size, [&] {
        put_u16(out, p.packet_id);
        if (v5) {
            put_properties(out, p.props);
            for (auto c : p.codes) {
                put_u8(out, std::uint8_t(c));
            }
        }
    });
}

void encode(const pingreq&, protocol_version, std::string& out) {
    put_u8(out, std::uint8_t(packet_type::pingreq) << 4);
    put_u8(out, 0);
}
void encode(const pingresp&, protocol_version, std::string& out) {
    put_u8(out, std::uint8_t(packet_type::pingresp) << 4);
    put_u8(out, 0);
}

void encode(const disconnect& p, protocol_version v, std::string& out) {
    encode_reason_only(p, packet_type::disconnect, v, out);
}
void encode(const auth& p, protocol_version v, std::string& out) {
    encode_reason_only(p, packet_type::auth, v, out);
}

void encode(const any_packet& p, protocol_version v, std::string& out) {
    std::visit(
        [&](const auto& packet) {
            if constexpr (std::is_same_v<std::decay_t<decltype(packet)>, connect>) {
                encode(packet, out);
            } else {
                encode(packet, v, out);
            }
        },
        p);
}

} // namespace coromq::packet
