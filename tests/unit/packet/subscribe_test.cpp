// SUBSCRIBE (3.1.1 section 3.8, 5.0 section 3.8).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

subscription sub(std::string filter, qos q, bool no_local = false, bool rap = false,
                 retain_handling rh = retain_handling::send_on_subscribe) {
    subscription s;
    s.filter = std::move(filter);
    s.max_qos = q;
    s.no_local = no_local;
    s.retain_as_published = rap;
    s.retain_policy = rh;
    return s;
}

// A 3.1.1 SUBSCRIBE with packet id 1 and one filter with the given options byte.
byte_vector subscribe311(std::string_view filter, std::uint8_t options = 0x00) {
    return frame(0x82, cat({{0x00, 0x01}, str(filter), {options}}));
}

// A 5.0 SUBSCRIBE with packet id 1, the given properties, and one filter with options.
byte_vector subscribe5(std::string_view filter, std::uint8_t options = 0x00,
                       const byte_vector& props = {}) {
    return frame(0x82, cat({{0x00, 0x01}, props_block(props), str(filter), {options}}));
}

} // namespace

TEST_CASE("SUBSCRIBE 3.1 two filters") {
    const byte_vector wire{
        0x82,                      // SUBSCRIBE, flags 0010
        0x0C,                      // remaining length 12
        0x00, 0x0A,                // packet identifier 10
        0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
        0x01,                      //   requested QoS 1
        0x00, 0x01, '#',           // topic filter "#"
        0x02,                      //   requested QoS 2
    };
    subscribe expected;
    expected.packet_id = 10;
    expected.subscriptions = {sub("a/b", qos::at_least_once), sub("#", qos::exactly_once)};
    check_both_ways(wire, expected, v31);
}

TEST_CASE("SUBSCRIBE 3.1.1 three filters with wildcards and UTF-8") {
    const byte_vector wire{
        0x82,                             // SUBSCRIBE, flags 0010
        0x13,                             // remaining length 19
        0x00, 0x02,                       // packet identifier 2
        0x00, 0x03, 'a',  '/',  '+',      // topic filter "a/+"
        0x00,                             //   requested QoS 0
        0x00, 0x01, '#',                  // topic filter "#"
        0x02,                             //   requested QoS 2
        0x00, 0x04, 0xC3, 0xA9, '/', '#', // topic filter "é/#"
        0x01,                             //   requested QoS 1
    };
    subscribe expected;
    expected.packet_id = 2;
    expected.subscriptions = {sub("a/+", qos::at_most_once), sub("#", qos::exactly_once),
                              sub("\xC3\xA9/#", qos::at_least_once)};
    check_both_ways(wire, expected, v311);
}

TEST_CASE("SUBSCRIBE 5.0 with subscription identifier, user property and all options") {
    const byte_vector wire{
        0x82,                                   // SUBSCRIBE, flags 0010
        0x21,                                   // remaining length 33
        0x00, 0x03,                             // packet identifier 3
        0x09,                                   // property length 9
        0x0B, 0x05,                             //   subscription identifier (varint) 5
        0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', //   user property k=v
        0x00, 0x03, 'a',  '/', 'b',             // topic filter "a/b"
        0x2D,                                   //   options: RH 2, RAP, no local, QoS 1
        0x00, 0x0C, '$',  's', 'h',  'a',  'r', 'e', '/', 'g', '/', 'x', '/', '#', // "$share/g/x/#"
        0x12, //   options: retain handling 1, QoS 2
    };
    subscribe expected;
    expected.packet_id = 3;
    expected.props = {num_prop(property_id::subscription_identifier, 5), user_prop("k", "v")};
    expected.subscriptions = {
        sub("a/b", qos::at_least_once, true, true, retain_handling::do_not_send),
        sub("$share/g/x/#", qos::exactly_once, false, false,
            retain_handling::send_if_new_subscription),
    };
    check_both_ways(wire, expected, v5);
}

TEST_CASE("SUBSCRIBE 5.0 without properties") {
    const byte_vector wire{
        0x82,            // SUBSCRIBE, flags 0010
        0x07,            // remaining length 7
        0xFF, 0xFF,      // packet identifier 65535
        0x00,            // property length 0
        0x00, 0x01, '+', // topic filter "+"
        0x00,            //   options: all zero (QoS 0, retain handling 0)
    };
    subscribe expected;
    expected.packet_id = 65535;
    expected.subscriptions = {sub("+", qos::at_most_once)};
    check_both_ways(wire, expected, v5);
}

