// PUBLISH (3.1.1 section 3.3, 5.0 section 3.3).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

publish make_publish(std::string_view topic, std::string_view payload, qos q = qos::at_most_once,
                     std::uint16_t id = 0, bool dup = false, bool retain = false,
                     properties props = {}) {
    publish p;
    p.dup = dup;
    p.qos_level = q;
    p.retain = retain;
    p.packet_id = id;
    p.message = message_buffer(topic, payload);
    p.props = std::move(props);
    return p;
}

// A 5.0 QoS 0 PUBLISH on topic "t" with the given properties and payload "x".
byte_vector publish5_with_props(const byte_vector& props) {
    return frame(0x30, cat({str("t"), props_block(props), {'x'}}));
}

} // namespace

TEST_CASE("PUBLISH 3.1 QoS 0") {
    const byte_vector wire{
        0x30,                      // PUBLISH, flags 0: no DUP, QoS 0, no retain
        0x07,                      // remaining length 7
        0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
        'h',  'i',                 // payload "hi"
    };
    check_both_ways(wire, make_publish("a/b", "hi"), v31);
}

TEST_CASE("PUBLISH 3.1 QoS 1 with DUP") {
    const byte_vector wire{
        0x3A,            // PUBLISH, flags 1010: DUP, QoS 1, no retain
        0x06,            // remaining length 6
        0x00, 0x01, 'x', // topic name "x"
        0x00, 0x09,      // packet identifier 9
        'p',             // payload "p"
    };
    check_both_ways(wire, make_publish("x", "p", qos::at_least_once, 9, true), v31);
}

TEST_CASE("PUBLISH 3.1.1 QoS 1 retained with a binary payload") {
    const byte_vector wire{
        0x33,                      // PUBLISH, flags 0011: QoS 1, retain
        0x09,                      // remaining length 9
        0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
        0x00, 0x0A,                // packet identifier 10
        0x00, 0xFF,                // payload: binary 00 ff
    };
    check_both_ways(
        wire,
        make_publish("a/b", std::string_view("\x00\xFF", 2), qos::at_least_once, 10, false, true),
        v311);
}

TEST_CASE("PUBLISH 3.1.1 QoS 2 with DUP and an empty payload") {
    const byte_vector wire{
        0x3C,            // PUBLISH, flags 1100: DUP, QoS 2, no retain
        0x05,            // remaining length 5
        0x00, 0x01, 't', // topic name "t"
        0x12, 0x34,      // packet identifier 0x1234
                         // payload: empty
    };
    check_both_ways(wire, make_publish("t", "", qos::exactly_once, 0x1234, true), v311);
}

TEST_CASE("PUBLISH 3.1.1 with a multi-byte UTF-8 topic name") {
    const byte_vector wire{
        0x30,                              // PUBLISH, QoS 0
        0x0A,                              // remaining length 10
        0x00, 0x06,                        // topic name length 6
        0xC3, 0xA9, '/', 0xE2, 0x82, 0xAC, // "é/€"
        'o',  'k',                         // payload "ok"
    };
    check_both_ways(wire, make_publish("\xC3\xA9/\xE2\x82\xAC", "ok"), v311);
}

TEST_CASE("PUBLISH 3.1.1 with a two-byte remaining length") {
    byte_vector wire{
        0x31,            // PUBLISH, flags 0001: QoS 0, retain
        0xCB, 0x01,      // remaining length 203 (0xCB 0x01)
        0x00, 0x01, 't', // topic name "t"
    };
    std::string payload;
    for (int i = 0; i < 200; ++i)
        payload += static_cast<char>(i); // payload: bytes 00 .. c7
    wire.insert(wire.end(), payload.begin(), payload.end());
    check_both_ways(wire, make_publish("t", payload, qos::at_most_once, 0, false, true), v311);
}

TEST_CASE("PUBLISH 5.0 QoS 0 with empty properties") {
    const byte_vector wire{
        0x30,            // PUBLISH, QoS 0
        0x05,            // remaining length 5
        0x00, 0x01, 't', // topic name "t"
        0x00,            // property length 0
        'x',             // payload "x"
    };
    check_both_ways(wire, make_publish("t", "x"), v5);
}

