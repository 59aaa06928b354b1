// Connection and server lifetimes against the clock: keep-alive expiry, the CONNECT deadline,
// and graceful stop with clients connected. Timeouts are short so that the whole suite stays
// fast; the bounds checked leave room for a loaded CI machine.
#include "running_broker.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace coromq::test;
namespace pk = coromq::packet;
using clock_type = std::chrono::steady_clock;

namespace {

/// Milliseconds since `t0`, for messages.
long long ms_since(clock_type::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
}

/// Time left until `t` (negative when it has passed).
std::chrono::milliseconds until(clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - clock_type::now());
}

} // namespace

TEST_SUITE_BEGIN("inprocess");

TEST_CASE_FIXTURE(running_broker, "[MQTT-3.1.2-24] keep-alive: closed after 1.5 x keep-alive of "
                                  "silence, kept open by PINGREQ") {
    auto idle = client();
    auto pinging = client();
    const auto t0 = clock_type::now();
    REQUIRE(idle.connect("idle", true, 1).code == 0);
    REQUIRE(pinging.connect("pinging", true, 1).code == 0);

    // Not before 1.4 s (the broker allows one and a half keep-alive periods: 1.5 s).
    pinging.ping();
    CHECK_FALSE(idle.wait_closed(until(t0 + 700ms)));
    pinging.ping();
    CHECK_FALSE(idle.wait_closed(until(t0 + 1400ms)));
    CHECK_FALSE(idle.closed());
    pinging.ping();

    // Closed soon after 1.5 s.
    CHECK(idle.wait_closed(1500ms));
    const auto closed_after = ms_since(t0);
    CAPTURE(closed_after);
    CHECK(closed_after >= 1400);
    CHECK(closed_after < 2500);

    // The client that kept talking is still served.
    CHECK_FALSE(pinging.closed());
    pinging.ping();
}

TEST_CASE("connect timeout: a connection that sends no CONNECT is closed") {
    auto config = test_config();
    config.connect_timeout = 1;
    running_broker broker(config);
    const auto t0 = clock_type::now();
    auto silent = broker.client();
    CHECK_FALSE(silent.wait_closed(900ms));
    CHECK(silent.wait_closed(1500ms));
    const auto closed_after = ms_since(t0);
    CAPTURE(closed_after);
    CHECK(closed_after >= 900);
    CHECK(closed_after < 2500);
    CHECK(broker.wait_connections(0));
    // A client that does connect in time is served as usual.
    auto prompt = broker.client();
    CHECK(prompt.connect("prompt").code == 0);
    prompt.ping();
}

TEST_CASE("graceful stop with clients connected: stop returns, run returns, clients see EOF") {
    running_broker broker;
    auto subscriber = broker.client();
    subscriber.connect("sub");
    subscriber.subscribe("t/#", q1);
    auto persistent = broker.client(v5);
    persistent.connect("persistent", false);
    auto publisher = broker.client();
    publisher.connect("pub");
    publisher.publish("t/x", "before stop", q1);
    CHECK(subscriber.receive().payload() == "before stop");
    REQUIRE(broker.server().connection_count() == 3);

    const auto t0 = clock_type::now();
    broker.stop(); // server::stop, then join the thread running server::run
    const auto stopped_after = ms_since(t0);
    CAPTURE(stopped_after);
    CHECK(stopped_after < 2000);
    broker.server().stop(); // idempotent, and harmless once stopped

    CHECK(subscriber.wait_closed(1s));
    CHECK(persistent.wait_closed(1s));
    CHECK(publisher.wait_closed(1s));
    CHECK(broker.server().connection_count() == 0);
}

TEST_CASE("graceful stop does not wait for a connection that has not sent CONNECT yet") {
    auto config = test_config();
    config.connect_timeout = 3; // the test's cost if the broker does wait for it
    running_broker broker(config);
    auto connected = broker.client();
    connected.connect("connected");
    auto silent = broker.client(); // TCP only
    REQUIRE(broker.wait_connections(2));

    const auto t0 = clock_type::now();
    broker.stop();
    const auto stopped_after = ms_since(t0);
    CAPTURE(stopped_after);
    CHECK(stopped_after < 1500);
    CHECK(connected.wait_closed(1s));
    CHECK(silent.wait_closed(1s));
}

TEST_CASE_FIXTURE(running_broker, "[MQTT-3.1.3-8] empty client id with clean session 0: CONNACK "
                                  "0x02, then closed") {
    auto c = client();
    const auto ack = c.connect("", false);
    CHECK(ack.code == 0x02);
    CHECK_FALSE(ack.session_present);
    CHECK(c.wait_closed());
    CHECK(wait_connections(0));
}

TEST_CASE_FIXTURE(running_broker, "[MQTT-3.1.0-1] a first packet that is not CONNECT closes the "
                                  "connection") {
    auto c = client();
    c.send(pk::pingreq{});
    CHECK(c.wait_closed());
    CHECK_FALSE(c.recv(0ms)); // nothing was answered
}

TEST_CASE_FIXTURE(running_broker, "[MQTT-3.1.0-2] a second CONNECT closes the connection; 5.0 "
                                  "says why first") {
    SUBCASE("3.1.1") {
        auto c = client();
        c.connect("twice");
        pk::connect again;
        again.client_id = "twice";
        c.send(again);
        CHECK(c.wait_closed());
        CHECK_FALSE(c.recv(0ms));
    }
    SUBCASE("5.0") {
        auto c = client(v5);
        c.connect("twice5");
        pk::connect again;
        again.version = v5;
        again.client_id = "twice5";
        c.send(again);
        const auto d = c.expect<pk::disconnect>();
        CHECK(d.reason == pk::reason_code::protocol_error);
        CHECK(c.wait_closed());
    }
}

TEST_SUITE_END();
