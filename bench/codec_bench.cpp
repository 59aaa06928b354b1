// Micro-benchmarks of the PUBLISH hot path: decode (framing included), encode of the header a
// recipient gets in a gather write, and full encode. 3.1.1 and 5.0, payloads of 16 B, 256 B
// and 4 KiB. Run: codec_bench --benchmark_min_time=0.1
#include <coromq/packet/codec.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace {

using namespace coromq::packet;

constexpr std::uint32_t max_packet_size = 1024 * 1024;

/// A QoS 1 PUBLISH as a broker sees one; in 5.0 with a message expiry and a user property.
publish make_publish(std::size_t payload_size, protocol_version v) {
    publish p;
    p.qos_level = qos::at_least_once;
    p.packet_id = 4242;
    p.message = message_buffer("sensors/building-7/floor-3/room-12/temperature",
                               std::string(payload_size, 'x'));
    if (v == protocol_version::v5) {
        property expiry;
        expiry.id = property_id::message_expiry_interval;
        expiry.number = 3600;
        property trace;
        trace.id = property_id::user_property;
        trace.key = "trace";
        trace.value = "abc123";
        p.props = {expiry, trace};
    }
    return p;
}

std::string wire_of(const publish& p, protocol_version v) {
    std::string out;
    encode(p, v, out);
    return out;
}

/// parse_fixed_header + decode of one whole PUBLISH, as a connection's read loop does it.
void decode_publish(benchmark::State& state, protocol_version v) {
    const std::string wire = wire_of(make_publish(std::size_t(state.range(0)), v), v);
    const bytes_view bytes(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
    for (auto _ : state) {
        auto header = parse_fixed_header(bytes, max_packet_size);
        const fixed_header& h = **header;
        auto packet = decode(h, bytes.subspan(h.size, h.remaining_length), v);
        if (!packet) {
            state.SkipWithError("decode failed");
            break;
        }
        benchmark::DoNotOptimize(packet);
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(wire.size()));
}

/// The per-recipient part of a fan-out: everything but the payload.
void encode_header(benchmark::State& state, protocol_version v) {
    const publish p = make_publish(std::size_t(state.range(0)), v);
    std::string out;
    for (auto _ : state) {
        out.clear();
        encode_publish_header(p, v, out);
        benchmark::DoNotOptimize(out.data());
    }
}

/// The whole packet, payload copied: what a gather write avoids.
void encode_full(benchmark::State& state, protocol_version v) {
    const publish p = make_publish(std::size_t(state.range(0)), v);
    std::string out;
    for (auto _ : state) {
        out.clear();
        encode(p, v, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(out.size()));
}

void payload_sizes(benchmark::internal::Benchmark* b) {
    b->Arg(16)->Arg(256)->Arg(4096);
}

BENCHMARK_CAPTURE(decode_publish, v311, protocol_version::v3_1_1)->Apply(payload_sizes);
BENCHMARK_CAPTURE(decode_publish, v5, protocol_version::v5)->Apply(payload_sizes);
BENCHMARK_CAPTURE(encode_header, v311, protocol_version::v3_1_1)->Apply(payload_sizes);
BENCHMARK_CAPTURE(encode_header, v5, protocol_version::v5)->Apply(payload_sizes);
BENCHMARK_CAPTURE(encode_full, v311, protocol_version::v3_1_1)->Apply(payload_sizes);
BENCHMARK_CAPTURE(encode_full, v5, protocol_version::v5)->Apply(payload_sizes);

} // namespace

BENCHMARK_MAIN();
