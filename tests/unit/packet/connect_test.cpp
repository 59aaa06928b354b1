// CONNECT (3.1 section 3.1, 3.1.1 section 3.1, 5.0 section 3.1): byte vectors both ways and
// one case per malformed rule.
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

// The variable header of a CONNECT up to and including the keep alive, for malformed cases.
byte_vector mqtt_header(std::uint8_t level, std::uint8_t flags, std::uint16_t keep_alive = 0) {
    return cat({str("MQTT"),
                {level, flags, static_cast<std::uint8_t>(keep_alive >> 8),
                 static_cast<std::uint8_t>(keep_alive & 0xFF)}});
}

// A 5.0 CONNECT with client id "c" and the given properties.
byte_vector connect5_with_props(const byte_vector& props) {
    return frame(0x10, cat({mqtt_header(5, 0x02), props_block(props), str("c")}));
}

// A 5.0 CONNECT with a will on topic "w", payload "p", and the given will properties.
byte_vector connect5_with_will_props(const byte_vector& will_props) {
    return frame(0x10, cat({mqtt_header(5, 0x06), props_block({}), str("c"),
                            props_block(will_props), str("w"), str("p")}));
}

// A 3.1.1 CONNECT with clean session and the given client id bytes.
byte_vector connect311_client_id(const byte_vector& id_bytes) {
    byte_vector len{static_cast<std::uint8_t>(id_bytes.size() >> 8),
                    static_cast<std::uint8_t>(id_bytes.size())};
    return frame(0x10, cat({mqtt_header(4, 0x02), len, id_bytes}));
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Valid packets, both ways
// ---------------------------------------------------------------------------------------------

TEST_CASE("CONNECT 3.1 (MQIsdp, level 3) with will, user name and password") {
    const byte_vector wire{
        0x10,                                     // CONNECT, flags 0
        0x25,                                     // remaining length 37
        0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
        0x03,                                     // protocol level 3 (3.1)
        0xCE,                           // user name, password, will QoS 1, will, clean session
        0x00, 0x3C,                     // keep alive 60
        0x00, 0x04, 'c', 'l', 'i', '1', // client id "cli1"
        0x00, 0x03, 'w', '/', 't',      // will topic "w/t"
        0x00, 0x02, 'b', 'y',           // will message "by"
        0x00, 0x04, 'u', 's', 'e', 'r', // user name "user"
        0x00, 0x02, 'p', 'w',           // password "pw"
    };
    connect expected;
    expected.version = protocol_version::v3_1;
    expected.clean_start = true;
    expected.keep_alive = 60;
    expected.client_id = "cli1";
    expected.last_will = will{message_buffer("w/t", "by"), qos::at_least_once, false, {}};
    expected.username = "user";
    expected.password = "pw";
    check_both_ways(wire, expected, v31);
}

TEST_CASE("CONNECT 3.1 minimal: clean session, no will, no credentials") {
    const byte_vector wire{
        0x10,                                     // CONNECT, flags 0
        0x0F,                                     // remaining length 15
        0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
        0x03,                                     // protocol level 3
        0x02,                                     // clean session
        0x00, 0x00,                               // keep alive 0
        0x00, 0x01, 'a',                          // client id "a"
    };
    connect expected;
    expected.version = protocol_version::v3_1;
    expected.client_id = "a";
    check_both_ways(wire, expected, v31);
}

TEST_CASE("CONNECT 3.1.1 minimal: clean session and an empty client id") {
    const byte_vector wire{
        0x10,                           // CONNECT, flags 0
        0x0C,                           // remaining length 12
        0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
        0x04,                           // protocol level 4 (3.1.1)
        0x02,                           // clean session
        0x00, 0x00,                     // keep alive 0
        0x00, 0x00,                     // client id "" [MQTT-3.1.3-6]
    };
    connect expected;
    expected.version = protocol_version::v3_1_1;
    expected.clean_start = true;
    expected.client_id = "";
    check_both_ways(wire, expected, v311);
}

TEST_CASE("CONNECT 3.1.1 with retained QoS 2 will, user name and binary password") {
    const byte_vector wire{
        0x10,                              // CONNECT, flags 0
        0x30,                              // remaining length 48
        0x00, 0x04, 'M',  'Q',  'T',  'T', // protocol name "MQTT"
        0x04,                              // protocol level 4
        0xF4,       // user name, password, will retain, will QoS 2, will; clean session 0
        0x01, 0x2C, // keep alive 300
        0x00, 0x05, 'd',  'e',  'v',  '-', '1',                          // client id "dev-1"
        0x00, 0x0C,                                                      // will topic length 12
        's',  't',  'a',  't',  'u',  's', '/', 'd', 'e', 'v', '-', '1', //   "status/dev-1"
        0x00, 0x03, 'o',  'f',  'f',                                     // will message "off"
        0x00, 0x05, 'a',  'l',  'i',  'c', 'e',                          // user name "alice"
        0x00, 0x03, 0x00, 0xFF, 0x7F, // password: binary 00 ff 7f
    };
    connect expected;
    expected.version = protocol_version::v3_1_1;
    expected.clean_start = false;
    expected.keep_alive = 300;
    expected.client_id = "dev-1";
    expected.last_will = will{message_buffer("status/dev-1", "off"), qos::exactly_once, true, {}};
    expected.username = "alice";
    expected.password = std::string("\x00\xFF\x7F", 3);
    check_both_ways(wire, expected, v311);
}

TEST_CASE("CONNECT 3.1.1 with user name only and a multi-byte UTF-8 user name") {
    const byte_vector wire{
        0x10,                                     // CONNECT, flags 0
        0x15,                                     // remaining length 21
        0x00, 0x04, 'M',  'Q',  'T',  'T',        // protocol name "MQTT"
        0x04,                                     // protocol level 4
        0x82,                                     // user name, clean session
        0xFF, 0xFF,                               // keep alive 65535
        0x00, 0x02, 'i',  'd',                    // client id "id"
        0x00, 0x05, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, // user name "é€"
    };
    connect expected;
    expected.version = protocol_version::v3_1_1;
    expected.keep_alive = 65535;
    expected.client_id = "id";
    expected.username = "\xC3\xA9\xE2\x82\xAC";
    check_both_ways(wire, expected, v311);
}

TEST_CASE("CONNECT 5.0 minimal: empty properties and empty client id") {
    const byte_vector wire{
        0x10,                           // CONNECT, flags 0
        0x0D,                           // remaining length 13
        0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
        0x05,                           // protocol level 5
        0x02,                           // clean start
        0x00, 0x00,                     // keep alive 0
        0x00,                           // property length 0
        0x00, 0x00,                     // client id ""
    };
    connect expected;
    expected.version = protocol_version::v5;
    expected.client_id = "";
    check_both_ways(wire, expected, v5);
}

TEST_CASE("CONNECT 5.0 with properties of every type, will properties and credentials") {
    const byte_vector wire{
        0x10,                              // CONNECT, flags 0
        0x7B,                              // remaining length 123
        0x00, 0x04, 'M',  'Q',  'T',  'T', // protocol name "MQTT"
        0x05,                              // protocol level 5
        0xCE,                              // user name, password, will QoS 1, will, clean start
        0x00, 0x0A,                        // keep alive 10
        0x33,                              // property length 51
        0x11, 0x00, 0x00, 0x0E, 0x10,      //   session expiry interval (u32) 3600
        0x21, 0x00, 0x14,                  //   receive maximum (u16) 20
        0x27, 0x00, 0x10, 0x00, 0x00,      //   maximum packet size (u32) 1048576
        0x22, 0x00, 0x0A,                  //   topic alias maximum (u16) 10
        0x19, 0x01,                        //   request response information (byte) 1
        0x17, 0x00,                        //   request problem information (byte) 0
        0x26, 0x00, 0x02, 'k',  '1',  0x00, 0x02, 'v', '1', // user property k1=v1
        0x15, 0x00, 0x05, 'S',  'C',  'R',  'A',  'M',      //   authentication method "SCRAM"
        0x16, 0x00, 0x02, 0x01, 0x02,                       //   authentication data (binary) 01 02
        0x26, 0x00, 0x02, 'k',  '1',  0x00, 0x02, 'v', '2', // user property k1=v2 (key repeats)
        0x00, 0x02, 'c',  '5',                              // client id "c5"
        0x2B,                                               // will property length 43
        0x18, 0x00, 0x00, 0x00, 0x05,                       //   will delay interval (u32) 5
        0x01, 0x01,                                         //   payload format indicator (byte) 1
        0x02, 0x00, 0x00, 0x00, 0x3C,                       //   message expiry interval (u32) 60
        0x03, 0x00, 0x0A,                                   //   content type, length 10
        't',  'e',  'x',  't',  '/',  'p',  'l',  'a', 'i', 'n', //   "text/plain"
        0x08, 0x00, 0x03, 'r',  '/',  't',                       //   response topic "r/t"
        0x09, 0x00, 0x02, 0xAB, 0xCD,            //   correlation data (binary) ab cd
        0x26, 0x00, 0x01, 'a',  0x00, 0x01, 'b', //   user property a=b
        0x00, 0x01, 'w',                         // will topic "w"
        0x00, 0x02, 'h',  'i',                   // will payload "hi"
        0x00, 0x01, 'u',                         // user name "u"
        0x00, 0x01, 'p',                         // password "p"
    };
    connect expected;
    expected.version = protocol_version::v5;
    expected.clean_start = true;
    expected.keep_alive = 10;
    expected.client_id = "c5";
    expected.props = {
        num_prop(property_id::session_expiry_interval, 3600),
        num_prop(property_id::receive_maximum, 20),
        num_prop(property_id::maximum_packet_size, 1048576),
        num_prop(property_id::topic_alias_maximum, 10),
        num_prop(property_id::request_response_information, 1),
        num_prop(property_id::request_problem_information, 0),
        user_prop("k1", "v1"),
        str_prop(property_id::authentication_method, "SCRAM"),
        str_prop(property_id::authentication_data, "\x01\x02"),
        user_prop("k1", "v2"),
    };
    will w;
    w.message = message_buffer("w", "hi");
    w.qos_level = qos::at_least_once;
    w.retain = false;
    w.props = {
        num_prop(property_id::will_delay_interval, 5),
        num_prop(property_id::payload_format_indicator, 1),
        num_prop(property_id::message_expiry_interval, 60),
        str_prop(property_id::content_type, "text/plain"),
        str_prop(property_id::response_topic, "r/t"),
        str_prop(property_id::correlation_data, "\xAB\xCD"),
        user_prop("a", "b"),
    };
    expected.last_will = w;
    expected.username = "u";
    expected.password = "p";
    check_both_ways(wire, expected, v5);
}

TEST_CASE("CONNECT 5.0 password without user name is allowed [MQTT-3.1.2-22 relaxed in 5.0]") {
    const byte_vector wire{
        0x10,                             // CONNECT, flags 0
        0x12,                             // remaining length 18
        0x00, 0x04, 'M',  'Q',  'T', 'T', // protocol name "MQTT"
        0x05,                             // protocol level 5
        0x42,                             // password, clean start (no user name)
        0x00, 0x00,                       // keep alive 0
        0x00,                             // property length 0
        0x00, 0x01, 'x',                  // client id "x"
        0x00, 0x02, 0x00, 0x01,           // password: binary 00 01
    };
    connect expected;
    expected.version = protocol_version::v5;
    expected.client_id = "x";
    expected.password = std::string("\x00\x01", 2);
    check_both_ways(wire, expected, v5);
}

TEST_CASE("CONNECT 5.0 empty will payload and zero-length binary password") {
    const byte_vector wire{
        0x10,                           // CONNECT, flags 0
        0x19,                           // remaining length 25
        0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
        0x05,                           // protocol level 5
        0xE4,                 // user name, password, will retain, will QoS 0, will; clean start 0
        0x00, 0x05,           // keep alive 5
        0x00,                 // property length 0
        0x00, 0x01, 'z',      // client id "z"
        0x00,                 // will property length 0
        0x00, 0x02, 'a', 'b', // will topic "ab"
        0x00, 0x00,           // will payload (empty)
        0x00, 0x00,           // user name ""
        0x00, 0x00,           // password (empty)
    };
    connect expected;
    expected.version = protocol_version::v5;
    expected.clean_start = false;
    expected.keep_alive = 5;
    expected.client_id = "z";
    expected.last_will = will{message_buffer("ab", ""), qos::at_most_once, true, {}};
    expected.username = "";
    expected.password = "";
    check_both_ways(wire, expected, v5);
}

TEST_CASE("CONNECT is decoded by decode_connect whatever version the caller assumed") {
    // The version of a CONNECT comes from its protocol level byte, not from the connection.
    const byte_vector wire{
        0x10, 0x0D,                      // CONNECT, remaining length 13
        0x00, 0x04, 'M',  'Q', 'T', 'T', // "MQTT"
        0x05,                            // level 5
        0x02, 0x00, 0x00,                // clean start, keep alive 0
        0x00,                            // property length 0
        0x00, 0x00,                      // client id ""
    };
    auto p = decode_ok(wire, v311);
    REQUIRE(std::holds_alternative<connect>(p));
    CHECK(std::get<connect>(p).version == protocol_version::v5);
}

TEST_CASE("encode appends to the output rather than replacing it") {
    connect c;
    c.version = protocol_version::v3_1_1;
    c.client_id = "a";
    std::string out = "XY";
    encode(c, out);
    REQUIRE(out.size() > 2);
    CHECK(out.substr(0, 2) == "XY");
    CHECK(static_cast<std::uint8_t>(out[2]) == 0x10);
}

// ---------------------------------------------------------------------------------------------
// Malformed CONNECT packets
// ---------------------------------------------------------------------------------------------

TEST_CASE("[MQTT-2.2.2-2] CONNECT with fixed header flags other than 0000 is malformed") {
    auto wire = frame(0x11, cat({mqtt_header(4, 0x02), str("a")}));
    CHECK(decode_error(wire, v311) == errc::invalid_fixed_header_flags);
    wire = frame(0x18, cat({mqtt_header(4, 0x02), str("a")}));
    CHECK(decode_error(wire, v311) == errc::invalid_fixed_header_flags);
}

TEST_CASE("[MQTT-3.1.2-1] CONNECT protocol name other than MQTT/MQIsdp is malformed") {
    auto wire = frame(0x10, cat({str("MQTX"), {0x04, 0x02, 0x00, 0x00}, str("a")}));
    CHECK(decode_error(wire, v311) == errc::invalid_protocol_name);
    wire = frame(0x10, cat({str("mqtt"), {0x04, 0x02, 0x00, 0x00}, str("a")}));
    CHECK(decode_error(wire, v311) == errc::invalid_protocol_name);
    wire = frame(0x10, cat({str("MQIsdP"), {0x03, 0x02, 0x00, 0x00}, str("a")}));
    CHECK(decode_error(wire, v31) == errc::invalid_protocol_name);
}

TEST_CASE("[MQTT-3.1.2-2] CONNECT protocol level 6 (or 2, 0) is unsupported") {
    CHECK(decode_error(frame(0x10, cat({mqtt_header(6, 0x02), str("a")})), v311) ==
          errc::unsupported_protocol_version);
    CHECK(decode_error(frame(0x10, cat({mqtt_header(2, 0x02), str("a")})), v311) ==
          errc::unsupported_protocol_version);
    CHECK(decode_error(frame(0x10, cat({mqtt_header(0, 0x02), str("a")})), v311) ==
          errc::unsupported_protocol_version);
}

TEST_CASE("[MQTT-3.1.2-3] CONNECT reserved flag bit 0 set is malformed") {
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x03), str("a")})), v311) ==
          errc::connect_reserved_flag_set);
    CHECK(decode_error(frame(0x10, cat({mqtt_header(5, 0x03), props_block({}), str("a")})), v5) ==
          errc::connect_reserved_flag_set);
}

