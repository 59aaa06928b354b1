// CONNACK (3.1.1 section 3.2, 5.0 section 3.2).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

connack make_connack(bool session_present, std::uint8_t code, properties props = {}) {
    connack c;
    c.session_present = session_present;
    c.code = code;
    c.props = std::move(props);
    return c;
}

// A 5.0 CONNACK (success, no session) with the given properties.
byte_vector connack5_with_props(const byte_vector& props) {
    return frame(0x20, cat({{0x00, 0x00}, props_block(props)}));
}

} // namespace

TEST_CASE("CONNACK 3.1 accepted and not authorized") {
    check_both_ways(
        {
            0x20, // CONNACK, flags 0
            0x02, // remaining length 2
            0x00, // reserved (no session present in 3.1)
            0x00, // return code 0: accepted
        },
        make_connack(false, 0x00), v31);
    check_both_ways(
        {
            0x20, // CONNACK, flags 0
            0x02, // remaining length 2
            0x00, // reserved
            0x05, // return code 5: not authorized
        },
        make_connack(false, static_cast<std::uint8_t>(connect_return_code::not_authorized)), v31);
}

TEST_CASE("CONNACK 3.1.1 session present and bad user name or password") {
    check_both_ways(
        {
            0x20, // CONNACK, flags 0
            0x02, // remaining length 2
            0x01, // acknowledge flags: session present
            0x00, // return code 0: accepted
        },
        make_connack(true, 0x00), v311);
    check_both_ways(
        {
            0x20, // CONNACK, flags 0
            0x02, // remaining length 2
            0x00, // acknowledge flags: no session [MQTT-3.2.2-4]
            0x04, // return code 4: bad user name or password
        },
        make_connack(false,
                     static_cast<std::uint8_t>(connect_return_code::bad_user_name_or_password)),
        v311);
}

TEST_CASE("CONNACK 5.0 minimal: success, empty properties") {
    check_both_ways(
        {
            0x20, // CONNACK, flags 0
            0x03, // remaining length 3
            0x00, // acknowledge flags: no session
            0x00, // reason code: success
            0x00, // property length 0
        },
        make_connack(false, 0x00), v5);
}

TEST_CASE("CONNACK 5.0 with a failure reason code") {
    check_both_ways(
        {
            0x20, // CONNACK, flags 0
            0x03, // remaining length 3
            0x00, // acknowledge flags: no session
            0x87, // reason code: not authorized
            0x00, // property length 0
        },
        make_connack(false, static_cast<std::uint8_t>(reason_code::not_authorized)), v5);
}

TEST_CASE("CONNACK 5.0 with every CONNACK property") {
    const byte_vector wire{
        0x20,                                              // CONNACK, flags 0
        0x4A,                                              // remaining length 74
        0x01,                                              // acknowledge flags: session present
        0x00,                                              // reason code: success
        0x47,                                              // property length 71
        0x11, 0x00, 0x00, 0x00, 0x78,                      //   session expiry interval (u32) 120
        0x21, 0x00, 0x0A,                                  //   receive maximum (u16) 10
        0x24, 0x01,                                        //   maximum QoS (byte) 1
        0x25, 0x00,                                        //   retain available (byte) 0
        0x27, 0x00, 0x00, 0x10, 0x00,                      //   maximum packet size (u32) 4096
        0x12, 0x00, 0x06, 'a',  'u',  't',  'o', '-', '1', // assigned client identifier "auto-1"
        0x22, 0x00, 0x05,                                  //   topic alias maximum (u16) 5
        0x1F, 0x00, 0x02, 'o',  'k',                       //   reason string "ok"
        0x26, 0x00, 0x01, 'x',  0x00, 0x01, 'y',           //   user property x=y
        0x28, 0x01,                              //   wildcard subscription available (byte) 1
        0x29, 0x01,                              //   subscription identifier available (byte) 1
        0x2A, 0x00,                              //   shared subscription available (byte) 0
        0x13, 0x00, 0x1E,                        //   server keep alive (u16) 30
        0x1A, 0x00, 0x04, 'r',  'e',  's',  'p', //   response information "resp"
        0x1C, 0x00, 0x03, 's',  'r',  'v',       //   server reference "srv"
        0x15, 0x00, 0x01, 'm',                   //   authentication method "m"
        0x16, 0x00, 0x01, 0x00,                  //   authentication data (binary) 00
    };
    auto expected =
        make_connack(true, 0x00,
                     {
                         num_prop(property_id::session_expiry_interval, 120),
                         num_prop(property_id::receive_maximum, 10),
                         num_prop(property_id::maximum_qos, 1),
                         num_prop(property_id::retain_available, 0),
                         num_prop(property_id::maximum_packet_size, 4096),
                         str_prop(property_id::assigned_client_identifier, "auto-1"),
                         num_prop(property_id::topic_alias_maximum, 5),
                         str_prop(property_id::reason_string, "ok"),
                         user_prop("x", "y"),
                         num_prop(property_id::wildcard_subscription_available, 1),
                         num_prop(property_id::subscription_identifier_available, 1),
                         num_prop(property_id::shared_subscription_available, 0),
                         num_prop(property_id::server_keep_alive, 30),
                         str_prop(property_id::response_information, "resp"),
                         str_prop(property_id::server_reference, "srv"),
                         str_prop(property_id::authentication_method, "m"),
                         str_prop(property_id::authentication_data, std::string(1, '\0')),
                     });
    check_both_ways(wire, expected, v5);
}

