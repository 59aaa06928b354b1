// Unit tests of what coromq-bench concludes from what it receives: the per-publisher sequence
// check and the latency histogram. No sockets.
#include "histogram.hpp"
#include "verify.hpp"

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdint>

using namespace coromq::bench;

TEST_CASE("sequence check: in order, gap, late arrival, duplicate") {
    sequence_check c;
    // 0 1 2 in order; 5 opens a gap (3, 4); 3 and 4 arrive late (reordered); 4 again and 2
    // again are duplicates; 6 in order; 9 opens a gap (7, 8) that never closes.
    for (std::uint32_t s : {0u, 1u, 2u, 5u, 3u, 4u, 4u, 6u, 2u, 9u}) {
        c.on(s);
    }
    CHECK(c.received() == 10);
    CHECK(c.duplicates() == 2);
    CHECK(c.reordered() == 2);
    CHECK(c.gaps() == 2);
    CHECK(c.unique() == 8); // of 10 published (0..9): 7 and 8 lost
}

TEST_CASE("sequence check: a repeat with no gap before is a duplicate, not a reorder") {
    sequence_check c;
    c.on(0);
    c.on(0);
    CHECK(c.duplicates() == 1);
    CHECK(c.reordered() == 0);
}

TEST_CASE("stamp round trip") {
    char bytes[stamp_size + 4] = {};
    write_stamp(bytes, stamp{7, 123456, 0x0102030405060708ull});
    stamp s;
    REQUIRE(read_stamp(std::string_view(bytes, sizeof bytes), s));
    CHECK(s.publisher == 7);
    CHECK(s.sequence == 123456);
    CHECK(s.sent_ns == 0x0102030405060708ull);
    CHECK_FALSE(read_stamp(std::string_view(bytes, stamp_size - 1), s));
}

TEST_CASE("histogram percentiles within 1%") {
    histogram h;
    for (std::uint64_t v = 1; v <= 100'000; ++v) {
        h.record(v * 1000); // 1 us .. 100 ms, uniform
    }
    auto near = [](std::uint64_t got, double want) {
        return double(got) > want * 0.99 && double(got) < want * 1.01;
    };
    CHECK(near(h.percentile(0.5), 50e6));
    CHECK(near(h.percentile(0.9), 90e6));
    CHECK(near(h.percentile(0.99), 99e6));
    CHECK(near(h.percentile(0.999), 99.9e6));
    CHECK(h.max() == 100'000'000);
    CHECK(h.min() == 1000);
    CHECK(h.count() == 100'000);
}

TEST_CASE("histogram: small values are exact, merge adds") {
    histogram a;
    histogram b;
    a.record(5);
    b.record(100);
    a.merge(b);
    CHECK(a.count() == 2);
    CHECK(a.percentile(0.5) == 5);
    CHECK(a.percentile(1.0) == 100);
}
