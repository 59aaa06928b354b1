// Framing: parse_fixed_header (section 2.1, 2.2) on its own, before any body has arrived.
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

constexpr std::uint32_t no_limit = std::numeric_limits<std::uint32_t>::max();

// The fixed header of `bytes`, failing the check when it is an error or needs more.
fixed_header header_of(const byte_vector& bytes, std::uint32_t max = no_limit) {
    auto r = parse_fixed_header(bytes, max);
    const auto bytes_hex = hex(bytes);
    CAPTURE(bytes_hex);
    REQUIRE(r.has_value());
    REQUIRE(r->has_value());
    return **r;
}

bool needs_more(const byte_vector& bytes) {
    auto r = parse_fixed_header(bytes, no_limit);
    return r.has_value() && !r->has_value();
}

errc header_error(const byte_vector& bytes, std::uint32_t max = no_limit) {
    auto r = parse_fixed_header(bytes, max);
    return r ? errc::ok : to_errc(r.error());
}

} // namespace

TEST_CASE("fixed header: need more bytes until the remaining length is complete") {
    CHECK(needs_more({}));
    CHECK(needs_more({0x30}));
    CHECK(needs_more({0x30, 0x80}));
    CHECK(needs_more({0x30, 0xFF, 0xFF}));
    CHECK(needs_more({0x30, 0xFF, 0xFF, 0xFF}));
}

TEST_CASE("fixed header: type, flags, remaining length and size; the body is not needed") {
    auto h = header_of({0x30, 0x00});
    CHECK(h.type == packet_type::publish);
    CHECK(h.flags == 0);
    CHECK(h.remaining_length == 0);
    CHECK(h.size == 2);
    CHECK(h.packet_size() == 2);

    h = header_of({0x3D, 0xFF, 0x7F}); // PUBLISH DUP QoS 2 retain, remaining length 16383
    CHECK(h.type == packet_type::publish);
    CHECK(h.flags == 0x0D);
    CHECK(h.remaining_length == 16383);
    CHECK(h.size == 3);
    CHECK(h.packet_size() == 16386);

    h = header_of({0x82, 0x80, 0x80, 0x01}); // SUBSCRIBE, remaining length 16384
    CHECK(h.type == packet_type::subscribe);
    CHECK(h.flags == 0x02);
    CHECK(h.remaining_length == 16384);
    CHECK(h.size == 4);

    h = header_of({0x30, 0xFF, 0xFF, 0xFF, 0x7F}); // the largest remaining length
    CHECK(h.remaining_length == max_remaining_length);
    CHECK(h.size == 5);
    CHECK(h.packet_size() == std::size_t{max_remaining_length} + 5);

    // bytes after the fixed header (the body, or the next packet) are ignored
    h = header_of({0xC0, 0x00, 0xD0, 0x00});
    CHECK(h.type == packet_type::pingreq);
    CHECK(h.size == 2);
}

TEST_CASE("fixed header: every packet type with its required flags is accepted") {
    const std::uint8_t firsts[] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x62, 0x70, 0x82,
                                   0x90, 0xA2, 0xB0, 0xC0, 0xD0, 0xE0, 0xF0};
    std::uint8_t type = 1;
    for (auto first : firsts) {
        CAPTURE(int(first));
        auto h = header_of({first, 0x00});
        CHECK(static_cast<int>(h.type) == type);
        CHECK(h.flags == (first & 0x0F));
        ++type;
    }
}

TEST_CASE("[MQTT-1.5.5-1] fixed header: a fifth remaining length byte is malformed") {
    CHECK(header_error({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}) == errc::malformed_remaining_length);
    CHECK(header_error({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}) == errc::malformed_remaining_length);
    // also through the whole-packet path
    CHECK(decode_error({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}, v311, no_limit) ==
          errc::malformed_remaining_length);
}

TEST_CASE("fixed header: four continuation bytes are malformed without waiting for a fifth") {
    // A fifth length byte is never valid, so there is nothing to wait for.
    CHECK(header_error({0x30, 0x80, 0x80, 0x80, 0x80}) == errc::malformed_remaining_length);
}