TEST_CASE("PUBLISH 5.0 QoS 1 with every PUBLISH property, repeated ones in order") {
    const byte_vector wire{
        0x32,                                         // PUBLISH, flags 0010: QoS 1
        0x3C,                                         // remaining length 60
        0x00, 0x03, 'a',  '/',  'b',                  // topic name "a/b"
        0x00, 0x01,                                   // packet identifier 1
        0x32,                                         // property length 50
        0x01, 0x01,                                   //   payload format indicator (byte) 1
        0x02, 0x00, 0x00, 0x00, 0x0A,                 //   message expiry interval (u32) 10
        0x23, 0x00, 0x03,                             //   topic alias (u16) 3
        0x08, 0x00, 0x05, 'r',  'e',  '/',  's', 'p', // response topic "re/sp"
        0x09, 0x00, 0x03, 0x01, 0x02, 0x03,           //   correlation data (binary) 01 02 03
        0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'v',      //   user property k=v
        0x0B, 0x81, 0x01,                             //   subscription identifier (varint) 129
        0x0B, 0x02,                                   //   subscription identifier 2 (may repeat)
        0x03, 0x00, 0x04, 'j',  's',  'o',  'n',      //   content type "json"
        0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'w',      //   user property k=w
        '{',  '}',                                    // payload "{}"
    };
    auto expected = make_publish("a/b", "{}", qos::at_least_once, 1, false, false,
                                 {
                                     num_prop(property_id::payload_format_indicator, 1),
                                     num_prop(property_id::message_expiry_interval, 10),
                                     num_prop(property_id::topic_alias, 3),
                                     str_prop(property_id::response_topic, "re/sp"),
                                     str_prop(property_id::correlation_data, "\x01\x02\x03"),
                                     user_prop("k", "v"),
                                     num_prop(property_id::subscription_identifier, 129),
                                     num_prop(property_id::subscription_identifier, 2),
                                     str_prop(property_id::content_type, "json"),
                                     user_prop("k", "w"),
                                 });
    check_both_ways(wire, expected, v5);
}

TEST_CASE("PUBLISH 5.0 empty topic name with a topic alias [MQTT-3.3.2-8 / 4.7.3-1 exception]") {
    const byte_vector wire{
        0x30,             // PUBLISH, QoS 0
        0x07,             // remaining length 7
        0x00, 0x00,       // topic name "" (the alias stands for it)
        0x03,             // property length 3
        0x23, 0x00, 0x07, //   topic alias (u16) 7
        'p',              // payload "p"
    };
    check_both_ways(wire,
                    make_publish("", "p", qos::at_most_once, 0, false, false,
                                 {num_prop(property_id::topic_alias, 7)}),
                    v5);
}

TEST_CASE("PUBLISH 5.0 QoS 2 retained with a large subscription identifier") {
    const byte_vector wire{
        0x35,                         // PUBLISH, flags 0101: QoS 2, retain
        0x0B,                         // remaining length 11
        0x00, 0x01, 's',              // topic name "s"
        0xFF, 0xFF,                   // packet identifier 65535
        0x05,                         // property length 5
        0x0B, 0xFF, 0xFF, 0xFF, 0x7F, //   subscription identifier 268435455
                                      // payload: empty
    };
    check_both_ways(wire,
                    make_publish("s", "", qos::exactly_once, 65535, false, true,
                                 {num_prop(property_id::subscription_identifier, 268435455)}),
                    v5);
}