// ---------------------------------------------------------------------------------------------
// Malformed SUBSCRIBE packets
// ---------------------------------------------------------------------------------------------

TEST_CASE("[MQTT-3.8.1-1] SUBSCRIBE fixed header flags must be 0010") {
    for (std::uint8_t first : {0x80, 0x81, 0x83, 0x8A}) {
        CAPTURE(int(first));
        CHECK(decode_error(frame(first, cat({{0x00, 0x01}, str("a"), {0x00}})), v311) ==
              errc::invalid_fixed_header_flags);
        CHECK(decode_error(frame(first, cat({{0x00, 0x01, 0x00}, str("a"), {0x00}})), v5) ==
              errc::invalid_fixed_header_flags);
    }
}

TEST_CASE("[MQTT-2.3.1-1] SUBSCRIBE with packet identifier 0 is malformed") {
    CHECK(decode_error(frame(0x82, cat({{0x00, 0x00}, str("a"), {0x00}})), v311) ==
          errc::zero_packet_id);
    CHECK(decode_error(frame(0x82, cat({{0x00, 0x00, 0x00}, str("a"), {0x00}})), v5) ==
          errc::zero_packet_id);
}

TEST_CASE("[MQTT-3.8.3-3] SUBSCRIBE with no topic filter is malformed") {
    CHECK(decode_error({0x82, 0x02, 0x00, 0x01}, v311) == errc::empty_subscription_list);
    CHECK(decode_error({0x82, 0x02, 0x00, 0x01}, v31) == errc::empty_subscription_list);
    CHECK(decode_error({0x82, 0x03, 0x00, 0x01, 0x00}, v5) == errc::empty_subscription_list);
}

TEST_CASE("[MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1] SUBSCRIBE invalid topic filters") {
    for (const char* filter : {"a/#/b", "a+", "#a", "a/b#", "+a/b", "a/+b", "##", ""}) {
        const std::string filter_text = filter;
        CAPTURE(filter_text);
        CHECK(decode_error(subscribe311(filter), v311) == errc::invalid_topic_filter);
        CHECK(decode_error(subscribe5(filter), v5) == errc::invalid_topic_filter);
    }
}

TEST_CASE("SUBSCRIBE valid unusual topic filters are accepted") {
    for (const char* filter : {"/", "//", "+/+", "a//b", "+/#", "$SYS/#", "a/b/c/d/e/f/g"}) {
        const std::string filter_text = filter;
        CAPTURE(filter_text);
        CHECK(decode_error(subscribe311(filter), v311) == errc::ok);
        CHECK(decode_error(subscribe5(filter), v5) == errc::ok);
    }
}

TEST_CASE("[MQTT-3.8.3-4] SUBSCRIBE 3.1.1 options byte: upper 6 bits reserved; QoS 3") {
    for (std::uint8_t options : {0x04, 0x08, 0x10, 0x40, 0x80, 0xFC}) {
        CAPTURE(int(options));
        CHECK(decode_error(subscribe311("a", options), v311) == errc::invalid_subscription_options);
    }
    // QoS 3 in the requested QoS byte: [MQTT-3-8.3-4] covers it together with the reserved
    // bits, but errc::invalid_qos ("QoS 3") names exactly what is wrong, so it is the more
    // specific value.
    CHECK(decode_error(subscribe311("a", 0x03), v311) == errc::invalid_qos);
    CHECK(decode_error(subscribe311("a", 0x03), v31) == errc::invalid_qos);
}

TEST_CASE("[MQTT-3.8.3-5] SUBSCRIBE 5.0 options: bits 6-7 reserved, retain handling 3; QoS 3") {
    CHECK(decode_error(subscribe5("a", 0x40), v5) == errc::invalid_subscription_options);
    CHECK(decode_error(subscribe5("a", 0x80), v5) == errc::invalid_subscription_options);
    CHECK(decode_error(subscribe5("a", 0x30), v5) == errc::invalid_subscription_options);
    CHECK(decode_error(subscribe5("a", 0x03), v5) == errc::invalid_qos); // see the 3.1.1 case
    // the same bits that are reserved in 3.1.1 are options in 5.0
    CHECK(decode_error(subscribe5("a", 0x2E), v5) == errc::ok);
}