TEST_CASE("fixed header: packet too large is detected from the header alone") {
    // PUBLISH declaring 1000 bytes of body; only the fixed header is there.
    const byte_vector header{0x30, 0xE8, 0x07}; // remaining length 1000, whole packet 1003
    CHECK(header_error(header, 1002) == errc::packet_too_large);
    CHECK(header_error(header, 1000) == errc::packet_too_large);
    CHECK(header_error(header, 1003) == errc::ok);
    CHECK(header_of(header, 1003).packet_size() == 1003);
    // the largest declarable packet against a 1 MiB limit
    CHECK(header_error({0x30, 0xFF, 0xFF, 0xFF, 0x7F}, 1u << 20) == errc::packet_too_large);
    // a two-byte packet against the smallest useful limit
    CHECK(header_error({0xC0, 0x00}, 2) == errc::ok);
    CHECK(header_error({0xC0, 0x01}, 2) == errc::packet_too_large);
}

TEST_CASE("fixed header: packet type 0 is reserved") {
    CHECK(header_error({0x00, 0x00}) == errc::reserved_packet_type);
    CHECK(decode_error({0x00, 0x00}, v311) == errc::reserved_packet_type);
    CHECK(decode_error({0x00, 0x00}, v5) == errc::reserved_packet_type);
}

TEST_CASE("[MQTT-2.2.2-2] fixed header: flags no version allows are rejected by the header") {
    CHECK(header_error({0x11, 0x00}) == errc::invalid_fixed_header_flags); // CONNECT 0001
    CHECK(header_error({0x24, 0x02}) == errc::invalid_fixed_header_flags); // CONNACK 0100
    CHECK(header_error({0x41, 0x02}) == errc::invalid_fixed_header_flags); // PUBACK 0001
    CHECK(header_error({0x61, 0x02}) == errc::invalid_fixed_header_flags); // PUBREL 0001
    CHECK(header_error({0x81, 0x02}) == errc::invalid_fixed_header_flags); // SUBSCRIBE 0001
    CHECK(header_error({0x9F, 0x02}) == errc::invalid_fixed_header_flags); // SUBACK 1111
    CHECK(header_error({0xA1, 0x02}) == errc::invalid_fixed_header_flags); // UNSUBSCRIBE 0001
    CHECK(header_error({0xC1, 0x00}) == errc::invalid_fixed_header_flags); // PINGREQ 0001
    CHECK(header_error({0xDF, 0x00}) == errc::invalid_fixed_header_flags); // PINGRESP 1111
    CHECK(header_error({0xE4, 0x00}) == errc::invalid_fixed_header_flags); // DISCONNECT 0100
    CHECK(header_error({0xF1, 0x00}) == errc::invalid_fixed_header_flags); // AUTH 0001
}

TEST_CASE("to_string and the error category name every error") {
    for (int i = 0; i <= static_cast<int>(errc::invalid_connack_flags); ++i) {
        auto e = static_cast<errc>(i);
        CAPTURE(i);
        REQUIRE(to_string(e) != nullptr);
        CHECK(std::string_view(to_string(e)).size() > 0);
        auto ec = make_error_code(e);
        CHECK(ec.category() == category());
        CHECK(ec.value() == i);
        CHECK(!ec.message().empty());
    }
    CHECK(std::string_view(category().name()).size() > 0);
    // errc converts to an error code implicitly
    boost::system::error_code ec = errc::truncated;
    CHECK(ec == make_error_code(errc::truncated));
}

TEST_CASE("[MQTT-1.5.5-1] fixed header: a non-minimal remaining length is malformed") {
    CHECK(header_error({0xC0, 0x80, 0x00}) == errc::malformed_remaining_length);
    CHECK(header_error({0x30, 0x85, 0x80, 0x00}) == errc::malformed_remaining_length);
}

TEST_CASE("[MQTT-1.5.5-1] 5.0 property identifier and length: non-minimal encoding is malformed") {
    // PUBACK 5.0 with property length 00 written as 80 00
    CHECK(decode_error({0x40, 0x05, 0x00, 0x01, 0x00, 0x80, 0x00}, v5) ==
          errc::malformed_variable_integer);
    // reason string identifier 1f written as 9f 00
    CHECK(decode_error({0x40, 0x08, 0x00, 0x01, 0x00, 0x04, 0x9F, 0x00, 0x00, 0x00}, v5) ==
          errc::malformed_variable_integer);
}