TEST_CASE("[MQTT-3.1.2-13] CONNECT will QoS without the will flag is malformed") {
    // flags 0x0A: will QoS 1, clean session, will flag 0
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x0A), str("a")})), v311) ==
          errc::invalid_will_flags);
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x12), str("a")})), v311) ==
          errc::invalid_will_flags);
}

TEST_CASE("[MQTT-3.1.2-15] CONNECT will retain without the will flag is malformed") {
    // flags 0x22: will retain, clean session, will flag 0
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x22), str("a")})), v311) ==
          errc::invalid_will_flags);
    CHECK(decode_error(frame(0x10, cat({mqtt_header(5, 0x22), props_block({}), str("a")})), v5) ==
          errc::invalid_will_flags);
}

TEST_CASE("[MQTT-3.1.2-14] CONNECT will QoS 3 is malformed") {
    // flags 0x1E: will QoS 3, will flag, clean session; the will itself is present
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x1E), str("a"), str("w"), str("p")})),
                       v311) == errc::invalid_will_flags);
    CHECK(decode_error(frame(0x10, cat({mqtt_header(5, 0x1E), props_block({}), str("a"),
                                        props_block({}), str("w"), str("p")})),
                       v5) == errc::invalid_will_flags);
}

TEST_CASE("[MQTT-3.1.2-22] CONNECT password without user name is malformed in 3.1.1 and 3.1") {
    // flags 0x42: password, clean session, no user name
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x42), str("a"), str("pw")})), v311) ==
          errc::password_without_username);
    CHECK(decode_error(
              frame(0x10, cat({str("MQIsdp"), {0x03, 0x42, 0x00, 0x00}, str("a"), str("pw")})),
              v31) == errc::password_without_username);
}

