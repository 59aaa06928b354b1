// Publish and subscribe end to end: QoS 0/1/2 in both directions, retained messages, and a
// 5.0 round trip. Each test has a broker of its own (the fixture).
#include "running_broker.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace coromq::test;
namespace pk = coromq::packet;
using pk::reason_code;

TEST_SUITE_BEGIN("inprocess");

TEST_CASE_FIXTURE(running_broker, "QoS 0, 1 and 2 from publisher through broker to subscriber") {
    auto subscriber = client();
    REQUIRE(subscriber.connect("sub").code == 0);
    const auto granted = subscriber.subscribe({sub("t/0", q0), sub("t/1", q1), sub("t/2", q2)});
    CHECK(granted.codes == std::vector{reason_code::success, reason_code::granted_qos_1,
                                       reason_code::granted_qos_2});

    auto publisher = client();
    REQUIRE(publisher.connect("pub").code == 0);
    // publish() completes each flow: PUBACK for QoS 1; PUBREC, PUBREL, PUBCOMP for QoS 2.
    CHECK(publisher.publish("t/0", "zero", q0) == 0);
    publisher.publish("t/1", "one", q1);
    publisher.publish("t/2", "two", q2);

    // receive() acknowledges as the QoS requires, the broker's side of each flow included.
    const auto m0 = subscriber.receive();
    CHECK(m0.topic() == "t/0");
    CHECK(m0.payload() == "zero");
    CHECK(m0.qos_level == q0);
    CHECK(m0.packet_id == 0);
    const auto m1 = subscriber.receive();
    CHECK(m1.topic() == "t/1");
    CHECK(m1.payload() == "one");
    CHECK(m1.qos_level == q1);
    CHECK(m1.packet_id != 0);
    CHECK_FALSE(m1.dup);
    const auto m2 = subscriber.receive();
    CHECK(m2.topic() == "t/2");
    CHECK(m2.payload() == "two");
    CHECK(m2.qos_level == q2);
    CHECK(m2.packet_id != 0);
    CHECK_FALSE(m2.retain);
    // Exactly once: nothing else arrives, and acknowledged messages are not resent.
    CHECK_FALSE(subscriber.recv(300ms));
}

TEST_CASE_FIXTURE(running_broker, "two clients publish to each other at every QoS") {
    auto a = client();
    auto b = client();
    a.connect("a");
    b.connect("b");
    a.subscribe("to/a", q2);
    b.subscribe("to/b", q2);
    for (const auto q : {q0, q1, q2}) {
        CAPTURE(int(q));
        a.publish("to/b", "from a", q);
        const auto at_b = b.receive();
        CHECK(at_b.topic() == "to/b");
        CHECK(at_b.payload() == "from a");
        CHECK(at_b.qos_level == q);
        b.publish("to/a", "from b", q);
        const auto at_a = a.receive();
        CHECK(at_a.payload() == "from b");
        CHECK(at_a.qos_level == q);
    }
    CHECK_FALSE(a.recv(100ms));
    CHECK_FALSE(b.recv(100ms));
}

TEST_CASE_FIXTURE(running_broker, "delivered at the granted QoS when it is lower") {
    auto subscriber = client();
    subscriber.connect("sub");
    subscriber.subscribe("t", q1);
    auto publisher = client();
    publisher.connect("pub");
    publisher.publish("t", "two", q2);
    const auto m = subscriber.receive();
    CHECK(m.qos_level == q1);
    CHECK(m.payload() == "two");
}

TEST_CASE_FIXTURE(running_broker, "retained: sent with RETAIN 1 on subscribe, cleared by an "
                                  "empty payload") {
    auto publisher = client();
    publisher.connect("pub");
    publisher.publish("r/state", "kept", q1, true); // PUBACK: the broker has stored it

    auto subscriber = client();
    subscriber.connect("sub");
    subscriber.subscribe("r/#", q1);
    const auto retained = subscriber.receive();
    CHECK(retained.topic() == "r/state");
    CHECK(retained.payload() == "kept");
    CHECK(retained.retain);
    CHECK(retained.qos_level == q1);

    publisher.publish("r/state", "live", q0, true);
    const auto live = subscriber.receive();
    CHECK(live.payload() == "live");
    CHECK_FALSE(live.retain); // normal delivery [MQTT-3.3.1-9]

    publisher.publish("r/state", "", q1, true);
    const auto cleared = subscriber.receive();
    CHECK(cleared.payload().empty());
    CHECK_FALSE(cleared.retain);

    auto late = client();
    late.connect("late");
    late.subscribe("r/#", q1);
    CHECK_FALSE(late.recv(300ms));
}

TEST_CASE_FIXTURE(running_broker, "MQTT 5.0: connect, subscribe, publish, unsubscribe") {
    auto subscriber = client(v5);
    const auto ack = subscriber.connect("sub5");
    CHECK(ack.code == 0);
    CHECK_FALSE(ack.session_present);

    auto no_local = sub("v5/#", q1);
    no_local.no_local = true;
    const auto granted = subscriber.subscribe({no_local});
    CHECK(granted.codes == std::vector{reason_code::granted_qos_1});

    auto publisher = client(v5);
    const auto assigned = publisher.connect("", true); // the broker names the client
    REQUIRE(assigned.code == 0);
    const auto* id = pk::find_property(assigned.props, pk::property_id::assigned_client_identifier);
    REQUIRE(id != nullptr);
    CHECK_FALSE(id->value.empty());

    const pk::properties user{{pk::property_id::user_property, 0, "k", "v"}};
    publisher.publish("v5/t", "hello", q1, false, user);
    const auto m = subscriber.receive();
    CHECK(m.topic() == "v5/t");
    CHECK(m.payload() == "hello");
    CHECK(m.qos_level == q1);
    CHECK(m.props == user);

    subscriber.publish("v5/t", "own", q1); // no local: not sent back to its publisher
    CHECK_FALSE(subscriber.recv(300ms));

    const auto unsubscribed = subscriber.unsubscribe({"v5/#", "never"});
    CHECK(unsubscribed.codes ==
          std::vector{reason_code::success, reason_code::no_subscription_existed});
    publisher.publish("v5/t", "after", q0);
    CHECK_FALSE(subscriber.recv(300ms));
    subscriber.disconnect();
    publisher.disconnect();
}

TEST_CASE_FIXTURE(running_broker, "a 5.0 publisher and a 3.1.1 subscriber understand each other") {
    auto subscriber = client(v311);
    subscriber.connect("old");
    subscriber.subscribe("mixed", q2);
    auto publisher = client(v5);
    publisher.connect("new");
    publisher.publish("mixed", "across versions", q2, false,
                      {{pk::property_id::user_property, 0, "k", "v"}});
    const auto m = subscriber.receive();
    CHECK(m.payload() == "across versions");
    CHECK(m.qos_level == q2);
    CHECK(m.props.empty());
}

TEST_SUITE_END();
