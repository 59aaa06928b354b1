// message_buffer (topic and payload in one shared immutable allocation), find_property,
// type_of and to_string(packet_type).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

using namespace coromq::packet;
using namespace coromq::packet::test;

TEST_CASE("message_buffer: topic and payload views") {
    message_buffer m("a/b", "hello");
    CHECK(m.topic() == "a/b");
    CHECK(m.payload() == "hello");
    CHECK(!m.empty());
}

TEST_CASE("message_buffer: binary payload with zero bytes and a UTF-8 topic") {
    const std::string payload("\x00\x01\x00\xFF", 4);
    message_buffer m("\xC3\xA9/x", payload);
    CHECK(m.topic() == "\xC3\xA9/x");
    CHECK(m.payload().size() == 4);
    CHECK(m.payload() == payload);
}

TEST_CASE("message_buffer: empty payload and empty topic") {
    message_buffer m("t", "");
    CHECK(m.topic() == "t");
    CHECK(m.payload().empty());
    message_buffer n("", "p");
    CHECK(n.topic().empty());
    CHECK(n.payload() == "p");
}

TEST_CASE("message_buffer: default constructed is empty") {
    message_buffer m;
    CHECK(m.empty());
    CHECK(m.topic().empty());
    CHECK(m.payload().empty());
    CHECK(m == message_buffer{});
}

TEST_CASE("message_buffer: copies the caller's bytes into its own storage") {
    std::string topic = "a/b";
    std::string payload = "xyz";
    message_buffer m(topic, payload);
    CHECK(m.topic().data() != topic.data());
    CHECK(m.payload().data() != payload.data());
    topic[0] = 'Z';
    payload[0] = 'Z';
    CHECK(m.topic() == "a/b");
    CHECK(m.payload() == "xyz");
}

TEST_CASE("message_buffer: topic and payload live in one allocation") {
    message_buffer m("topic", "payload");
    CHECK(m.payload().data() == m.topic().data() + m.topic().size());
}

TEST_CASE("message_buffer: a copy shares the same storage") {
    message_buffer m("a/b", "payload");
    message_buffer copy = m;
    CHECK(copy.topic().data() == m.topic().data());
    CHECK(copy.payload().data() == m.payload().data());
    CHECK(copy == m);

    message_buffer assigned;
    assigned = m;
    CHECK(assigned.payload().data() == m.payload().data());

    // the storage outlives the original
    const char* data = m.payload().data();
    {
        message_buffer moved = std::move(m);
        CHECK(moved.payload().data() == data);
        copy = moved;
    }
    CHECK(copy.payload().data() == data);
    CHECK(copy.payload() == "payload");
}

TEST_CASE("message_buffer: equality compares contents, not storage") {
    message_buffer a("t", "p");
    message_buffer b("t", "p");
    CHECK(a.payload().data() != b.payload().data());
    CHECK(a == b);
    CHECK(!(a == message_buffer("t", "q")));
    CHECK(!(a == message_buffer("u", "p")));
    // the boundary between topic and payload matters
    CHECK(!(message_buffer("ab", "c") == message_buffer("a", "bc")));
}

TEST_CASE("message_buffer: copying a PUBLISH (one per subscriber) shares the payload") {
    publish p;
    p.qos_level = qos::at_least_once;
    p.packet_id = 1;
    p.message = message_buffer("t", std::string(1000, 'x'));
    publish for_subscriber = p;
    for_subscriber.packet_id = 2;
    CHECK(for_subscriber.payload().data() == p.payload().data());
    CHECK(for_subscriber.topic().data() == p.topic().data());
}

TEST_CASE("message_buffer: a decoded PUBLISH exposes topic and payload through its buffer") {
    const byte_vector wire{
        0x30,                      // PUBLISH, QoS 0
        0x08,                      // remaining length 8
        0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
        'x',  'y',  'z',           // payload "xyz"
    };
    auto decoded = decode_ok(wire, v311);
    REQUIRE(std::holds_alternative<publish>(decoded));
    const auto& p = std::get<publish>(decoded);
    CHECK(p.topic() == "a/b");
    CHECK(p.payload() == "xyz");
    CHECK(p.topic().data() == p.message.topic().data());
    publish copy = p;
    CHECK(copy.payload().data() == p.payload().data());
}

TEST_CASE("find_property returns the first property with the id") {
    properties props{user_prop("k", "1"), num_prop(property_id::topic_alias, 3),
                     user_prop("k", "2")};
    const property* up = find_property(props, property_id::user_property);
    REQUIRE(up != nullptr);
    CHECK(up->value == "1");
    const property* ta = find_property(props, property_id::topic_alias);
    REQUIRE(ta != nullptr);
    CHECK(ta->number == 3);
    CHECK(find_property(props, property_id::content_type) == nullptr);
    CHECK(find_property(properties{}, property_id::content_type) == nullptr);
}

TEST_CASE("type_of and to_string(packet_type)") {
    CHECK(type_of(connect{}) == packet_type::connect);
    CHECK(type_of(connack{}) == packet_type::connack);
    CHECK(type_of(publish{}) == packet_type::publish);
    CHECK(type_of(puback{}) == packet_type::puback);
    CHECK(type_of(pubrec{}) == packet_type::pubrec);
    CHECK(type_of(pubrel{}) == packet_type::pubrel);
    CHECK(type_of(pubcomp{}) == packet_type::pubcomp);
    CHECK(type_of(subscribe{}) == packet_type::subscribe);
    CHECK(type_of(suback{}) == packet_type::suback);
    CHECK(type_of(unsubscribe{}) == packet_type::unsubscribe);
    CHECK(type_of(unsuback{}) == packet_type::unsuback);
    CHECK(type_of(pingreq{}) == packet_type::pingreq);
    CHECK(type_of(pingresp{}) == packet_type::pingresp);
    CHECK(type_of(disconnect{}) == packet_type::disconnect);
    CHECK(type_of(auth{}) == packet_type::auth);
    for (int t = 1; t <= 15; ++t) {
        const char* s = to_string(static_cast<packet_type>(t));
        REQUIRE(s != nullptr);
        CHECK(std::string_view(s).size() > 0);
    }
}