TEST_CASE("CONNECT 3.1 client id longer than 23 characters is rejected") {
    auto wire = frame(0x10, cat({str("MQIsdp"),
                                 {0x03, 0x02, 0x00, 0x00},
                                 str("abcdefghijklmnopqrstuvwx")})); // 24 characters
    CHECK(decode_error(wire, v31) == errc::invalid_client_id);
    // 23 characters is fine
    wire =
        frame(0x10, cat({str("MQIsdp"), {0x03, 0x02, 0x00, 0x00}, str("abcdefghijklmnopqrstuvw")}));
    CHECK(decode_error(wire, v31) == errc::ok);
}

TEST_CASE("CONNECT truncated bodies") {
    // protocol name cut short
    CHECK(decode_error(frame(0x10, {0x00, 0x04, 'M', 'Q'}), v311) == errc::truncated);
    // ends before the keep alive
    CHECK(decode_error(frame(0x10, cat({str("MQTT"), {0x04, 0x02, 0x00}})), v311) ==
          errc::truncated);
    // no client id at all
    CHECK(decode_error(frame(0x10, mqtt_header(4, 0x02)), v311) == errc::truncated);
    // client id length beyond the body
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x02), {0x00, 0x05, 'a', 'b'}})), v311) ==
          errc::truncated);
    // will flag set but no will topic/message
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x06), str("a")})), v311) ==
          errc::truncated);
    // will topic present, will message missing
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x06), str("a"), str("w")})), v311) ==
          errc::truncated);
    // user name flag set, no user name
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x82), str("a")})), v311) ==
          errc::truncated);
    // password flag set, no password
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0xC2), str("a"), str("u")})), v311) ==
          errc::truncated);
    // 5.0: no property length
    CHECK(decode_error(frame(0x10, mqtt_header(5, 0x02)), v5) == errc::truncated);
    // 5.0: will flag set, no will property length
    CHECK(decode_error(frame(0x10, cat({mqtt_header(5, 0x06), props_block({}), str("a")})), v5) ==
          errc::truncated);
}

