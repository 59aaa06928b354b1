// libFuzzer target for the codec: framing, decoding, and the round-trip property.
//
// Input layout: the first byte chooses the protocol version of the connection
// (3 + byte % 3, so 3, 4 and 5 map to themselves), the rest is a byte stream of packets.
// For every frame in the stream:
//   1. parse_fixed_header with a 64 KiB maximum packet size; stop on error or need-more;
//   2. decode the body (decode_connect for CONNECT, which carries its own version);
//   3. for every packet that decodes, encode it, frame and decode the encoding again, and
//      trap unless the result equals the first decode. The second encoding must also be
//      byte-identical to the first (encoding is a function of the decoded value), and for
//      PUBLISH encoded_size and encode_publish_header must agree with encode.
// Any decode error is a normal outcome; only a crash, a sanitizer report or a trap is a
// finding.
#include <coromq/packet/codec.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace {

using namespace coromq::packet;

constexpr std::uint32_t max_packet_size = 64 * 1024;

bytes_view as_bytes(const std::string& s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

[[noreturn]] void fail() {
    __builtin_trap();
}

void check(bool ok) {
    if (!ok) {
        fail();
    }
}

/// Frames and decodes one whole encoded packet, which must be valid and complete.
result<any_packet> decode_whole(const std::string& wire, protocol_version version) {
    const auto bytes = as_bytes(wire);
    auto header = parse_fixed_header(bytes, max_remaining_length);
    check(header.has_value());  // our own encoding must frame
    check(header->has_value()); // ... completely
    const fixed_header& h = **header;
    check(h.packet_size() == wire.size()); // ... with nothing left over
    const auto body = bytes.subspan(h.size);
    if (h.type == packet_type::connect) {
        auto c = decode_connect(h, body);
        if (!c) {
            return c.error();
        }
        return any_packet{std::move(*c)};
    }
    return decode(h, body, version);
}

std::string encode_any(const any_packet& p, protocol_version version) {
    std::string out;
    encode(p, version, out);
    return out;
}

void round_trip(const any_packet& first, protocol_version version) {
    // CONNECT is encoded in the version it names, and decoded back from it.
    if (const auto* c = std::get_if<connect>(&first)) {
        version = c->version;
    }
    const std::string wire = encode_any(first, version);
    const auto second = decode_whole(wire, version);
    check(second.has_value()); // what we encode, we must accept
    check(*second == first);
    check(encode_any(*second, version) == wire);

    if (const auto* p = std::get_if<publish>(&first)) {
        check(encoded_size(*p, version) == wire.size());
        std::string header;
        encode_publish_header(*p, version, header);
        check(header.size() + p->payload().size() == wire.size());
        check(wire.compare(0, header.size(), header) == 0);
        check(wire.compare(header.size(), std::string::npos, p->payload()) == 0);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const auto version = static_cast<protocol_version>(3 + data[0] % 3);
    bytes_view stream(data + 1, size - 1);

    while (!stream.empty()) {
        const auto header = parse_fixed_header(stream, max_packet_size);
        if (!header || !header->has_value()) {
            return 0; // malformed, or needs more bytes than there are
        }
        const fixed_header& h = **header;
        check(h.size >= 2 && h.size <= 5);
        check(h.packet_size() <= max_packet_size);
        if (stream.size() < h.packet_size()) {
            return 0;
        }
        const auto body = stream.subspan(h.size, h.remaining_length);
        stream = stream.subspan(h.packet_size());

        if (h.type == packet_type::connect) {
            if (auto c = decode_connect(h, body)) {
                round_trip(any_packet{std::move(*c)}, version);
            }
            continue;
        }
        if (auto p = decode(h, body, version)) {
            check(type_of(*p) == h.type);
            round_trip(*p, version);
        }
    }
    return 0;
}
