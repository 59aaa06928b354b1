#include <coromq/packet/types.hpp>

#include <cstring>

namespace coromq::packet {

const property* find_property(const properties& props, property_id id) noexcept {
    for (const auto& p : props) {
        if (p.id == id) {
            return &p;
        }
    }
    return nullptr;
}

message_buffer::message_buffer(std::string_view topic, std::string_view payload)
    : topic_size_(static_cast<std::uint32_t>(topic.size()))
    , payload_size_(static_cast<std::uint32_t>(payload.size())) {
    // One allocation holds both; an empty message still gets storage so `empty()` means
    // "no message" rather than "no bytes".
    auto data = std::make_shared_for_overwrite<char[]>(topic.size() + payload.size() + 1);
    if (!topic.empty()) {
        std::memcpy(data.get(), topic.data(), topic.size());
    }
    if (!payload.empty()) {
        std::memcpy(data.get() + topic.size(), payload.data(), payload.size());
    }
    data_ = std::move(data);
}

packet_type type_of(const any_packet& p) noexcept {
    return static_cast<packet_type>(p.index() + 1);
}

const char* to_string(packet_type t) noexcept {
    switch (t) {
    case packet_type::connect:
        return "CONNECT";
    case packet_type::connack:
        return "CONNACK";
    case packet_type::publish:
        return "PUBLISH";
    case packet_type::puback:
        return "PUBACK";
    case packet_type::pubrec:
        return "PUBREC";
    case packet_type::pubrel:
        return "PUBREL";
    case packet_type::pubcomp:
        return "PUBCOMP";
    case packet_type::subscribe:
        return "SUBSCRIBE";
    case packet_type::suback:
        return "SUBACK";
    case packet_type::unsubscribe:
        return "UNSUBSCRIBE";
    case packet_type::unsuback:
        return "UNSUBACK";
    case packet_type::pingreq:
        return "PINGREQ";
    case packet_type::pingresp:
        return "PINGRESP";
    case packet_type::disconnect:
        return "DISCONNECT";
    case packet_type::auth:
        return "AUTH";
    }
    return "RESERVED";
}

} // namespace coromq::packet