TEST_CASE("CONNECT with bytes after the last field has trailing bytes") {
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x02), str("a"), {0x00}})), v311) ==
          errc::trailing_bytes);
    CHECK(decode_error(
              frame(0x10, cat({mqtt_header(4, 0xC2), str("a"), str("u"), str("p"), {0x01, 0x02}})),
              v311) == errc::trailing_bytes);
    CHECK(decode_error(frame(0x10, cat({mqtt_header(5, 0x02), props_block({}), str("a"), {0x00}})),
                       v5) == errc::trailing_bytes);
}

TEST_CASE("[MQTT-1.5.3-1] CONNECT client id with ill-formed UTF-8 is malformed") {
    // overlong encoding of '/'
    CHECK(decode_error(connect311_client_id({0xC0, 0xAF}), v311) == errc::invalid_utf8);
    // overlong three-byte encoding of '/'
    CHECK(decode_error(connect311_client_id({0xE0, 0x80, 0xAF}), v311) == errc::invalid_utf8);
    // lone continuation byte
    CHECK(decode_error(connect311_client_id({'a', 0x80, 'b'}), v311) == errc::invalid_utf8);
    // lead byte without its continuation
    CHECK(decode_error(connect311_client_id({'a', 0xC3}), v311) == errc::invalid_utf8);
    // surrogate U+D800 encoded as ED A0 80
    CHECK(decode_error(connect311_client_id({0xED, 0xA0, 0x80}), v311) == errc::invalid_utf8);
    // above U+10FFFF (F4 90 80 80)
    CHECK(decode_error(connect311_client_id({0xF4, 0x90, 0x80, 0x80}), v311) == errc::invalid_utf8);
    // 0xFF never appears in UTF-8
    CHECK(decode_error(connect311_client_id({0xFF}), v311) == errc::invalid_utf8);
}