// ---------------------------------------------------------------------------------------------
// Malformed CONNACK packets
// ---------------------------------------------------------------------------------------------

TEST_CASE("[MQTT-2.2.2-2] CONNACK with fixed header flags other than 0000 is malformed") {
    CHECK(decode_error({0x21, 0x02, 0x00, 0x00}, v311) == errc::invalid_fixed_header_flags);
    CHECK(decode_error({0x28, 0x03, 0x00, 0x00, 0x00}, v5) == errc::invalid_fixed_header_flags);
}

TEST_CASE("[MQTT-3.2.2-1] CONNACK reserved acknowledge flag bits set is malformed") {
    CHECK(decode_error({0x20, 0x02, 0x02, 0x00}, v311) == errc::invalid_connack_flags);
    CHECK(decode_error({0x20, 0x02, 0x80, 0x00}, v311) == errc::invalid_connack_flags);
    CHECK(decode_error({0x20, 0x03, 0x02, 0x00, 0x00}, v5) == errc::invalid_connack_flags);
}

TEST_CASE("CONNACK truncated and with trailing bytes") {
    CHECK(decode_error({0x20, 0x01, 0x00}, v311) == errc::truncated);
    CHECK(decode_error({0x20, 0x00}, v311) == errc::truncated);
    CHECK(decode_error({0x20, 0x03, 0x00, 0x00, 0x00}, v311) == errc::trailing_bytes);
    // 5.0 CONNACK has no short form: the property length is required
    CHECK(decode_error({0x20, 0x02, 0x00, 0x00}, v5) == errc::truncated);
    CHECK(decode_error({0x20, 0x04, 0x00, 0x00, 0x00, 0x00}, v5) == errc::trailing_bytes);
}

TEST_CASE("CONNACK reason code the packet may not carry") {
    // 3.1.1 return codes 6..255 are reserved
    CHECK(decode_error({0x20, 0x02, 0x00, 0x06}, v311) == errc::invalid_reason_code);
    // 5.0: 0x10 (no matching subscribers) is not a CONNACK reason code
    CHECK(decode_error({0x20, 0x03, 0x00, 0x10, 0x00}, v5) == errc::invalid_reason_code);
    // 5.0: 0x01 (granted QoS 1) is not a CONNACK reason code
    CHECK(decode_error({0x20, 0x03, 0x00, 0x01, 0x00}, v5) == errc::invalid_reason_code);
}

TEST_CASE("CONNACK 5.0 property checks") {
    // topic alias is not allowed on CONNACK
    CHECK(decode_error(connack5_with_props({0x23, 0x00, 0x01}), v5) == errc::property_not_allowed);
    // request problem information is a CONNECT property
    CHECK(decode_error(connack5_with_props({0x17, 0x01}), v5) == errc::property_not_allowed);
    // maximum QoS 2 [MQTT-3.2.2.3.4]
    CHECK(decode_error(connack5_with_props({0x24, 0x02}), v5) == errc::invalid_property_value);
    // retain available 2
    CHECK(decode_error(connack5_with_props({0x25, 0x02}), v5) == errc::invalid_property_value);
    // receive maximum 0
    CHECK(decode_error(connack5_with_props({0x21, 0x00, 0x00}), v5) ==
          errc::invalid_property_value);
    // maximum packet size 0
    CHECK(decode_error(connack5_with_props({0x27, 0x00, 0x00, 0x00, 0x00}), v5) ==
          errc::invalid_property_value);
    // duplicate assigned client identifier
    CHECK(decode_error(connack5_with_props({0x12, 0x00, 0x01, 'a', 0x12, 0x00, 0x01, 'b'}), v5) ==
          errc::duplicate_property);
    // unknown identifier
    CHECK(decode_error(connack5_with_props({0x30, 0x00}), v5) == errc::invalid_property_id);
    // reason string with a lone continuation byte
    CHECK(decode_error(connack5_with_props({0x1F, 0x00, 0x01, 0x80}), v5) == errc::invalid_utf8);
    // property length beyond the body
    CHECK(decode_error(frame(0x20, {0x00, 0x00, 0x05, 0x24, 0x01}), v5) == errc::truncated);
}