TEST_CASE("encode_publish_header + payload is the whole PUBLISH, encoded_size its length") {
    auto p = make_publish("a/b", "payload bytes", qos::at_least_once, 5, false, true,
                          {user_prop("k", "v")});
    for (auto v : {v31, v311, v5}) {
        std::string whole;
        encode(p, v, whole);
        std::string header;
        encode_publish_header(p, v, header);
        CHECK(hex(header + std::string(p.payload())) == hex(whole));
        CHECK(encoded_size(p, v) == whole.size());
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed PUBLISH packets
// ---------------------------------------------------------------------------------------------

TEST_CASE("[MQTT-3.3.1-4] PUBLISH QoS 3 is malformed") {
    // errc::invalid_qos is the specific value, even if the fixed header parser catches it.
    CHECK(decode_error(frame(0x36, cat({str("t"), {0x00, 0x01}})), v311) == errc::invalid_qos);
    CHECK(decode_error(frame(0x37, cat({str("t"), {0x00, 0x01}, props_block({})})), v5) ==
          errc::invalid_qos);
}

TEST_CASE("[MQTT-3.3.1-2] PUBLISH DUP with QoS 0 is malformed") {
    CHECK(decode_error(frame(0x38, cat({str("t"), {'x'}})), v311) == errc::dup_with_qos0);
    CHECK(decode_error(frame(0x38, cat({str("t"), props_block({}), {'x'}})), v5) ==
          errc::dup_with_qos0);
}

TEST_CASE("[MQTT-3.3.2-2] PUBLISH topic name with a wildcard is malformed") {
    CHECK(decode_error(frame(0x30, str("a/+")), v311) == errc::topic_name_wildcard);
    CHECK(decode_error(frame(0x30, str("#")), v311) == errc::topic_name_wildcard);
    CHECK(decode_error(frame(0x30, str("a/b#")), v311) == errc::topic_name_wildcard);
    CHECK(decode_error(frame(0x30, cat({str("+"), props_block({})})), v5) ==
          errc::topic_name_wildcard);
}

TEST_CASE("[MQTT-4.7.3-1] PUBLISH empty topic name is malformed (without a topic alias)") {
    CHECK(decode_error(frame(0x30, cat({str(""), {'x'}})), v311) == errc::topic_name_empty);
    CHECK(decode_error(frame(0x30, cat({str(""), {'x'}})), v31) == errc::topic_name_empty);
    CHECK(decode_error(frame(0x30, cat({str(""), props_block({}), {'x'}})), v5) ==
          errc::topic_name_empty);
}

TEST_CASE("[MQTT-2.3.1-1] PUBLISH QoS 1 or 2 with packet identifier 0 is malformed") {
    CHECK(decode_error(frame(0x32, cat({str("t"), {0x00, 0x00}})), v311) == errc::zero_packet_id);
    CHECK(decode_error(frame(0x34, cat({str("t"), {0x00, 0x00}})), v311) == errc::zero_packet_id);
    CHECK(decode_error(frame(0x32, cat({str("t"), {0x00, 0x00}, props_block({})})), v5) ==
          errc::zero_packet_id);
}

TEST_CASE("PUBLISH truncated bodies") {
    // topic length beyond the body
    CHECK(decode_error(frame(0x30, {0x00, 0x05, 'a'}), v311) == errc::truncated);
    // only one byte of topic length
    CHECK(decode_error(frame(0x30, {0x00}), v311) == errc::truncated);
    // empty body
    CHECK(decode_error(frame(0x30, {}), v311) == errc::truncated);
    // QoS 1 without its packet identifier
    CHECK(decode_error(frame(0x32, str("t")), v311) == errc::truncated);
    CHECK(decode_error(frame(0x32, cat({str("t"), {0x00}})), v311) == errc::truncated);
    // 5.0 without a property length
    CHECK(decode_error(frame(0x30, str("t")), v5) == errc::truncated);
    // 5.0 property length beyond the body
    CHECK(decode_error(frame(0x30, cat({str("t"), {0x05, 0x01, 0x01}})), v5) == errc::truncated);
    // 5.0 property value beyond the property length
    CHECK(decode_error(frame(0x30, cat({str("t"), {0x02, 0x02, 0x00}, {'x', 'y', 'z'}})), v5) ==
          errc::truncated);
}

TEST_CASE("[MQTT-1.5.3-1] PUBLISH topic name with ill-formed UTF-8 is malformed") {
    auto topic = [](const byte_vector& b) {
        return frame(0x30, cat({{0x00, static_cast<std::uint8_t>(b.size())}, b, {'x'}}));
    };
    CHECK(decode_error(topic({0xC0, 0xAF}), v311) == errc::invalid_utf8); // overlong '/'
    CHECK(decode_error(topic({0xC1, 0xBF}), v311) == errc::invalid_utf8); // overlong
    CHECK(decode_error(topic({0xF0, 0x80, 0x80, 0xAF}), v311) == errc::invalid_utf8); // overlong
    CHECK(decode_error(topic({'a', 0x80}), v311) == errc::invalid_utf8);        // lone continuation
    CHECK(decode_error(topic({0xED, 0xA0, 0x80}), v311) == errc::invalid_utf8); // U+D800
    CHECK(decode_error(topic({0xED, 0xBF, 0xBF}), v311) == errc::invalid_utf8); // U+DFFF
    CHECK(decode_error(topic({0xE2, 0x82}), v311) == errc::invalid_utf8);       // cut sequence
    CHECK(decode_error(topic({0xC0, 0x80}), v311) == errc::invalid_utf8);       // overlong U+0000
}

TEST_CASE("[MQTT-1.5.3-2] PUBLISH topic name containing U+0000 is malformed") {
    CHECK(decode_error(frame(0x30, cat({{0x00, 0x03, 'a', 0x00, 'b'}, {'x'}})), v311) ==
          errc::utf8_contains_null);
}

TEST_CASE("PUBLISH 5.0 property checks") {
    // payload format indicator 2
    CHECK(decode_error(publish5_with_props({0x01, 0x02}), v5) == errc::invalid_property_value);
    // subscription identifier 0
    CHECK(decode_error(publish5_with_props({0x0B, 0x00}), v5) == errc::invalid_property_value);
    // topic alias 0 is not permitted [MQTT-3.3.2-8]
    CHECK(decode_error(publish5_with_props({0x23, 0x00, 0x00}), v5) ==
          errc::invalid_property_value);
    // duplicate topic alias
    CHECK(decode_error(publish5_with_props({0x23, 0x00, 0x01, 0x23, 0x00, 0x01}), v5) ==
          errc::duplicate_property);
    // duplicate message expiry interval
    CHECK(decode_error(
              publish5_with_props({0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01}),
              v5) == errc::duplicate_property);
    // duplicate content type
    CHECK(decode_error(publish5_with_props({0x03, 0x00, 0x01, 'a', 0x03, 0x00, 0x01, 'a'}), v5) ==
          errc::duplicate_property);
    // session expiry interval is not a PUBLISH property
    CHECK(decode_error(publish5_with_props({0x11, 0x00, 0x00, 0x00, 0x01}), v5) ==
          errc::property_not_allowed);
    // will delay interval is a will property only
    CHECK(decode_error(publish5_with_props({0x18, 0x00, 0x00, 0x00, 0x01}), v5) ==
          errc::property_not_allowed);
    // reason string is not a PUBLISH property
    CHECK(decode_error(publish5_with_props({0x1F, 0x00, 0x01, 'r'}), v5) ==
          errc::property_not_allowed);
    // identifier 0 and an undefined one
    CHECK(decode_error(publish5_with_props({0x00, 0x00}), v5) == errc::invalid_property_id);
    CHECK(decode_error(publish5_with_props({0x2B, 0x00}), v5) == errc::invalid_property_id);
    // content type with a surrogate, user property key with U+0000
    CHECK(decode_error(publish5_with_props({0x03, 0x00, 0x03, 0xED, 0xA0, 0x80}), v5) ==
          errc::invalid_utf8);
    CHECK(decode_error(publish5_with_props({0x26, 0x00, 0x01, 0x00, 0x00, 0x01, 'v'}), v5) ==
          errc::utf8_contains_null);
    // subscription identifier as a 5-byte variable byte integer
    CHECK(decode_error(publish5_with_props({0x0B, 0x80, 0x80, 0x80, 0x80, 0x01}), v5) ==
          errc::malformed_variable_integer);
}

TEST_CASE("PUBLISH 5.0 repeated subscription identifiers and user properties are allowed") {
    auto p = decode_ok(publish5_with_props({0x0B, 0x01, 0x0B, 0x01, 0x26, 0x00, 0x00, 0x00, 0x00,
                                            0x26, 0x00, 0x00, 0x00, 0x00}),
                       v5);
    REQUIRE(std::holds_alternative<publish>(p));
    CHECK(std::get<publish>(p).props ==
          properties{num_prop(property_id::subscription_identifier, 1),
                     num_prop(property_id::subscription_identifier, 1), user_prop("", ""),
                     user_prop("", "")});
}

// ---------------------------------------------------------------------------------------------
// Edges: string bounds, code points, lengths, sizes
// ---------------------------------------------------------------------------------------------

TEST_CASE("[MQTT-1.5.3-1] UTF-8 validation stops at the end of the string") {
    // topic "a" + C3 (a cut two-byte sequence); the payload that follows starts with A9, which
    // would complete it if the validator read past the string's length.
    CHECK(decode_error(frame(0x30, {0x00, 0x02, 'a', 0xC3, 0xA9, 'x'}), v311) ==
          errc::invalid_utf8);
    // same with a QoS 1 packet identifier whose first byte is a continuation byte
    CHECK(decode_error(frame(0x32, {0x00, 0x02, 'a', 0xC3, 0xA9, 0x01}), v311) ==
          errc::invalid_utf8);
}

TEST_CASE("[MQTT-1.5.3-1] edge code points that are well-formed UTF-8 are accepted") {
    // U+D7FF (last before the surrogates), U+E000 (first after), U+10000 (first 4-byte),
    // U+007F, U+0080, U+07FF, U+0800
    const std::string topic = "\xED\x9F\xBF/\xEE\x80\x80/\xF0\x90\x80\x80/"
                              "a\xC2\x80\xDF\xBF\xE0\xA0\x80";
    check_both_ways(frame(0x30, cat({str(topic), {'x'}})), make_publish(topic, "x"), v311);
}

TEST_CASE("[MQTT-1.5.3-3] a BOM (EF BB BF) in a string is kept, not skipped") {
    const std::string topic = "\xEF\xBB\xBF"
                              "a";
    check_both_ways(frame(0x30, cat({str(topic), {'x'}})), make_publish(topic, "x"), v311);
}

TEST_CASE("[MQTT-1.5.3-1] more ill-formed UTF-8: 5-byte forms, F5+ lead bytes, overlong 4-byte") {
    auto topic = [](const byte_vector& b) {
        return frame(0x30, cat({{0x00, static_cast<std::uint8_t>(b.size())}, b}));
    };
    CHECK(decode_error(topic({0xF8, 0x88, 0x80, 0x80, 0x80}), v311) == errc::invalid_utf8);
    CHECK(decode_error(topic({0xF5, 0x80, 0x80, 0x80}), v311) == errc::invalid_utf8);
    CHECK(decode_error(topic({0xF0, 0x8F, 0xBF, 0xBF}), v311) == errc::invalid_utf8);
    CHECK(decode_error(topic({0xE0, 0x9F, 0xBF}), v311) == errc::invalid_utf8);
    CHECK(decode_error(topic({0xFE}), v311) == errc::invalid_utf8);
    // a continuation byte missing in the middle of a 3-byte sequence
    CHECK(decode_error(topic({0xE2, 'a', 0xAC}), v311) == errc::invalid_utf8);
}

TEST_CASE("PUBLISH with long strings: 300-byte and 65535-byte topic names") {
    for (std::size_t n : {255u, 256u, 300u, 65535u}) {
        CAPTURE(n);
        const std::string topic(n, 'a');
        const auto wire = frame(0x30, cat({str(topic), {'x'}}));
        const auto p = make_publish(topic, "x");
        const auto decoded = decode_ok(wire, v311);
        CHECK(decoded == any_packet{p});
        std::string out;
        encode(p, v311, out);
        CHECK(out.size() == wire.size());
        CHECK(hex(out) == hex(wire));
        CHECK(encoded_size(p, v311) == wire.size());
    }
}

TEST_CASE("PUBLISH remaining length 127 and 128 both ways, with encoded_size") {
    // topic "t" (3 bytes) + payload: 124 bytes -> remaining length 127, 125 -> 128
    for (std::size_t payload_size : {std::size_t{124}, std::size_t{125}}) {
        CAPTURE(payload_size);
        const std::string payload(payload_size, 'p');
        const auto wire = frame(0x30, cat({str("t"), bytes_of(payload)}));
        CHECK(wire.size() == 3 + payload_size + (payload_size == 124 ? 2 : 3));
        const auto p = make_publish("t", payload);
        check_both_ways(wire, p, v311);
        CHECK(encoded_size(p, v311) == wire.size());
    }
}

TEST_CASE("PUBLISH 5.0 properties longer than 127 bytes (two-byte property length)") {
    const std::string key(60, 'k');
    const std::string value(70, 'v');
    // one user property: 1 + (2 + 60) + (2 + 70) = 135 bytes -> property length 87 01
    const byte_vector prop = cat({{0x26}, str(key), str(value)});
    REQUIRE(prop.size() == 135);
    const auto wire = frame(0x32, cat({str("a/b"), {0x00, 0x01}, {0x87, 0x01}, prop, {'x'}}));
    const auto p =
        make_publish("a/b", "x", qos::at_least_once, 1, false, false, {user_prop(key, value)});
    check_both_ways(wire, p, v5);
    CHECK(encoded_size(p, v5) == wire.size());
    std::string header;
    encode_publish_header(p, v5, header);
    CHECK(header.size() + 1 == wire.size());
}

TEST_CASE("PUBLISH QoS 0 is encoded without a packet identifier even if one is set") {
    auto with_id = make_publish("t", "x");
    with_id.packet_id = 5;
    std::string a;
    encode(with_id, v311, a);
    std::string b;
    encode(make_publish("t", "x"), v311, b);
    CHECK(hex(a) == hex(b));
    CHECK(encoded_size(with_id, v311) == b.size());
}

TEST_CASE("PUBLISH 5.0 binary properties and the payload are not checked as UTF-8") {
    // correlation data 00 c0 ff, payload format indicator 1 with a non-UTF-8 payload (a
    // receiver MAY check the payload [MQTT-3.3.2-?]; the codec does not: it is not malformed)
    const auto wire =
        frame(0x30, cat({str("t"),
                         props_block({0x09, 0x00, 0x03, 0x00, 0xC0, 0xFF, 0x01, 0x01}),
                         {0xC0, 0xAF}}));
    const std::string correlation("\x00\xC0\xFF", 3);
    const auto p = make_publish("t", "\xC0\xAF", qos::at_most_once, 0, false, false,
                                {str_prop(property_id::correlation_data, correlation),
                                 num_prop(property_id::payload_format_indicator, 1)});
    check_both_ways(wire, p, v5);
}

TEST_CASE("PUBLISH 5.0 user property value with ill-formed UTF-8 is malformed") {
    CHECK(decode_error(publish5_with_props({0x26, 0x00, 0x01, 'k', 0x00, 0x02, 0xC0, 0xAF}), v5) ==
          errc::invalid_utf8);
    CHECK(decode_error(publish5_with_props({0x26, 0x00, 0x01, 'k', 0x00, 0x01, 0x00}), v5) ==
          errc::utf8_contains_null);
}

TEST_CASE("[MQTT-3.3.2-14] PUBLISH 5.0 response topic with a wildcard is rejected") {
    // No errc names this exactly; topic_name_wildcard (the same rule as a topic name) or
    // invalid_property_value are both accepted.
    const auto e = decode_error(publish5_with_props({0x08, 0x00, 0x03, 'a', '/', '#'}), v5);
    INFO("decode_error gave errc::" << to_string(e));
    CHECK((e == errc::topic_name_wildcard || e == errc::invalid_property_value));
}
