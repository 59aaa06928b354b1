// PINGREQ, PINGRESP (sections 3.12, 3.13), DISCONNECT (3.14) and AUTH (5.0 only, 3.15).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

disconnect make_disconnect(std::uint8_t reason, properties props = {}) {
    disconnect d;
    d.reason = static_cast<reason_code>(reason);
    d.props = std::move(props);
    return d;
}

auth make_auth(std::uint8_t reason, properties props = {}) {
    auth a;
    a.reason = static_cast<reason_code>(reason);
    a.props = std::move(props);
    return a;
}

} // namespace

TEST_CASE("PINGREQ and PINGRESP in every version") {
    const byte_vector pingreq_wire{
        0xC0, // PINGREQ, flags 0
        0x00, // remaining length 0
    };
    const byte_vector pingresp_wire{
        0xD0, // PINGRESP, flags 0
        0x00, // remaining length 0
    };
    for (auto v : {v31, v311, v5}) {
        CAPTURE(int(v));
        check_both_ways(pingreq_wire, pingreq{}, v);
        check_both_ways(pingresp_wire, pingresp{}, v);
    }
}

TEST_CASE("DISCONNECT 3.1, 3.1.1 and the 5.0 short form (remaining length 0)") {
    const byte_vector wire{
        0xE0, // DISCONNECT, flags 0
        0x00, // remaining length 0: in 5.0, normal disconnection and no properties
    };
    for (auto v : {v31, v311, v5}) {
        CAPTURE(int(v));
        check_both_ways(wire, disconnect{}, v);
    }
}

TEST_CASE("DISCONNECT 5.0 reason code without properties") {
    const byte_vector reason_only{
        0xE0, // DISCONNECT, flags 0
        0x01, // remaining length 1
        0x04, // reason code: disconnect with will message (no property length: 0 is used)
    };
    const byte_vector with_zero_length{
        0xE0, // DISCONNECT, flags 0
        0x02, // remaining length 2
        0x04, // reason code: disconnect with will message
        0x00, // property length 0
    };
    check_decodes_to(reason_only, make_disconnect(0x04), v5);
    check_decodes_to(with_zero_length, make_disconnect(0x04), v5);
    // success given explicitly decodes like the short form
    check_decodes_to({0xE0, 0x01, 0x00}, disconnect{}, v5);
    const auto encoded = hex(encode_wire(make_disconnect(0x04), v5));
    CAPTURE(encoded);
    CHECK((encoded == hex(reason_only) || encoded == hex(with_zero_length)));
}

TEST_CASE("DISCONNECT 5.0 with properties") {
    const byte_vector wire{
        0xE0,                                              // DISCONNECT, flags 0
        0x1C,                                              // remaining length 28
        0x9C,                                              // reason code: use another server
        0x1A,                                              // property length 26
        0x11, 0x00, 0x00, 0x00, 0x00,                      //   session expiry interval (u32) 0
        0x1C, 0x00, 0x02, 'b',  '2',                       //   server reference "b2"
        0x1F, 0x00, 0x06, 'm',  'o',  'v',  'i', 'n', 'g', // reason string "moving"
        0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'v',           //   user property k=v
    };
    check_both_ways(wire,
                    make_disconnect(0x9C, {num_prop(property_id::session_expiry_interval, 0),
                                           str_prop(property_id::server_reference, "b2"),
                                           str_prop(property_id::reason_string, "moving"),
                                           user_prop("k", "v")}),
                    v5);
}

TEST_CASE("AUTH 5.0 short form (remaining length 0)") {
    const byte_vector wire{
        0xF0, // AUTH, flags 0
        0x00, // remaining length 0: success, no properties
    };
    check_both_ways(wire, auth{}, v5);
}

TEST_CASE("AUTH 5.0 continue authentication with method, data, reason string, user property") {
    const byte_vector wire{
        0xF0,                                         // AUTH, flags 0
        0x1B,                                         // remaining length 27
        0x18,                                         // reason code: continue authentication
        0x19,                                         // property length 25
        0x15, 0x00, 0x05, 'S',  'C',  'R',  'A', 'M', // authentication method "SCRAM"
        0x16, 0x00, 0x03, 0x01, 0x02, 0x03,           //   authentication data (binary) 01 02 03
        0x1F, 0x00, 0x01, 'r',                        //   reason string "r"
        0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'v',      //   user property k=v
    };
    check_both_ways(
        wire,
        make_auth(0x18, {str_prop(property_id::authentication_method, "SCRAM"),
                         str_prop(property_id::authentication_data, "\x01\x02\x03"),
                         str_prop(property_id::reason_string, "r"), user_prop("k", "v")}),
        v5);
}

TEST_CASE("AUTH 5.0 re-authenticate") {
    const byte_vector wire{
        0xF0,                  // AUTH, flags 0
        0x06,                  // remaining length 6
        0x19,                  // reason code: re-authenticate
        0x04,                  // property length 4
        0x15, 0x00, 0x01, 'm', //   authentication method "m"
    };
    check_both_ways(wire, make_auth(0x19, {str_prop(property_id::authentication_method, "m")}), v5);
}