TEST_CASE("[MQTT-1.5.3-2] CONNECT client id containing U+0000 is malformed") {
    CHECK(decode_error(connect311_client_id({'a', 0x00, 'b'}), v311) == errc::utf8_contains_null);
}

TEST_CASE("[MQTT-1.5.3-1] CONNECT user name and will topic with ill-formed UTF-8 are malformed") {
    // user name: surrogate
    CHECK(decode_error(
              frame(0x10, cat({mqtt_header(4, 0x82), str("a"), {0x00, 0x03, 0xED, 0xA0, 0x80}})),
              v311) == errc::invalid_utf8);
    // will topic: lone continuation byte
    CHECK(decode_error(
              frame(0x10, cat({mqtt_header(4, 0x06), str("a"), {0x00, 0x01, 0x80}, str("m")})),
              v311) == errc::invalid_utf8);
    // user name: U+0000
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x82), str("a"), {0x00, 0x01, 0x00}})),
                       v311) == errc::utf8_contains_null);
}

TEST_CASE("CONNECT 5.0 property not allowed on CONNECT (topic alias) is rejected") {
    CHECK(decode_error(connect5_with_props({0x23, 0x00, 0x01}), v5) == errc::property_not_allowed);
    // a will-only property in the CONNECT properties
    CHECK(decode_error(connect5_with_props({0x18, 0x00, 0x00, 0x00, 0x01}), v5) ==
          errc::property_not_allowed);
    // a CONNACK-only property
    CHECK(decode_error(connect5_with_props({0x24, 0x01}), v5) == errc::property_not_allowed);
}

