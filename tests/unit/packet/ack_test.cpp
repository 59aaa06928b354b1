// PUBACK, PUBREC, PUBREL, PUBCOMP (3.1.1 sections 3.4-3.7, 5.0 sections 3.4-3.7).
// One template over the four: they share a layout and differ in the first byte
// (PUBREL's flags are 0010 [MQTT-3.6.1-1]) and in the reason codes they may carry.
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

template <class T>
struct ack_traits;

template <>
struct ack_traits<puback> {
    static constexpr std::uint8_t first = 0x40;   // PUBACK, flags 0000
    static constexpr std::uint8_t failure = 0x10; // no matching subscribers
    // packet identifier not found: PUBREL/PUBCOMP only
    static constexpr std::uint8_t not_allowed = 0x92;
    static constexpr std::uint8_t bad_flags[] = {0x41, 0x42, 0x48};
};
template <>
struct ack_traits<pubrec> {
    static constexpr std::uint8_t first = 0x50;   // PUBREC, flags 0000
    static constexpr std::uint8_t failure = 0x97; // quota exceeded
    static constexpr std::uint8_t not_allowed = 0x92;
    static constexpr std::uint8_t bad_flags[] = {0x51, 0x52, 0x58};
};
template <>
struct ack_traits<pubrel> {
    static constexpr std::uint8_t first = 0x62;       // PUBREL, flags 0010
    static constexpr std::uint8_t failure = 0x92;     // packet identifier not found
    static constexpr std::uint8_t not_allowed = 0x10; // no matching subscribers: PUBACK/PUBREC only
    static constexpr std::uint8_t bad_flags[] = {0x60, 0x63, 0x66};
};
template <>
struct ack_traits<pubcomp> {
    static constexpr std::uint8_t first = 0x70;       // PUBCOMP, flags 0000
    static constexpr std::uint8_t failure = 0x92;     // packet identifier not found
    static constexpr std::uint8_t not_allowed = 0x87; // not authorized: PUBACK/PUBREC only
    static constexpr std::uint8_t bad_flags[] = {0x71, 0x72, 0x78};
};

template <class T>
T make_ack(std::uint16_t id, std::uint8_t reason = 0x00, properties props = {}) {
    T a;
    a.packet_id = id;
    a.reason = static_cast<reason_code>(reason);
    a.props = std::move(props);
    return a;
}

} // namespace

TEST_CASE_TEMPLATE("ack packets: packet identifier only, every version", T, puback, pubrec, pubrel,
                   pubcomp) {
    constexpr auto first = ack_traits<T>::first;
    const byte_vector wire{
        first,      // PUBACK 0x40 / PUBREC 0x50 / PUBREL 0x62 / PUBCOMP 0x70
        0x02,       // remaining length 2
        0x00, 0x07, // packet identifier 7
    };
    // 3.1 and 3.1.1 have only this form; in 5.0 it is the short form of success with no
    // properties [MQTT-3.4.2.1].
    check_both_ways(wire, make_ack<T>(7), v31);
    check_both_ways(wire, make_ack<T>(7), v311);
    check_both_ways(wire, make_ack<T>(7), v5);
}

TEST_CASE_TEMPLATE("ack packets 5.0: reason code with properties", T, puback, pubrec, pubrel,
                   pubcomp) {
    constexpr auto first = ack_traits<T>::first;
    constexpr auto failure = ack_traits<T>::failure;
    const byte_vector wire{
        first,                                     // PUBACK/PUBREC/PUBREL/PUBCOMP
        0x12,                                      // remaining length 18
        0x00,    0x07,                             // packet identifier 7
        failure,                                   // reason code
        0x0E,                                      // property length 14
        0x1F,    0x00, 0x04, 'f', 'a',  'i',  'l', //   reason string "fail"
        0x26,    0x00, 0x01, 'a', 0x00, 0x01, 'b', //   user property a=b
    };
    check_both_ways(
        wire,
        make_ack<T>(7, failure,
                    {str_prop(property_id::reason_string, "fail"), user_prop("a", "b")}),
        v5);
}

TEST_CASE_TEMPLATE("ack packets 5.0: success with properties keeps the reason byte", T, puback,
                   pubrec, pubrel, pubcomp) {
    constexpr auto first = ack_traits<T>::first;
    const byte_vector wire{
        first,                                   // PUBACK/PUBREC/PUBREL/PUBCOMP
        0x0B,                                    // remaining length 11
        0x01,  0x00,                             // packet identifier 256
        0x00,                                    // reason code: success
        0x07,                                    // property length 7
        0x26,  0x00, 0x01, 'a', 0x00, 0x01, 'b', //   user property a=b
    };
    check_both_ways(wire, make_ack<T>(256, 0x00, {user_prop("a", "b")}), v5);
}

TEST_CASE_TEMPLATE("ack packets 5.0: reason code without properties", T, puback, pubrec, pubrel,
                   pubcomp) {
    constexpr auto first = ack_traits<T>::first;
    constexpr auto failure = ack_traits<T>::failure;
    const byte_vector reason_only{
        first,         // PUBACK/PUBREC/PUBREL/PUBCOMP
        0x03,          // remaining length 3
        0x00,    0x07, // packet identifier 7
        failure,       // reason code; no property length: 0 is used [MQTT-3.4.2.2.1]
    };
    const byte_vector with_zero_length{
        first,         // PUBACK/PUBREC/PUBREL/PUBCOMP
        0x04,          // remaining length 4
        0x00,    0x07, // packet identifier 7
        failure,       // reason code
        0x00,          // property length 0
    };
    const byte_vector success_reason_only{
        first,       // PUBACK/PUBREC/PUBREL/PUBCOMP
        0x03,        // remaining length 3
        0x00,  0x07, // packet identifier 7
        0x00,        // reason code: success
    };
    check_decodes_to(reason_only, make_ack<T>(7, failure), v5);
    check_decodes_to(with_zero_length, make_ack<T>(7, failure), v5);
    check_decodes_to(success_reason_only, make_ack<T>(7), v5);
    // Both wire forms are valid for the encoder; it must pick one of them.
    const auto encoded = hex(encode_wire(make_ack<T>(7, failure), v5));
    CAPTURE(encoded);
    CHECK((encoded == hex(reason_only) || encoded == hex(with_zero_length)));
}