TEST_CASE("SUBSCRIBE truncated bodies") {
    // filter without its options byte
    CHECK(decode_error(frame(0x82, cat({{0x00, 0x01}, str("a")})), v311) == errc::truncated);
    // second filter without its options byte
    CHECK(decode_error(frame(0x82, cat({{0x00, 0x01}, str("a"), {0x01}, str("b")})), v311) ==
          errc::truncated);
    // filter length beyond the body
    CHECK(decode_error(frame(0x82, {0x00, 0x01, 0x00, 0x05, 'a', 0x00}), v311) == errc::truncated);
    // one byte of packet identifier
    CHECK(decode_error(frame(0x82, {0x00}), v311) == errc::truncated);
    // 5.0: property length beyond the body
    CHECK(decode_error(frame(0x82, {0x00, 0x01, 0x0A, 0x0B, 0x01}), v5) == errc::truncated);
}

TEST_CASE("[MQTT-1.5.3-1] [MQTT-1.5.3-2] SUBSCRIBE topic filter with ill-formed UTF-8 or U+0000") {
    auto with_filter_bytes = [](const byte_vector& b) {
        return frame(0x82,
                     cat({{0x00, 0x01, 0x00, static_cast<std::uint8_t>(b.size())}, b, {0x00}}));
    };
    CHECK(decode_error(with_filter_bytes({0xED, 0xA0, 0x80}), v311) == errc::invalid_utf8);
    CHECK(decode_error(with_filter_bytes({0xC0, 0xAF}), v311) == errc::invalid_utf8);
    CHECK(decode_error(with_filter_bytes({'a', 0x80}), v311) == errc::invalid_utf8);
    CHECK(decode_error(with_filter_bytes({'a', 0x00}), v311) == errc::utf8_contains_null);
}

TEST_CASE("SUBSCRIBE 5.0 property checks") {
    // subscription identifier 0 [MQTT-3.8.2.1.2]
    CHECK(decode_error(subscribe5("a", 0x00, {0x0B, 0x00}), v5) == errc::invalid_property_value);
    // subscription identifier twice (unlike PUBLISH)
    CHECK(decode_error(subscribe5("a", 0x00, {0x0B, 0x01, 0x0B, 0x02}), v5) ==
          errc::duplicate_property);
    // topic alias is not a SUBSCRIBE property
    CHECK(decode_error(subscribe5("a", 0x00, {0x23, 0x00, 0x01}), v5) ==
          errc::property_not_allowed);
    // reason string is not a SUBSCRIBE property
    CHECK(decode_error(subscribe5("a", 0x00, {0x1F, 0x00, 0x00}), v5) ==
          errc::property_not_allowed);
    // undefined identifier
    CHECK(decode_error(subscribe5("a", 0x00, {0x05, 0x00}), v5) == errc::invalid_property_id);
    // subscription identifier as a 5-byte variable byte integer
    CHECK(decode_error(subscribe5("a", 0x00, {0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), v5) ==
          errc::malformed_variable_integer);
    // user properties may repeat
    CHECK(decode_error(
              subscribe5("a", 0x00,
                         {0x26, 0x00, 0x01, 'k', 0x00, 0x00, 0x26, 0x00, 0x01, 'k', 0x00, 0x00}),
              v5) == errc::ok);
}

TEST_CASE("MQTT 3.1: SUBSCRIBE retransmitted with DUP set (flags 1010) is accepted") {
    // MQTT 3.1 section 2.1 allows DUP on SUBSCRIBE (a QoS 1 message); 3.1.1 fixed the flags.
    const auto wire = frame(0x8A, cat({{0x00, 0x01}, str("a"), {0x00}}));
    CHECK(decode_error(wire, v31) == errc::ok);
    CHECK(decode_error(wire, v311) == errc::invalid_fixed_header_flags);
}

TEST_CASE("[MQTT-4.8.2-1] [MQTT-4.8.2-2] SUBSCRIBE 5.0 malformed shared subscription filters") {
    // No share name, '+' / '#' in the share name, no filter after the share name.
    for (const char* filter : {"$share//a", "$share/+/a", "$share/g#/a", "$share/g", "$share/g/"}) {
        const std::string filter_text = filter;
        CAPTURE(filter_text);
        CHECK(decode_error(subscribe5(filter), v5) == errc::invalid_topic_filter);
    }
    // before 5.0 "$share/..." is an ordinary filter
    CHECK(decode_error(subscribe311("$share//a"), v311) == errc::ok);
    CHECK(decode_error(subscribe311("$share/g"), v311) == errc::ok);
}

TEST_CASE("[MQTT-3.8.3-4] SUBSCRIBE 5.0 No Local on a shared subscription is rejected") {
    CHECK(decode_error(subscribe5("$share/g/a", 0x04), v5) == errc::invalid_subscription_options);
    CHECK(decode_error(subscribe5("$share/g/a", 0x00), v5) == errc::ok);
}