// ---------------------------------------------------------------------------------------------
// Malformed packets
// ---------------------------------------------------------------------------------------------

TEST_CASE("[MQTT-2.2.2-2] PINGREQ, PINGRESP, DISCONNECT, AUTH with flags other than 0000") {
    for (std::uint8_t first : {0xC1, 0xC2, 0xC8, 0xD1, 0xD2, 0xE1, 0xE2, 0xE8, 0xF1, 0xF2}) {
        CAPTURE(int(first));
        CHECK(decode_error({first, 0x00}, v5) == errc::invalid_fixed_header_flags);
        if ((first & 0xF0) != 0xF0) {
            CHECK(decode_error({first, 0x00}, v311) == errc::invalid_fixed_header_flags);
        }
    }
}

TEST_CASE("AUTH (type 15) before MQTT 5.0 is a reserved packet type") {
    CHECK(decode_error({0xF0, 0x00}, v311) == errc::reserved_packet_type);
    CHECK(decode_error({0xF0, 0x00}, v31) == errc::reserved_packet_type);
    CHECK(decode_error({0xF0, 0x02, 0x18, 0x00}, v311) == errc::reserved_packet_type);
}

TEST_CASE("PINGREQ, PINGRESP and 3.x DISCONNECT with a body have trailing bytes") {
    for (auto v : {v31, v311, v5}) {
        CAPTURE(int(v));
        CHECK(decode_error({0xC0, 0x01, 0x00}, v) == errc::trailing_bytes);
        CHECK(decode_error({0xD0, 0x01, 0x00}, v) == errc::trailing_bytes);
    }
    CHECK(decode_error({0xE0, 0x01, 0x00}, v311) == errc::trailing_bytes);
    CHECK(decode_error({0xE0, 0x01, 0x00}, v31) == errc::trailing_bytes);
    // 5.0: bytes after the DISCONNECT / AUTH properties
    CHECK(decode_error({0xE0, 0x03, 0x00, 0x00, 0x00}, v5) == errc::trailing_bytes);
    CHECK(decode_error({0xF0, 0x03, 0x18, 0x00, 0x00}, v5) == errc::trailing_bytes);
}

TEST_CASE("DISCONNECT and AUTH 5.0 property length overrunning the body is truncated") {
    CHECK(decode_error({0xE0, 0x03, 0x00, 0x05, 0x11}, v5) == errc::truncated);
    CHECK(decode_error({0xF0, 0x04, 0x18, 0x04, 0x15, 0x00}, v5) == errc::truncated);
    // a string property cut inside its value
    CHECK(decode_error({0xE0, 0x06, 0x00, 0x04, 0x1F, 0x00, 0x05, 'a'}, v5) == errc::truncated);
}

TEST_CASE("DISCONNECT and AUTH 5.0 reason code the packet may not carry") {
    // DISCONNECT may not carry continue authentication / granted QoS 1 / bad authentication
    // method (a CONNACK code)
    CHECK(decode_error({0xE0, 0x01, 0x18}, v5) == errc::invalid_reason_code);
    CHECK(decode_error({0xE0, 0x01, 0x01}, v5) == errc::invalid_reason_code);
    CHECK(decode_error({0xE0, 0x01, 0x8C}, v5) == errc::invalid_reason_code);
    // AUTH may carry only 0x00, 0x18, 0x19
    CHECK(decode_error({0xF0, 0x02, 0x80, 0x00}, v5) == errc::invalid_reason_code);
    CHECK(decode_error({0xF0, 0x02, 0x04, 0x00}, v5) == errc::invalid_reason_code);
}

TEST_CASE("DISCONNECT and AUTH 5.0 property checks") {
    auto disconnect_with = [](const byte_vector& props) {
        return frame(0xE0, cat({{0x00}, props_block(props)}));
    };
    auto auth_with = [](const byte_vector& props) {
        return frame(0xF0, cat({{0x18}, props_block(props)}));
    };
    CHECK(decode_error(disconnect_with({0x23, 0x00, 0x01}), v5) == errc::property_not_allowed);
    CHECK(decode_error(disconnect_with({0x15, 0x00, 0x01, 'm'}), v5) == errc::property_not_allowed);
    CHECK(
        decode_error(disconnect_with({0x11, 0x00, 0x00, 0x00, 0x01, 0x11, 0x00, 0x00, 0x00, 0x01}),
                     v5) == errc::duplicate_property);
    CHECK(decode_error(disconnect_with({0x40, 0x00}), v5) == errc::invalid_property_id);
    CHECK(decode_error(auth_with({0x11, 0x00, 0x00, 0x00, 0x01}), v5) ==
          errc::property_not_allowed);
    CHECK(decode_error(auth_with({0x15, 0x00, 0x01, 'm', 0x15, 0x00, 0x01, 'm'}), v5) ==
          errc::duplicate_property);
    CHECK(decode_error(auth_with({0x16, 0x00, 0x01, 0x00, 0x16, 0x00, 0x01, 0x00}), v5) ==
          errc::duplicate_property);
    CHECK(decode_error(auth_with({0x15, 0x00, 0x02, 0xC0, 0xAF}), v5) == errc::invalid_utf8);
}
