// SUBACK (3.1.1 section 3.9, 5.0 section 3.9).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

suback make_suback(std::uint16_t id, std::vector<std::uint8_t> codes, properties props = {}) {
    suback s;
    s.packet_id = id;
    for (auto c : codes)
        s.codes.push_back(static_cast<reason_code>(c));
    s.props = std::move(props);
    return s;
}

} // namespace

TEST_CASE("SUBACK 3.1 granted QoS") {
    const byte_vector wire{
        0x90,       // SUBACK, flags 0
        0x04,       // remaining length 4
        0x00, 0x0A, // packet identifier 10
        0x01,       // granted QoS 1
        0x02,       // granted QoS 2
    };
    check_both_ways(wire, make_suback(10, {0x01, 0x02}), v31);
}

TEST_CASE("SUBACK 3.1.1 granted QoS and failure") {
    const byte_vector wire{
        0x90,       // SUBACK, flags 0
        0x06,       // remaining length 6
        0x00, 0x0B, // packet identifier 11
        0x00,       // success, maximum QoS 0
        0x01,       // success, maximum QoS 1
        0x02,       // success, maximum QoS 2
        0x80,       // failure
    };
    check_both_ways(wire, make_suback(11, {0x00, 0x01, 0x02, 0x80}), v311);
}

TEST_CASE("SUBACK 5.0 minimal") {
    const byte_vector wire{
        0x90,       // SUBACK, flags 0
        0x04,       // remaining length 4
        0x00, 0x01, // packet identifier 1
        0x00,       // property length 0
        0x01,       // reason code: granted QoS 1
    };
    check_both_ways(wire, make_suback(1, {0x01}), v5);
}

TEST_CASE("SUBACK 5.0 with properties and every SUBACK reason code") {
    const byte_vector wire{
        0x90,                                   // SUBACK, flags 0
        0x1B,                                   // remaining length 27
        0x00, 0x0C,                             // packet identifier 12
        0x0C,                                   // property length 12
        0x1F, 0x00, 0x02, 'n', 'o',             //   reason string "no"
        0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', //   user property k=v
        0x00,                                   // granted QoS 0
        0x01,                                   // granted QoS 1
        0x02,                                   // granted QoS 2
        0x80,                                   // unspecified error
        0x83,                                   // implementation specific error
        0x87,                                   // not authorized
        0x8F,                                   // topic filter invalid
        0x91,                                   // packet identifier in use
        0x97,                                   // quota exceeded
        0x9E,                                   // shared subscriptions not supported
        0xA1,                                   // subscription identifiers not supported
        0xA2,                                   // wildcard subscriptions not supported
    };
    check_both_ways(
        wire,
        make_suback(12, {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2},
                    {str_prop(property_id::reason_string, "no"), user_prop("k", "v")}),
        v5);
}

TEST_CASE("[MQTT-2.2.2-2] SUBACK with fixed header flags other than 0000 is malformed") {
    CHECK(decode_error({0x92, 0x03, 0x00, 0x01, 0x00}, v311) == errc::invalid_fixed_header_flags);
    CHECK(decode_error({0x91, 0x04, 0x00, 0x01, 0x00, 0x00}, v5) ==
          errc::invalid_fixed_header_flags);
}

TEST_CASE("SUBACK reason code the packet may not carry") {
    // 3.1.1 allows 0x00, 0x01, 0x02, 0x80 only [MQTT-3.9.3-2]
    CHECK(decode_error({0x90, 0x03, 0x00, 0x01, 0x03}, v311) == errc::invalid_reason_code);
    CHECK(decode_error({0x90, 0x03, 0x00, 0x01, 0x87}, v311) == errc::invalid_reason_code);
    // 5.0: disconnect with will message / no subscription existed are not SUBACK codes
    CHECK(decode_error({0x90, 0x04, 0x00, 0x01, 0x00, 0x04}, v5) == errc::invalid_reason_code);
    CHECK(decode_error({0x90, 0x04, 0x00, 0x01, 0x00, 0x11}, v5) == errc::invalid_reason_code);
}

TEST_CASE("SUBACK truncated") {
    CHECK(decode_error({0x90, 0x01, 0x00}, v311) == errc::truncated);
    CHECK(decode_error({0x90, 0x02, 0x00, 0x01}, v5) == errc::truncated); // no property length
    CHECK(decode_error({0x90, 0x04, 0x00, 0x01, 0x05, 0x00}, v5) == errc::truncated);
}

TEST_CASE("SUBACK 5.0 property checks") {
    auto with_props = [](const byte_vector& props) {
        return frame(0x90, cat({{0x00, 0x01}, props_block(props), {0x00}}));
    };
    CHECK(decode_error(with_props({0x0B, 0x01}), v5) == errc::property_not_allowed);
    CHECK(decode_error(with_props({0x11, 0x00, 0x00, 0x00, 0x00}), v5) ==
          errc::property_not_allowed);
    CHECK(decode_error(with_props({0x1F, 0x00, 0x00, 0x1F, 0x00, 0x00}), v5) ==
          errc::duplicate_property);
    // identifier 255, written as the two-byte variable byte integer ff 01
    CHECK(decode_error(with_props({0xFF, 0x01, 0x00}), v5) == errc::invalid_property_id);
}
