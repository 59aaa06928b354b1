// UNSUBSCRIBE (3.1.1 section 3.10, 5.0 section 3.10).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

unsubscribe make_unsubscribe(std::uint16_t id, std::vector<std::string> filters,
                             properties props = {}) {
    unsubscribe u;
    u.packet_id = id;
    u.filters = std::move(filters);
    u.props = std::move(props);
    return u;
}

} // namespace

TEST_CASE("UNSUBSCRIBE 3.1 one filter") {
    const byte_vector wire{
        0xA2,                      // UNSUBSCRIBE, flags 0010
        0x07,                      // remaining length 7
        0x00, 0x05,                // packet identifier 5
        0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
    };
    check_both_ways(wire, make_unsubscribe(5, {"a/b"}), v31);
}

TEST_CASE("UNSUBSCRIBE 3.1.1 three filters") {
    const byte_vector wire{
        0xA2,                             // UNSUBSCRIBE, flags 0010
        0x10,                             // remaining length 16
        0x00, 0x06,                       // packet identifier 6
        0x00, 0x03, 'a',  '/',  '+',      // topic filter "a/+"
        0x00, 0x01, '#',                  // topic filter "#"
        0x00, 0x04, 0xC3, 0xA9, '/', '#', // topic filter "é/#"
    };
    check_both_ways(wire, make_unsubscribe(6, {"a/+", "#", "\xC3\xA9/#"}), v311);
}

TEST_CASE("UNSUBSCRIBE 5.0 with a user property and a shared subscription filter") {
    const byte_vector wire{
        0xA2,                                   // UNSUBSCRIBE, flags 0010
        0x1D,                                   // remaining length 29
        0x00, 0x07,                             // packet identifier 7
        0x07,                                   // property length 7
        0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', //   user property k=v
        0x00, 0x03, 'a',  '/', 'b',             // topic filter "a/b"
        0x00, 0x0C, '$',  's', 'h',  'a',  'r', 'e', '/', 'g', '/', 'x', '/', '#', // "$share/g/x/#"
    };
    check_both_ways(wire, make_unsubscribe(7, {"a/b", "$share/g/x/#"}, {user_prop("k", "v")}), v5);
}

TEST_CASE("UNSUBSCRIBE 5.0 without properties") {
    const byte_vector wire{
        0xA2,            // UNSUBSCRIBE, flags 0010
        0x06,            // remaining length 6
        0x01, 0x02,      // packet identifier 258
        0x00,            // property length 0
        0x00, 0x01, 'x', // topic filter "x"
    };
    check_both_ways(wire, make_unsubscribe(258, {"x"}), v5);
}

TEST_CASE("[MQTT-3.10.1-1] UNSUBSCRIBE fixed header flags must be 0010") {
    for (std::uint8_t first : {0xA0, 0xA1, 0xA3, 0xAA}) {
        CAPTURE(int(first));
        CHECK(decode_error(frame(first, cat({{0x00, 0x01}, str("a")})), v311) ==
              errc::invalid_fixed_header_flags);
        CHECK(decode_error(frame(first, cat({{0x00, 0x01, 0x00}, str("a")})), v5) ==
              errc::invalid_fixed_header_flags);
    }
}

TEST_CASE("[MQTT-2.3.1-1] UNSUBSCRIBE with packet identifier 0 is malformed") {
    CHECK(decode_error(frame(0xA2, cat({{0x00, 0x00}, str("a")})), v311) == errc::zero_packet_id);
    CHECK(decode_error(frame(0xA2, cat({{0x00, 0x00, 0x00}, str("a")})), v5) ==
          errc::zero_packet_id);
}

TEST_CASE("[MQTT-3.10.3-2] UNSUBSCRIBE with no topic filter is malformed") {
    CHECK(decode_error({0xA2, 0x02, 0x00, 0x01}, v311) == errc::empty_subscription_list);
    CHECK(decode_error({0xA2, 0x03, 0x00, 0x01, 0x00}, v5) == errc::empty_subscription_list);
}

TEST_CASE("[MQTT-4.7.1-2] [MQTT-4.7.1-3] UNSUBSCRIBE invalid topic filters") {
    for (const char* filter : {"a/#/b", "a+", "#a", ""}) {
        const std::string filter_text = filter;
        CAPTURE(filter_text);
        CHECK(decode_error(frame(0xA2, cat({{0x00, 0x01}, str(filter)})), v311) ==
              errc::invalid_topic_filter);
        CHECK(decode_error(frame(0xA2, cat({{0x00, 0x01, 0x00}, str(filter)})), v5) ==
              errc::invalid_topic_filter);
    }
}

TEST_CASE("UNSUBSCRIBE truncated and ill-formed UTF-8") {
    CHECK(decode_error(frame(0xA2, {0x00, 0x01, 0x00, 0x04, 'a'}), v311) == errc::truncated);
    CHECK(decode_error(frame(0xA2, cat({{0x00, 0x01}, str("a"), {0x00}})), v311) ==
          errc::truncated);
    CHECK(decode_error(frame(0xA2, {0x00, 0x01, 0x00, 0x03, 0xED, 0xA0, 0x80}), v311) ==
          errc::invalid_utf8);
    CHECK(decode_error(frame(0xA2, {0x00, 0x01, 0x00, 0x01, 0x00}), v311) ==
          errc::utf8_contains_null);
}

TEST_CASE("UNSUBSCRIBE 5.0 property checks: only user properties") {
    auto with_props = [](const byte_vector& props) {
        return frame(0xA2, cat({{0x00, 0x01}, props_block(props), str("a")}));
    };
    CHECK(decode_error(with_props({0x0B, 0x01}), v5) == errc::property_not_allowed);
    CHECK(decode_error(with_props({0x1F, 0x00, 0x00}), v5) == errc::property_not_allowed);
    CHECK(decode_error(with_props({0x2C, 0x00}), v5) == errc::invalid_property_id);
    CHECK(decode_error(with_props({0x26, 0x00, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00}),
                       v5) == errc::ok);
}

TEST_CASE("MQTT 3.1: UNSUBSCRIBE retransmitted with DUP set (flags 1010) is accepted") {
    // MQTT 3.1 section 2.1 allows DUP on UNSUBSCRIBE (a QoS 1 message); 3.1.1 fixed the flags.
    const auto wire = frame(0xAA, cat({{0x00, 0x01}, str("a")}));
    CHECK(decode_error(wire, v31) == errc::ok);
    CHECK(decode_error(wire, v311) == errc::invalid_fixed_header_flags);
}

TEST_CASE("[MQTT-4.8.2-1] [MQTT-4.8.2-2] UNSUBSCRIBE 5.0 malformed shared subscription filters") {
    for (const char* filter : {"$share//a", "$share/+/a", "$share/g"}) {
        const std::string filter_text = filter;
        CAPTURE(filter_text);
        CHECK(decode_error(frame(0xA2, cat({{0x00, 0x01, 0x00}, str(filter)})), v5) ==
              errc::invalid_topic_filter);
    }
}
