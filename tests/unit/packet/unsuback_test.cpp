// UNSUBACK (3.1.1 section 3.11, 5.0 section 3.11).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

unsuback make_unsuback(std::uint16_t id, std::vector<std::uint8_t> codes = {},
                       properties props = {}) {
    unsuback u;
    u.packet_id = id;
    for (auto c : codes)
        u.codes.push_back(static_cast<reason_code>(c));
    u.props = std::move(props);
    return u;
}

} // namespace

TEST_CASE("UNSUBACK 3.1 and 3.1.1: packet identifier only") {
    const byte_vector wire{
        0xB0,       // UNSUBACK, flags 0
        0x02,       // remaining length 2
        0x00, 0x05, // packet identifier 5
    };
    check_both_ways(wire, make_unsuback(5), v31);
    check_both_ways(wire, make_unsuback(5), v311);
}

TEST_CASE("UNSUBACK 5.0 minimal") {
    const byte_vector wire{
        0xB0,       // UNSUBACK, flags 0
        0x04,       // remaining length 4
        0x00, 0x01, // packet identifier 1
        0x00,       // property length 0
        0x00,       // reason code: success
    };
    check_both_ways(wire, make_unsuback(1, {0x00}), v5);
}

TEST_CASE("UNSUBACK 5.0 with properties and every UNSUBACK reason code") {
    const byte_vector wire{
        0xB0,                                   // UNSUBACK, flags 0
        0x17,                                   // remaining length 23
        0x00, 0x06,                             // packet identifier 6
        0x0D,                                   // property length 13
        0x1F, 0x00, 0x03, 'b', 'y',  'e',       //   reason string "bye"
        0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', //   user property k=v
        0x00,                                   // success
        0x11,                                   // no subscription existed
        0x80,                                   // unspecified error
        0x83,                                   // implementation specific error
        0x87,                                   // not authorized
        0x8F,                                   // topic filter invalid
        0x91,                                   // packet identifier in use
    };
    check_both_ways(
        wire,
        make_unsuback(6, {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91},
                      {str_prop(property_id::reason_string, "bye"), user_prop("k", "v")}),
        v5);
}

TEST_CASE("[MQTT-2.2.2-2] UNSUBACK with fixed header flags other than 0000 is malformed") {
    CHECK(decode_error({0xB2, 0x02, 0x00, 0x01}, v311) == errc::invalid_fixed_header_flags);
    CHECK(decode_error({0xB1, 0x04, 0x00, 0x01, 0x00, 0x00}, v5) ==
          errc::invalid_fixed_header_flags);
}

TEST_CASE("UNSUBACK truncated and trailing bytes") {
    CHECK(decode_error({0xB0, 0x01, 0x00}, v311) == errc::truncated);
    CHECK(decode_error({0xB0, 0x03, 0x00, 0x05, 0x00}, v311) == errc::trailing_bytes);
    CHECK(decode_error({0xB0, 0x02, 0x00, 0x05}, v5) == errc::truncated); // no property length
    CHECK(decode_error({0xB0, 0x04, 0x00, 0x05, 0x03, 0x00}, v5) == errc::truncated);
}

TEST_CASE("UNSUBACK 5.0 reason code the packet may not carry") {
    CHECK(decode_error({0xB0, 0x04, 0x00, 0x01, 0x00, 0x10}, v5) == errc::invalid_reason_code);
    CHECK(decode_error({0xB0, 0x04, 0x00, 0x01, 0x00, 0x01}, v5) == errc::invalid_reason_code);
}

TEST_CASE("UNSUBACK 5.0 property checks") {
    auto with_props = [](const byte_vector& props) {
        return frame(0xB0, cat({{0x00, 0x01}, props_block(props), {0x00}}));
    };
    CHECK(decode_error(with_props({0x23, 0x00, 0x01}), v5) == errc::property_not_allowed);
    CHECK(decode_error(with_props({0x1F, 0x00, 0x00, 0x1F, 0x00, 0x00}), v5) ==
          errc::duplicate_property);
    CHECK(decode_error(with_props({0x1F, 0x00, 0x01, 0x80}), v5) == errc::invalid_utf8);
}