TEST_CASE("CONNECT 5.0 unknown property identifier is malformed") {
    CHECK(decode_error(connect5_with_props({0x7F, 0x00}), v5) == errc::invalid_property_id);
    CHECK(decode_error(connect5_with_props({0x00, 0x00}), v5) == errc::invalid_property_id);
    CHECK(decode_error(connect5_with_props({0x04, 0x00}), v5) == errc::invalid_property_id);
}

TEST_CASE("CONNECT 5.0 duplicate single-occurrence property is a protocol error") {
    CHECK(decode_error(connect5_with_props({0x11, 0x00, 0x00, 0x00, 0x01,   // session expiry 1
                                            0x11, 0x00, 0x00, 0x00, 0x02}), // session expiry 2
                       v5) == errc::duplicate_property);
    CHECK(decode_error(connect5_with_props({0x21, 0x00, 0x01, 0x21, 0x00, 0x01}), v5) ==
          errc::duplicate_property);
    CHECK(decode_error(connect5_with_props({0x15, 0x00, 0x01, 'm', 0x15, 0x00, 0x01, 'm'}), v5) ==
          errc::duplicate_property);
}

TEST_CASE("CONNECT 5.0 repeated user properties are allowed and keep their order") {
    auto p = decode_ok(connect5_with_props({0x26, 0x00, 0x01, 'k', 0x00, 0x01, '2',   // k=2
                                            0x26, 0x00, 0x01, 'k', 0x00, 0x01, '1'}), // k=1
                       v5);
    REQUIRE(std::holds_alternative<connect>(p));
    CHECK(std::get<connect>(p).props == properties{user_prop("k", "2"), user_prop("k", "1")});
}