// ---------------------------------------------------------------------------------------------
// Malformed acks
// ---------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("[MQTT-2.2.2-2] [MQTT-3.6.1-1] ack with wrong fixed header flags is malformed",
                   T, puback, pubrec, pubrel, pubcomp) {
    for (auto first : ack_traits<T>::bad_flags) {
        CAPTURE(int(first));
        CHECK(decode_error({first, 0x02, 0x00, 0x01}, v311) == errc::invalid_fixed_header_flags);
        CHECK(decode_error({first, 0x02, 0x00, 0x01}, v5) == errc::invalid_fixed_header_flags);
    }
}

TEST_CASE_TEMPLATE("[MQTT-2.3.1-1] ack with packet identifier 0 is malformed", T, puback, pubrec,
                   pubrel, pubcomp) {
    constexpr auto first = ack_traits<T>::first;
    CHECK(decode_error({first, 0x02, 0x00, 0x00}, v31) == errc::zero_packet_id);
    CHECK(decode_error({first, 0x02, 0x00, 0x00}, v311) == errc::zero_packet_id);
    CHECK(decode_error({first, 0x02, 0x00, 0x00}, v5) == errc::zero_packet_id);
}

TEST_CASE_TEMPLATE("ack truncated and with trailing bytes", T, puback, pubrec, pubrel, pubcomp) {
    constexpr auto first = ack_traits<T>::first;
    CHECK(decode_error({first, 0x00}, v311) == errc::truncated);
    CHECK(decode_error({first, 0x01, 0x00}, v311) == errc::truncated);
    CHECK(decode_error({first, 0x01, 0x00}, v5) == errc::truncated);
    // 3.1.1 has no reason code: a third byte is trailing
    CHECK(decode_error({first, 0x03, 0x00, 0x01, 0x00}, v311) == errc::trailing_bytes);
    CHECK(decode_error({first, 0x03, 0x00, 0x01, 0x00}, v31) == errc::trailing_bytes);
    // 5.0: bytes after the properties
    CHECK(decode_error({first, 0x05, 0x00, 0x01, 0x00, 0x00, 0xAA}, v5) == errc::trailing_bytes);
    // 5.0: property length beyond the body
    CHECK(decode_error({first, 0x06, 0x00, 0x01, 0x00, 0x05, 0x1F, 0x00}, v5) == errc::truncated);
}

TEST_CASE_TEMPLATE("ack 5.0 reason code the packet may not carry", T, puback, pubrec, pubrel,
                   pubcomp) {
    constexpr auto first = ack_traits<T>::first;
    constexpr auto bad = ack_traits<T>::not_allowed;
    CHECK(decode_error({first, 0x03, 0x00, 0x01, bad}, v5) == errc::invalid_reason_code);
    CHECK(decode_error({first, 0x04, 0x00, 0x01, 0x05, 0x00}, v5) == errc::invalid_reason_code);
}

TEST_CASE_TEMPLATE("ack 5.0 property checks", T, puback, pubrec, pubrel, pubcomp) {
    constexpr auto first = ack_traits<T>::first;
    auto with_props = [&](const byte_vector& props) {
        return frame(first, cat({{0x00, 0x01, 0x00}, props_block(props)}));
    };
    // topic alias is not allowed on an ack
    CHECK(decode_error(with_props({0x23, 0x00, 0x01}), v5) == errc::property_not_allowed);
    // subscription identifier is not allowed on an ack
    CHECK(decode_error(with_props({0x0B, 0x01}), v5) == errc::property_not_allowed);
    // reason string twice
    CHECK(decode_error(with_props({0x1F, 0x00, 0x01, 'a', 0x1F, 0x00, 0x01, 'b'}), v5) ==
          errc::duplicate_property);
    // undefined identifier
    CHECK(decode_error(with_props({0x7E, 0x00}), v5) == errc::invalid_property_id);
    // reason string with an overlong encoding
    CHECK(decode_error(with_props({0x1F, 0x00, 0x02, 0xC0, 0xAF}), v5) == errc::invalid_utf8);
    // user properties may repeat
    CHECK(decode_error(with_props({0x26, 0x00, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00}),
                       v5) == errc::ok);
}

TEST_CASE("MQTT 3.1: PUBREL retransmitted with DUP set (flags 1010) is accepted") {
    // MQTT 3.1 section 2.1: "DUP ... is set when the client or server attempts to re-deliver a
    // PUBLISH, PUBREL, SUBSCRIBE or UNSUBSCRIBE message" (the QoS 1 messages). 3.1.1 fixed the
    // flags to 0010 [MQTT-3.6.1-1]; codec.hpp says version-dependent flags are checked by decode.
    const byte_vector wire{
        0x6A,       // PUBREL, flags 1010: DUP, QoS 1
        0x02,       // remaining length 2
        0x00, 0x07, // packet identifier 7
    };
    CHECK(decode_error(wire, v31) == errc::ok);
    CHECK(decode_error(wire, v311) == errc::invalid_fixed_header_flags);
}
