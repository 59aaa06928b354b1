// Sessions end to end: wills, persistent sessions across reconnects (queued messages and DUP
// redelivery), and take-over of a client id.
#include "running_broker.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace coromq::test;
namespace pk = coromq::packet;

namespace {

pk::connect connect_with_will(std::string id, bool clean, std::string_view will_topic,
                              std::string_view will_payload) {
    pk::connect c;
    c.client_id = std::move(id);
    c.clean_start = clean;
    c.last_will = pk::will{pk::message_buffer(will_topic, will_payload), q1, false, {}};
    return c;
}

} // namespace

TEST_SUITE_BEGIN("inprocess");

TEST_CASE_FIXTURE(running_broker, "[MQTT-3.1.2-8] the will is published when a client vanishes") {
    auto watcher = client();
    watcher.connect("watcher");
    watcher.subscribe("wills/#", q1);

    auto device = client();
    REQUIRE(device.connect(connect_with_will("dev", true, "wills/dev", "dev died")).code == 0);
    device.close(); // no DISCONNECT
    const auto will = watcher.receive();
    CHECK(will.topic() == "wills/dev");
    CHECK(will.payload() == "dev died");
    CHECK(will.qos_level == q1);
    CHECK_FALSE(will.retain);
}

TEST_CASE_FIXTURE(running_broker, "[MQTT-3.1.2-10] no will after DISCONNECT") {
    auto watcher = client();
    watcher.connect("watcher");
    watcher.subscribe("wills/#", q1);

    auto device = client();
    device.connect(connect_with_will("dev", true, "wills/dev", "dev died"));
    device.disconnect();
    REQUIRE(wait_connections(1)); // the broker has finished with it
    CHECK_FALSE(watcher.recv(200ms));
}

TEST_CASE_FIXTURE(running_broker, "[MQTT-4.4.0-1] a persistent session keeps subscriptions and "
                                  "messages; unacknowledged ones come back with DUP 1") {
    auto publisher = client();
    publisher.connect("pub");

    auto first = client();
    CHECK_FALSE(first.connect("persist", false).session_present);
    first.subscribe("p/#", q1);
    publisher.publish("p/1", "unacknowledged", q1);
    const auto original = first.expect<pk::publish>(); // and never acknowledged
    CHECK_FALSE(original.dup);
    first.disconnect();
    REQUIRE(wait_connections(1)); // detached: what follows is queued for an offline session

    publisher.publish("p/2", "queued 1", q1);
    publisher.publish("p/3", "queued 0", q0);

    auto second = client();
    CHECK(second.connect("persist", false).session_present);
    const auto again = second.expect<pk::publish>();
    CHECK(again.dup); // [MQTT-3.3.1-1]
    CHECK(again.packet_id == original.packet_id);
    CHECK(again.payload() == "unacknowledged");
    second.ack(again);
    const auto q1_message = second.receive();
    CHECK(q1_message.payload() == "queued 1");
    CHECK(q1_message.qos_level == q1);
    CHECK_FALSE(q1_message.dup);
    const auto q0_message = second.receive();
    CHECK(q0_message.payload() == "queued 0");
    CHECK(q0_message.qos_level == q0);
    CHECK_FALSE(second.recv(200ms));
    second.disconnect();
    REQUIRE(wait_connections(1));

    // Everything was acknowledged: the third connection resumes an empty session.
    auto third = client();
    CHECK(third.connect("persist", false).session_present);
    CHECK_FALSE(third.recv(300ms));
    // Clean session 1 ends it [MQTT-3.1.2-6].
    third.disconnect();
    REQUIRE(wait_connections(1));
    auto clean = client();
    CHECK_FALSE(clean.connect("persist", true).session_present);
    publisher.publish("p/4", "nobody", q1);
    CHECK_FALSE(clean.recv(200ms));
}

TEST_CASE_FIXTURE(running_broker, "[MQTT-3.1.4-2] a second connection with the same id takes "
                                  "over: the first is closed and its will published") {
    auto watcher = client();
    watcher.connect("watcher");
    watcher.subscribe("wills/#", q1);

    auto first = client();
    first.connect(connect_with_will("same", false, "wills/same", "taken over"));
    first.subscribe("same/in", q1);

    auto second = client();
    const auto ack = second.connect("same", false);
    CHECK(ack.code == 0);
    CHECK(ack.session_present);
    CHECK(first.wait_closed());
    const auto will = watcher.receive();
    CHECK(will.payload() == "taken over");

    // The session, with its subscription, now belongs to the second connection.
    auto publisher = client();
    publisher.connect("pub");
    publisher.publish("same/in", "for the new owner", q1);
    CHECK(second.receive().payload() == "for the new owner");
    second.ping(); // and it is alive
}

TEST_SUITE_END();