TEST_CASE("CONNECT 5.0 invalid property values") {
    // receive maximum 0 [MQTT-3.1.2.11.3]
    CHECK(decode_error(connect5_with_props({0x21, 0x00, 0x00}), v5) ==
          errc::invalid_property_value);
    // maximum packet size 0 [MQTT-3.1.2.11.4]
    CHECK(decode_error(connect5_with_props({0x27, 0x00, 0x00, 0x00, 0x00}), v5) ==
          errc::invalid_property_value);
    // request problem information 2
    CHECK(decode_error(connect5_with_props({0x17, 0x02}), v5) == errc::invalid_property_value);
    // request response information 2
    CHECK(decode_error(connect5_with_props({0x19, 0x02}), v5) == errc::invalid_property_value);
}

TEST_CASE("CONNECT 5.0 will property checks") {
    // topic alias is not a will property
    CHECK(decode_error(connect5_with_will_props({0x23, 0x00, 0x01}), v5) ==
          errc::property_not_allowed);
    // session expiry is not a will property
    CHECK(decode_error(connect5_with_will_props({0x11, 0x00, 0x00, 0x00, 0x01}), v5) ==
          errc::property_not_allowed);
    // payload format indicator 2
    CHECK(decode_error(connect5_with_will_props({0x01, 0x02}), v5) == errc::invalid_property_value);
    // duplicate will delay interval
    CHECK(decode_error(connect5_with_will_props(
                           {0x18, 0x00, 0x00, 0x00, 0x01, 0x18, 0x00, 0x00, 0x00, 0x01}),
                       v5) == errc::duplicate_property);
    // content type with a surrogate
    CHECK(decode_error(connect5_with_will_props({0x03, 0x00, 0x03, 0xED, 0xA0, 0x80}), v5) ==
          errc::invalid_utf8);
}

TEST_CASE("CONNECT 5.0 property length overrunning the body is truncated") {
    // property length 10, then only a 3-byte property and the client id follow
    auto wire = frame(0x10, cat({mqtt_header(5, 0x02), {0x0A, 0x21, 0x00, 0x01}}));
    CHECK(decode_error(wire, v5) == errc::truncated);
    // a property whose value runs past the property length
    wire = frame(0x10, cat({mqtt_header(5, 0x02), {0x02, 0x11, 0x00}, str("a")}));
    CHECK(decode_error(wire, v5) == errc::truncated);
}

TEST_CASE("CONNECT 5.0 property length longer than 4 bytes is malformed") {
    auto wire = frame(0x10, cat({mqtt_header(5, 0x02), {0x80, 0x80, 0x80, 0x80, 0x00}, str("a")}));
    CHECK(decode_error(wire, v5) == errc::malformed_variable_integer);
}

TEST_CASE("CONNECT will topic must be a valid topic name") {
    // empty will topic [MQTT-4.7.3-1]
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x06), str("a"), str(""), str("m")})),
                       v311) == errc::topic_name_empty);
    // wildcard in the will topic [MQTT-3.3.2-2]: the will is published as a PUBLISH
    CHECK(decode_error(frame(0x10, cat({mqtt_header(4, 0x06), str("a"), str("w/#"), str("m")})),
                       v311) == errc::topic_name_wildcard);
    CHECK(decode_error(frame(0x10, cat({mqtt_header(5, 0x06), props_block({}), str("a"),
                                        props_block({}), str("+"), str("m")})),
                       v5) == errc::topic_name_wildcard);
}

TEST_CASE("CONNECT 3.1 empty client id is rejected (3.1 requires 1 to 23 characters)") {
    auto wire = frame(0x10, cat({str("MQIsdp"), {0x03, 0x02, 0x00, 0x00}, str("")}));
    CHECK(decode_error(wire, v31) == errc::invalid_client_id);
}
