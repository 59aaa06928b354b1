// The router stepped by hand, as a Sans-I/O state machine: one thread, no sockets, no sleeps,
// fabricated clock readings. A test link records what the router pushes into a connection's
// outbox; each test decodes those bytes the way a client would and asserts the exact packets.
// The two tries of topic_tree.hpp are tested directly at the end.
#include "packet/codec_test_util.hpp"

#include <broker/router.hpp>
#include <broker/topic_tree.hpp>

#include <coromq/packet/codec.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace broker = coromq::broker;
namespace pk = coromq::packet;
using namespace std::chrono_literals;
using pk::any_packet;
using pk::protocol_version;
using pk::qos;
using pk::reason_code;
using pk::test::v311;
using pk::test::v5;

constexpr qos q0 = qos::at_most_once;
constexpr qos q1 = qos::at_least_once;
constexpr qos q2 = qos::exactly_once;

/// Decodes one whole packet as a client speaking `v` reads it; fails the test otherwise.
any_packet decode_one(const std::string& bytes, protocol_version v) {
    const pk::bytes_view view{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
    auto header = pk::parse_fixed_header(view, 1u << 24);
    REQUIRE(header.has_value());
    REQUIRE(header->has_value());
    const pk::fixed_header& h = **header;
    REQUIRE(h.packet_size() == bytes.size()); // exactly one packet per outgoing entry
    auto p = pk::decode(h, view.subspan(h.size), v);
    REQUIRE_MESSAGE(p.has_value(), "decode failed: " << pk::test::hex(bytes));
    return std::move(*p);
}

/// A client link whose writer is this test: it counts wake-ups, and `take` decodes everything
/// pushed since the last call.
class test_link final : public broker::client_link {
public:
    using client_link::client_link;

    int wakes = 0;

    std::vector<any_packet> take() {
        std::vector<broker::outgoing> out;
        take_all(out);
        std::vector<any_packet> packets;
        for (const auto& o : out) {
            // What the connection's gather write puts on the wire: {header, payload}.
            std::string bytes(o.header());
            bytes.append(o.payload());
            packets.push_back(decode_one(bytes, version()));
        }
        return packets;
    }

protected:
    void wake() override { ++wakes; }
};

std::string describe_all(const std::vector<any_packet>& packets) {
    std::string out = "[";
    for (const auto& p : packets) {
        out += "\n  " + pk::describe(p);
    }
    return out + " ]";
}

} // namespace

/// Checks that `actual` (a vector of decoded packets) is exactly the packets listed after it.
#define CHECK_PACKETS(actual, ...)                                                                 \
    do {                                                                                           \
        const std::vector<any_packet> got_ = (actual);                                             \
        const std::vector<any_packet> want_{__VA_ARGS__};                                          \
        CHECK_MESSAGE(got_ == want_,                                                               \
                      "got " << describe_all(got_) << "\nwant " << describe_all(want_));           \
    } while (false)

namespace {

// --- packets a client expects to read ---------------------------------------------------------
namespace expect {

any_packet connack(bool session_present, std::uint8_t code = 0, pk::properties props = {}) {
    return pk::connack{session_present, code, std::move(props)};
}
any_packet publish(std::string_view topic, std::string_view payload, qos q = q0,
                   std::uint16_t id = 0, bool retain = false, bool dup = false,
                   pk::properties props = {}) {
    pk::publish p;
    p.dup = dup;
    p.qos_level = q;
    p.retain = retain;
    p.packet_id = id;
    p.message = pk::message_buffer(topic, payload);
    p.props = std::move(props);
    return p;
}
any_packet puback(std::uint16_t id) {
    return pk::puback{{id, reason_code::success, {}}};
}
any_packet pubrec(std::uint16_t id) {
    return pk::pubrec{{id, reason_code::success, {}}};
}
any_packet pubrel(std::uint16_t id) {
    return pk::pubrel{{id, reason_code::success, {}}};
}
any_packet pubcomp(std::uint16_t id, reason_code r = reason_code::success) {
    return pk::pubcomp{{id, r, {}}};
}
any_packet suback(std::uint16_t id, std::vector<reason_code> codes) {
    return pk::suback{id, std::move(codes), {}};
}
any_packet unsuback(std::uint16_t id, std::vector<reason_code> codes = {}) {
    return pk::unsuback{id, std::move(codes), {}};
}

} // namespace expect

// --- packets a client sends -------------------------------------------------------------------

pk::connect make_connect(std::string client_id, bool clean = true, protocol_version v = v311) {
    pk::connect c;
    c.version = v;
    c.clean_start = clean;
    c.keep_alive = 60;
    c.client_id = std::move(client_id);
    if (v == v5 && !clean) {
        // A 5.0 session outlives its connection only with a session expiry interval.
        c.props.push_back(pk::test::num_prop(pk::property_id::session_expiry_interval, 3600));
    }
    return c;
}

pk::will make_will(std::string_view topic, std::string_view payload, qos q = q0,
                   bool retain = false) {
    return pk::will{pk::message_buffer(topic, payload), q, retain, {}};
}

pk::publish make_publish(std::string_view topic, std::string_view payload, qos q = q0,
                         std::uint16_t id = 0, bool retain = false, bool dup = false) {
    pk::publish p;
    p.dup = dup;
    p.qos_level = q;
    p.retain = retain;
    p.packet_id = id;
    p.message = pk::message_buffer(topic, payload);
    return p;
}

pk::subscription sub(std::string filter, qos q) {
    pk::subscription s;
    s.filter = std::move(filter);
    s.max_qos = q;
    return s;
}

reason_code granted(qos q) {
    return reason_code(q);
}

/// One connection as the router sees it.
struct client {
    std::shared_ptr<test_link> link;
    std::shared_ptr<broker::session> session;
    broker::attach_result attached;

    std::vector<any_packet> take() { return link->take(); }
};

/// A router and the clock the test moves by hand. Every method is one event of the protocol.
class harness {
public:
    explicit harness(broker::broker_config config = {})
        : router(std::move(config)) {}

    broker::router router;
    broker::steady_time now = broker::steady_time{} + 1h; // any point: only differences count
    broker::wall_time wall_now = broker::wall_time{} + 1h;

    /// CONNECT on a new connection; its CONNACK stays in the outbox.
    client connect(const pk::connect& c) {
        client out;
        out.link = std::make_shared<test_link>(c.version, "test:" + c.client_id);
        out.attached = router.attach(c, out.link, now, wall_now);
        out.session = out.attached.attached;
        // The connection layer publishes the will of a connection it took over (after the
        // will hooks); this harness does it at once.
        if (out.attached.taken_over_will) {
            router.publish_will(*out.attached.taken_over_will, nullptr, now);
        }
        return out;
    }

    /// CONNECT, checking and consuming a CONNACK that accepts it.
    client online(std::string id, bool clean = true, protocol_version v = v311,
                  bool expect_session_present = false) {
        auto c = connect(make_connect(std::move(id), clean, v));
        REQUIRE(c.session);
        CHECK_PACKETS(c.take(), expect::connack(expect_session_present));
        return c;
    }

    /// SUBSCRIBE; checks that SUBACK comes first and returns what followed it (retained
    /// messages) [MQTT-3.8.4-1].
    std::vector<any_packet> subscribe(client& c, std::uint16_t id,
                                      std::vector<pk::subscription> subs) {
        pk::subscribe s;
        s.packet_id = id;
        s.subscriptions = std::move(subs);
        std::vector<reason_code> codes;
        for (const auto& x : s.subscriptions) {
            codes.push_back(granted(x.max_qos));
        }
        router.on_subscribe(*c.session, c.link.get(), std::move(s), now, wall_now);
        auto packets = c.take();
        REQUIRE(!packets.empty());
        CHECK(packets.front() == expect::suback(id, codes));
        packets.erase(packets.begin());
        return packets;
    }

    void publish(client& c, pk::publish p) {
        router.on_publish(*c.session, c.link.get(), std::move(p), now);
    }
    void puback(client& c, std::uint16_t id) {
        router.on_puback(*c.session, c.link.get(), id, now);
    }
    void pubrec(client& c, std::uint16_t id) {
        router.on_pubrec(*c.session, c.link.get(), id, now);
    }
    void pubrel(client& c, std::uint16_t id) { router.on_pubrel(*c.session, c.link.get(), id); }
    void pubcomp(client& c, std::uint16_t id) {
        router.on_pubcomp(*c.session, c.link.get(), id, now);
    }
    void unsubscribe(client& c, std::uint16_t id, std::vector<std::string> filters) {
        router.on_unsubscribe(*c.session, c.link.get(),
                              pk::unsubscribe{id, std::move(filters), {}});
    }
    /// The connection ends: `with_will` false after DISCONNECT.
    void drop(client& c, bool with_will = true) {
        auto ended = router.detach(c.session, c.link.get(), with_will, now, wall_now);
        if (ended.will) {
            router.publish_will(*ended.will, c.session.get(), now); // as the connection does
        }
    }
};

} // namespace

TEST_SUITE_BEGIN("router");

// --- attach -----------------------------------------------------------------------------------

TEST_CASE("attach: a new client gets CONNACK 0 without session present, and one wake-up") {
    harness h;
    auto c = h.connect(make_connect("c1", true));
    REQUIRE(c.session);
    CHECK_FALSE(c.attached.session_present);
    CHECK(c.attached.assigned_client_id.empty());
    CHECK(c.session->client_id == "c1");
    CHECK(c.session->online());
    CHECK(c.session->keep_alive == 60);
    CHECK(c.session->remote_address == "test:c1");
    CHECK(h.router.session_count() == 1);
    CHECK(h.router.find_session("c1") == c.session);
    CHECK(c.link->wakes == 1);
    CHECK_PACKETS(c.take(), expect::connack(false));
}

TEST_CASE("client_link: wake only when the outbox turns non-empty, and on close") {
    harness h;
    auto c = h.online("c1");
    CHECK(c.link->wakes == 1);
    h.subscribe(c, 1, {sub("a", q0)}); // SUBACK into an empty outbox: a wake-up
    CHECK(c.link->wakes == 2);
    h.publish(c, make_publish("a", "1"));
    h.publish(c, make_publish("a", "2"));
    h.publish(c, make_publish("a", "3"));
    CHECK(c.link->wakes == 3); // three packets, one wake-up
    CHECK(c.link->queued() == 3);
    CHECK(c.take().size() == 3);
    CHECK(c.link->queued() == 0);
    c.link->close(broker::close_reason::kicked);
    CHECK(c.link->wakes == 4);
    CHECK(c.link->closing());
    CHECK(c.link->reason() == broker::close_reason::kicked);
    h.publish(c, make_publish("a", "dropped after close"));
    CHECK(c.take().empty());
    CHECK(c.link->wakes == 4);
}

TEST_CASE("[MQTT-3.2.2-2] a persistent session is resumed with session present 1") {
    harness h;
    auto first = h.online("p", false);
    h.subscribe(first, 1, {sub("t", q1)});
    h.drop(first, false);
    CHECK_FALSE(first.session->online());
    CHECK(h.router.session_count() == 1);
    CHECK(h.router.subscription_count() == 1);

    auto again = h.online("p", false, v311, true);
    CHECK(again.attached.session_present);
    CHECK(again.session == first.session);
    // Its subscription survived.
    auto pub = h.online("pub");
    h.publish(pub, make_publish("t", "hello", q1, 3));
    CHECK_PACKETS(pub.take(), expect::puback(3));
    CHECK_PACKETS(again.take(), expect::publish("t", "hello", q1, 1));
}

TEST_CASE("[MQTT-3.1.2-6] clean session 1 discards the previous session and ends with the "
          "connection") {
    harness h;
    auto first = h.online("p", false);
    h.subscribe(first, 1, {sub("t", q1)});
    h.drop(first, false);
    auto pub = h.online("pub");
    h.publish(pub, make_publish("t", "queued while offline", q1, 1));
    CHECK(first.session->queue.size() == 1);

    auto clean = h.online("p", true); // CONNACK session present 0 [MQTT-3.2.2-1]
    CHECK_FALSE(clean.attached.session_present);
    CHECK(clean.session != first.session);
    CHECK(h.router.subscription_count() == 0);
    CHECK(h.router.find_session("p") == clean.session);
    h.publish(pub, make_publish("t", "nobody", q1, 2));
    CHECK(clean.take().empty()); // neither the queued message nor the new one

    h.drop(clean, false);
    CHECK(h.router.find_session("p") == nullptr);
    // A later clean session 0 finds nothing to resume [MQTT-3.2.2-3].
    auto later = h.online("p", false, v311, false);
    CHECK_FALSE(later.attached.session_present);
}

TEST_CASE("[MQTT-3.1.3-6] an empty client id with clean session 1 gets an id assigned") {
    harness h;
    auto a = h.connect(make_connect("", true));
    auto b = h.connect(make_connect("", true));
    REQUIRE(a.session);
    REQUIRE(b.session);
    CHECK_FALSE(a.attached.assigned_client_id.empty());
    CHECK_FALSE(b.attached.assigned_client_id.empty());
    CHECK(a.attached.assigned_client_id != b.attached.assigned_client_id);
    CHECK(a.session->client_id == a.attached.assigned_client_id);
    CHECK(h.router.find_session(a.attached.assigned_client_id) == a.session);
    CHECK_PACKETS(a.take(), expect::connack(false)); // 3.1.1 has no way to tell the client
}

TEST_CASE("[MQTT-3.1.3-8] an empty client id with clean session 0 is refused with 0x02") {
    harness h;
    auto c = h.connect(make_connect("", false));
    CHECK(c.session == nullptr);
    CHECK(c.attached.attached == nullptr);
    CHECK_FALSE(c.attached.session_present);
    CHECK_PACKETS(c.take(), expect::connack(false, 0x02));
    CHECK(c.link->closing()); // [MQTT-3.1.3-9] then the connection is closed
    CHECK(c.link->reason() == broker::close_reason::protocol_error);
    CHECK(h.router.session_count() == 0);
}

TEST_CASE("5.0: an empty client id is assigned even with clean start 0, and sent in CONNACK") {
    harness h;
    auto c = h.connect(make_connect("", false, v5));
    REQUIRE(c.session);
    const auto id = c.attached.assigned_client_id;
    CHECK_FALSE(id.empty());
    CHECK_PACKETS(
        c.take(),
        expect::connack(false, 0,
                        {pk::test::str_prop(pk::property_id::assigned_client_identifier, id)}));
}

TEST_CASE("[MQTT-3.1.4-2] take-over closes the old link with taken_over and publishes its will") {
    harness h;
    auto watcher = h.online("watcher");
    h.subscribe(watcher, 1, {sub("wills/#", q1)});

    auto with_will = make_connect("dev", false);
    with_will.last_will = make_will("wills/dev", "gone", q1);
    auto first = h.connect(with_will);
    first.take();
    h.subscribe(first, 1, {sub("cmd/dev", q1)});

    auto second = h.connect(make_connect("dev", false));
    CHECK(first.link->closing());
    CHECK(first.link->reason() == broker::close_reason::taken_over);
    CHECK(second.attached.session_present); // both clean session 0: the session is resumed
    CHECK(second.session == first.session);
    CHECK(second.session->link == second.link);
    CHECK_PACKETS(second.take(), expect::connack(true));
    // The old connection did not DISCONNECT, so its will goes out [MQTT-3.1.2-8].
    CHECK_PACKETS(watcher.take(), expect::publish("wills/dev", "gone", q1, 1));

    // The old connection's packets and its late detach are ignored: the session is the new one's.
    h.publish(first, make_publish("cmd/dev", "from the old link"));
    h.drop(first, true);
    CHECK(second.session->online());
    CHECK(watcher.take().empty()); // no second will
    CHECK(first.take().empty());   // nothing is pushed to a closed link

    // The subscription came along with the session.
    auto pub = h.online("pub");
    h.publish(pub, make_publish("cmd/dev", "on", q0));
    CHECK_PACKETS(second.take(), expect::publish("cmd/dev", "on", q0));
}

TEST_CASE("[MQTT-3.1.4-2] take-over with clean session 1 starts a new session") {
    harness h;
    auto first = h.online("dev", false);
    h.subscribe(first, 1, {sub("x", q1)});
    auto second = h.connect(make_connect("dev", true));
    CHECK(first.link->reason() == broker::close_reason::taken_over);
    CHECK_FALSE(second.attached.session_present);
    CHECK(second.session != first.session);
    CHECK(h.router.subscription_count() == 0);
    CHECK(h.router.session_count() == 1);
    CHECK_PACKETS(second.take(), expect::connack(false));
    h.drop(first); // late detach of the old connection: no effect on the new session
    CHECK(h.router.find_session("dev") == second.session);
}

// --- QoS flows --------------------------------------------------------------------------------

TEST_CASE("QoS 0 is routed without packet id and without acknowledgement") {
    harness h;
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("a/b", q2)});
    h.publish(p, make_publish("a/b", "zero", q0));
    CHECK(p.take().empty());
    CHECK_PACKETS(s.take(), expect::publish("a/b", "zero", q0));
    CHECK(s.session->inflight.empty());
    CHECK(h.router.stats().messages_received == 1);
    CHECK(h.router.stats().messages_delivered == 1);
}

TEST_CASE("QoS 1: PUBACK to the publisher, QoS 1 to the subscriber until its PUBACK") {
    harness h;
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("a/b", q1)});
    h.publish(p, make_publish("a/b", "one", q1, 77));
    CHECK_PACKETS(p.take(), expect::puback(77));
    CHECK_PACKETS(s.take(), expect::publish("a/b", "one", q1, 1));
    REQUIRE(s.session->inflight.size() == 1);
    CHECK(s.session->inflight.front().state == broker::inflight_message::stage::awaiting_puback);
    h.pubcomp(s, 1); // the wrong acknowledgement changes nothing
    CHECK(s.session->inflight.size() == 1);
    h.puback(s, 1);
    CHECK(s.session->inflight.empty());
    h.puback(s, 1); // a duplicate is ignored
    CHECK(s.take().empty());
    // The next message takes the next id [MQTT-2.3.1-2].
    h.publish(p, make_publish("a/b", "two", q1, 78));
    CHECK_PACKETS(s.take(), expect::publish("a/b", "two", q1, 2));
}

TEST_CASE("[MQTT-4.3.3-2] QoS 2 in: PUBREC; a duplicate before PUBREL is acknowledged, not "
          "routed") {
    harness h;
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("a/b", q2)});
    h.publish(p, make_publish("a/b", "two", q2, 9));
    CHECK_PACKETS(p.take(), expect::pubrec(9));
    CHECK_PACKETS(s.take(), expect::publish("a/b", "two", q2, 1));
    CHECK(p.session->awaiting_pubrel.contains(9));

    h.publish(p, make_publish("a/b", "two", q2, 9, false, true)); // DUP, PUBREC was lost
    CHECK_PACKETS(p.take(), expect::pubrec(9));
    CHECK(s.take().empty());

    h.pubrel(p, 9);
    CHECK_PACKETS(p.take(), expect::pubcomp(9));
    CHECK(p.session->awaiting_pubrel.empty());

    // After PUBREL the id is free: the same id is a new message.
    h.publish(p, make_publish("a/b", "again", q2, 9));
    CHECK_PACKETS(p.take(), expect::pubrec(9));
    CHECK_PACKETS(s.take(), expect::publish("a/b", "again", q2, 2));
}

TEST_CASE("QoS 2 out: PUBLISH, PUBREC -> PUBREL (message released), PUBCOMP ends it") {
    harness h;
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("a/b", q2)});
    h.publish(p, make_publish("a/b", "two", q2, 5));
    CHECK_PACKETS(s.take(), expect::publish("a/b", "two", q2, 1));
    REQUIRE(s.session->inflight.size() == 1);
    auto& e = s.session->inflight.front();
    CHECK(e.state == broker::inflight_message::stage::awaiting_pubrec);

    h.pubcomp(s, 1); // PUBCOMP before PUBREC is out of order: ignored
    h.puback(s, 1);  // so is PUBACK for a QoS 2 message
    REQUIRE(s.session->inflight.size() == 1);

    h.pubrec(s, 1);
    CHECK_PACKETS(s.take(), expect::pubrel(1));
    CHECK(e.state == broker::inflight_message::stage::awaiting_pubcomp);
    CHECK(e.message == nullptr); // [MQTT-4.3.3-1] only PUBREL is resent from here on

    h.pubrec(s, 1); // a duplicate PUBREC: PUBREL again
    CHECK_PACKETS(s.take(), expect::pubrel(1));

    h.pubcomp(s, 1);
    CHECK(s.session->inflight.empty());
    CHECK(s.take().empty());
}

TEST_CASE("PUBREL for an unknown packet id is still answered with PUBCOMP") {
    SUBCASE("3.1.1: success") {
        harness h;
        auto c = h.online("c");
        h.pubrel(c, 1234);
        CHECK_PACKETS(c.take(), expect::pubcomp(1234));
    }
    SUBCASE("5.0: packet identifier not found") {
        harness h;
        auto c = h.online("c", true, v5);
        h.pubrel(c, 1234);
        CHECK_PACKETS(c.take(), expect::pubcomp(1234, reason_code::packet_identifier_not_found));
    }
}

TEST_CASE("[MQTT-3.8.4-6] delivered at the minimum of the published and the granted QoS") {
    for (const qos pub_qos : {q0, q1, q2}) {
        for (const qos sub_qos : {q0, q1, q2}) {
            CAPTURE(int(pub_qos));
            CAPTURE(int(sub_qos));
            harness h;
            auto s = h.online("sub");
            auto p = h.online("pub");
            h.subscribe(s, 1, {sub("t", sub_qos)});
            h.publish(p, make_publish("t", "m", pub_qos, pub_qos == q0 ? 0 : 10));
            const qos expected = std::min(pub_qos, sub_qos);
            CHECK_PACKETS(s.take(), expect::publish("t", "m", expected, expected == q0 ? 0 : 1));
        }
    }
}

TEST_CASE("[MQTT-3.3.5-1] overlapping subscriptions deliver one copy at the highest QoS") {
    harness h;
    auto s = h.online("sub");
    auto other = h.online("other");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("a/#", q0), sub("a/b", q2), sub("+/b", q1)});
    h.subscribe(other, 1, {sub("#", q1), sub("a/+", q0)});
    CHECK(h.router.subscription_count() == 5);

    h.publish(p, make_publish("a/b", "x", q2, 1));
    CHECK_PACKETS(s.take(), expect::publish("a/b", "x", q2, 1));
    CHECK_PACKETS(other.take(), expect::publish("a/b", "x", q1, 1));

    h.publish(p, make_publish("a/b", "y", q1, 2));
    CHECK_PACKETS(s.take(), expect::publish("a/b", "y", q1, 2));

    h.publish(p, make_publish("a/c", "z", q2, 3)); // only a/# matches for s
    CHECK_PACKETS(s.take(), expect::publish("a/c", "z", q0));
}

TEST_CASE("[MQTT-3.8.4-3] subscribing again to the same filter replaces the subscription") {
    harness h;
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("t", q0)});
    h.subscribe(s, 2, {sub("t", q2)});
    CHECK(h.router.subscription_count() == 1);
    CHECK(s.session->subscriptions.size() == 1);
    h.publish(p, make_publish("t", "m", q2, 1));
    CHECK_PACKETS(s.take(), expect::publish("t", "m", q2, 1));
}

TEST_CASE("filters deeper than router::max_filter_levels are refused with SUBACK 0x80") {
    // The limit bounds the depth of the subscription trie, and with it the recursion of
    // subscription_trie::match_from: without it one client can subscribe to a filter of
    // 100,000 levels (200 KB) and then overflow the router thread's stack by publishing to
    // the matching topic.
    harness h;
    auto s = h.online("sub");
    std::string deepest_allowed = "a";
    for (std::size_t i = 1; i < broker::router::max_filter_levels; ++i) {
        deepest_allowed += "/a";
    }
    const std::string too_deep = deepest_allowed + "/#";
    pk::subscribe p;
    p.packet_id = 3;
    p.subscriptions = {sub(deepest_allowed, q1), sub(too_deep, q1)};
    h.router.on_subscribe(*s.session, s.link.get(), std::move(p), h.now, h.wall_now);
    CHECK_PACKETS(s.take(),
                  expect::suback(3, {reason_code::granted_qos_1, reason_code::unspecified_error}));
    CHECK(h.router.subscription_count() == 1);
    CHECK(s.session->subscriptions.size() == 1);
}

// --- retained messages ------------------------------------------------------------------------

TEST_CASE("retained store: set, replace, clear with an empty payload; RETAIN only on subscribe") {
    harness h;
    auto p = h.online("pub");

    h.publish(p, make_publish("r/1", "v1", q1, 1, true));
    CHECK(h.router.retained_count() == 1); // [MQTT-3.3.1-5]

    auto s1 = h.online("s1");
    // [MQTT-3.3.1-8] sent because of the subscription: RETAIN 1, after the SUBACK.
    CHECK_PACKETS(h.subscribe(s1, 1, {sub("r/1", q1)}), expect::publish("r/1", "v1", q1, 1, true));
    h.puback(s1, 1);

    // A new retained message replaces the old one; the existing subscriber gets it as a normal
    // delivery, with RETAIN 0 [MQTT-3.3.1-9].
    h.publish(p, make_publish("r/1", "v2", q0, 0, true));
    CHECK(h.router.retained_count() == 1);
    CHECK_PACKETS(s1.take(), expect::publish("r/1", "v2", q0));

    // A PUBLISH with RETAIN 0 leaves the store alone [MQTT-3.3.1-12].
    h.publish(p, make_publish("r/1", "not retained", q0));
    CHECK_PACKETS(s1.take(), expect::publish("r/1", "not retained", q0));

    auto s2 = h.online("s2");
    CHECK_PACKETS(h.subscribe(s2, 1, {sub("r/#", q2)}),
                  expect::publish("r/1", "v2", q0, 0, true)); // QoS min(0, 2)

    // An empty retained payload clears the store [MQTT-3.3.1-10] and is itself delivered
    // normally to current subscribers.
    h.publish(p, make_publish("r/1", "", q0, 0, true));
    CHECK(h.router.retained_count() == 0);
    CHECK_PACKETS(s1.take(), expect::publish("r/1", "", q0));
    CHECK_PACKETS(s2.take(), expect::publish("r/1", "", q0));

    auto s3 = h.online("s3");
    CHECK(h.subscribe(s3, 1, {sub("r/#", q1)})
              .empty()); // [MQTT-3.3.1-11] the empty message was not stored
}

TEST_CASE("[MQTT-3.3.1-8] retained messages on a resubscription are sent again, at min QoS") {
    harness h;
    auto p = h.online("pub");
    h.publish(p, make_publish("t", "kept", q2, 1, true));
    auto s = h.online("s");
    CHECK_PACKETS(h.subscribe(s, 1, {sub("t", q1)}), expect::publish("t", "kept", q1, 1, true));
    CHECK_PACKETS(h.subscribe(s, 2, {sub("t", q2)}), expect::publish("t", "kept", q2, 2, true));
}

TEST_CASE("[MQTT-4.7.2-1] retained messages by wildcard; '$' topics not matched by + or #") {
    harness h;
    auto p = h.online("pub");
    for (const char* topic : {"sport", "sport/tennis", "sport/tennis/player1", "other/tennis",
                              "$SYS/broker/uptime", "/lead"}) {
        h.publish(p, make_publish(topic, topic, q0, 0, true));
    }
    REQUIRE(h.router.retained_count() == 6);

    auto topics_for = [&](const std::string& filter) {
        auto s = h.online("s");
        std::set<std::string> topics;
        for (const auto& packet : h.subscribe(s, 1, {sub(filter, q0)})) {
            const auto& pub = std::get<pk::publish>(packet);
            CHECK(pub.retain);
            topics.emplace(pub.topic());
        }
        h.drop(s);
        return topics;
    };
    using set = std::set<std::string>;
    CHECK(topics_for("#") ==
          set{"sport", "sport/tennis", "sport/tennis/player1", "other/tennis", "/lead"});
    CHECK(topics_for("sport/#") == set{"sport", "sport/tennis", "sport/tennis/player1"});
    CHECK(topics_for("+/tennis") == set{"sport/tennis", "other/tennis"});
    CHECK(topics_for("+") == set{"sport"});
    CHECK(topics_for("+/+") == set{"sport/tennis", "other/tennis", "/lead"});
    CHECK(topics_for("sport/+/player1") == set{"sport/tennis/player1"});
    CHECK(topics_for("sport/tennis/player1/#") == set{"sport/tennis/player1"});
    CHECK(topics_for("+/broker/uptime") == set{});
    CHECK(topics_for("$SYS/#") == set{"$SYS/broker/uptime"});
    CHECK(topics_for("$SYS/+/uptime") == set{"$SYS/broker/uptime"});
    CHECK(topics_for("nothing/#") == set{});
}

TEST_CASE("[MQTT-4.7.2-1] routing: '$' topics reach only filters that start with '$'") {
    harness h;
    auto all = h.online("all");
    auto plus = h.online("plus");
    auto sys = h.online("sys");
    auto p = h.online("pub");
    h.subscribe(all, 1, {sub("#", q0)});
    h.subscribe(plus, 1, {sub("+/broker/#", q0)});
    h.subscribe(sys, 1, {sub("$SYS/#", q0)});
    h.publish(p, make_publish("$SYS/broker/load", "1"));
    CHECK(all.take().empty());
    CHECK(plus.take().empty());
    CHECK_PACKETS(sys.take(), expect::publish("$SYS/broker/load", "1"));
    h.publish(p, make_publish("x/broker", "2"));
    CHECK_PACKETS(all.take(), expect::publish("x/broker", "2"));
    CHECK_PACKETS(plus.take(), expect::publish("x/broker", "2")); // "x/broker/#" matches the parent
    CHECK(sys.take().empty());
}

// --- flow control and queues ------------------------------------------------------------------

TEST_CASE("max_inflight_messages: the rest is queued and sent as acknowledgements arrive") {
    broker::broker_config config;
    config.max_inflight_messages = 2;
    harness h(config);
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("t", q2)});
    for (int i = 0; i < 5; ++i) {
        h.publish(p, make_publish("t", "m" + std::to_string(i), q1, std::uint16_t(i + 1)));
    }
    CHECK_PACKETS(s.take(), expect::publish("t", "m0", q1, 1), expect::publish("t", "m1", q1, 2));
    CHECK(s.session->inflight.size() == 2);
    CHECK(s.session->queue.size() == 3);

    // QoS 0 does not use the window; ordering is only promised per QoS level (4.6).
    h.publish(p, make_publish("t", "zero", q0));
    CHECK_PACKETS(s.take(), expect::publish("t", "zero", q0));

    h.puback(s, 1);
    CHECK_PACKETS(s.take(), expect::publish("t", "m2", q1, 3));
    h.puback(s, 1); // an id no longer in flight opens nothing
    CHECK(s.take().empty());
    h.puback(s, 2);
    CHECK_PACKETS(s.take(), expect::publish("t", "m3", q1, 4));
    h.puback(s, 3);
    CHECK_PACKETS(s.take(), expect::publish("t", "m4", q1, 5));
    CHECK(s.session->queue.empty());
    h.puback(s, 4);
    h.puback(s, 5);
    CHECK(s.session->inflight.empty());
    CHECK(s.take().empty());
}

TEST_CASE("max_inflight_messages also limits QoS 2, until PUBCOMP") {
    broker::broker_config config;
    config.max_inflight_messages = 1;
    harness h(config);
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("t", q2)});
    h.publish(p, make_publish("t", "a", q2, 1));
    h.publish(p, make_publish("t", "b", q2, 2));
    CHECK_PACKETS(s.take(), expect::publish("t", "a", q2, 1));
    h.pubrec(s, 1);
    CHECK_PACKETS(s.take(), expect::pubrel(1)); // still in flight until PUBCOMP
    h.pubcomp(s, 1);
    CHECK_PACKETS(s.take(), expect::publish("t", "b", q2, 2));
}

TEST_CASE("offline queue: bounded by max_msgqueue_messages, QoS 0 dropped first, counted") {
    broker::broker_config config;
    config.max_msgqueue_messages = 3;
    harness h(config);
    auto s = h.online("sub", false);
    h.subscribe(s, 1, {sub("t", q1)});
    h.drop(s, false);
    auto p = h.online("pub");

    h.publish(p, make_publish("t", "A0", q0));
    h.publish(p, make_publish("t", "B1", q1, 1));
    h.publish(p, make_publish("t", "C1", q1, 2));
    CHECK(s.session->queue.size() == 3);
    CHECK(s.session->dropped == 0);

    // Full. A QoS 1 message replaces the oldest QoS 0 one.
    h.publish(p, make_publish("t", "D1", q1, 3));
    CHECK(s.session->queue.size() == 3);
    CHECK(s.session->dropped == 1);
    // A QoS 0 message is dropped.
    h.publish(p, make_publish("t", "E0", q0));
    CHECK(s.session->dropped == 2);
    // No QoS 0 left to make room: the new QoS 1 message is dropped.
    h.publish(p, make_publish("t", "F1", q1, 4));
    CHECK(s.session->dropped == 3);
    CHECK(s.session->queue.size() == 3);
    CHECK(h.router.stats().messages_dropped == 3);

    auto back = h.connect(make_connect("sub", false));
    CHECK_PACKETS(back.take(), expect::connack(true), expect::publish("t", "B1", q1, 1),
                  expect::publish("t", "C1", q1, 2), expect::publish("t", "D1", q1, 3));
}

TEST_CASE("offline queue: QoS 0 is queued by default and kept in order with QoS 1") {
    harness h;
    auto s = h.online("sub", false);
    h.subscribe(s, 1, {sub("t", q1)});
    h.drop(s, false);
    auto p = h.online("pub");
    h.publish(p, make_publish("t", "a", q0));
    h.publish(p, make_publish("t", "b", q1, 1));
    h.publish(p, make_publish("t", "c", q0));
    auto back = h.connect(make_connect("sub", false));
    CHECK_PACKETS(back.take(), expect::connack(true), expect::publish("t", "a", q0),
                  expect::publish("t", "b", q1, 1), expect::publish("t", "c", q0));
}

TEST_CASE("offline queue: queue_qos0_messages=false leaves QoS 0 out") {
    broker::broker_config config;
    config.queue_qos0_messages = false;
    harness h(config);
    auto s = h.online("sub", false);
    h.subscribe(s, 1, {sub("t", q1)});
    h.drop(s, false);
    auto p = h.online("pub");
    h.publish(p, make_publish("t", "zero", q0));
    h.publish(p, make_publish("t", "one", q1, 1));
    h.publish(p, make_publish("t", "downgraded", q1, 2)); // QoS 1 published, QoS 1 granted
    CHECK(s.session->queue.size() == 2);
    auto back = h.connect(make_connect("sub", false));
    CHECK_PACKETS(back.take(), expect::connack(true), expect::publish("t", "one", q1, 1),
                  expect::publish("t", "downgraded", q1, 2));
}

TEST_CASE("max_outbox_messages: QoS 0 to an online client that does not read is dropped") {
    broker::broker_config config;
    config.max_outbox_messages = 2;
    harness h(config);
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("t", q1)});
    for (int i = 0; i < 4; ++i) {
        h.publish(p, make_publish("t", std::to_string(i), q0));
    }
    CHECK(s.session->dropped == 2);
    CHECK(h.router.stats().messages_dropped == 2);
    // QoS 1 is never dropped for that reason.
    h.publish(p, make_publish("t", "one", q1, 1));
    CHECK_PACKETS(s.take(), expect::publish("t", "0", q0), expect::publish("t", "1", q0),
                  expect::publish("t", "one", q1, 1));
}

// --- redelivery -------------------------------------------------------------------------------

TEST_CASE("[MQTT-4.4.0-1] reconnect resends in-flight PUBLISH with DUP 1 and PUBREL after "
          "PUBREC") {
    harness h;
    auto s = h.online("sub", false);
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("t", q2)});
    h.publish(p, make_publish("t", "one", q1, 1));
    h.publish(p, make_publish("t", "two", q2, 2));
    h.publish(p, make_publish("t", "three", q2, 3));
    CHECK_PACKETS(s.take(), expect::publish("t", "one", q1, 1), expect::publish("t", "two", q2, 2),
                  expect::publish("t", "three", q2, 3));
    h.pubrec(s, 3);
    CHECK_PACKETS(s.take(), expect::pubrel(3));
    h.drop(s, true);
    CHECK(s.session->inflight.size() == 3);

    h.publish(p, make_publish("t", "queued", q1, 4)); // while offline
    h.now += 10s;
    auto back = h.connect(make_connect("sub", false));
    // [MQTT-3.3.1-1] DUP 1 on a resent PUBLISH, original ids; after PUBREC only PUBREL.
    CHECK_PACKETS(back.take(), expect::connack(true),
                  expect::publish("t", "one", q1, 1, false, true),
                  expect::publish("t", "two", q2, 2, false, true), expect::pubrel(3),
                  expect::publish("t", "queued", q1, 4));
    for (const auto& e : back.session->inflight) {
        CHECK(e.sent_at == h.now);
    }

    h.puback(back, 1);
    h.pubrec(back, 2);
    CHECK_PACKETS(back.take(), expect::pubrel(2));
    h.pubcomp(back, 2);
    h.pubcomp(back, 3);
    h.puback(back, 4);
    CHECK(back.session->inflight.empty());
}

TEST_CASE("[MQTT-4.3.3-2] incoming QoS 2 ids awaiting PUBREL survive a reconnect") {
    harness h;
    auto s = h.online("sub");
    h.subscribe(s, 1, {sub("t", q2)});
    auto p = h.online("pub", false);
    h.publish(p, make_publish("t", "once", q2, 5));
    CHECK_PACKETS(p.take(), expect::pubrec(5));
    CHECK_PACKETS(s.take(), expect::publish("t", "once", q2, 1));
    h.drop(p, false); // PUBREC lost with the connection

    auto back = h.online("pub", false, v311, true);
    h.publish(back, make_publish("t", "once", q2, 5, false, true));
    CHECK_PACKETS(back.take(), expect::pubrec(5));
    CHECK(s.take().empty()); // not delivered twice
    h.pubrel(back, 5);
    CHECK_PACKETS(back.take(), expect::pubcomp(5));
}

TEST_CASE("retry_overdue resends after delivery_retry_interval, PUBREL after PUBREC") {
    broker::broker_config config;
    config.delivery_retry_interval = 5;
    harness h(config);
    const auto t0 = h.now;
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("t", q2)});
    h.publish(p, make_publish("t", "one", q1, 1)); // sent at t0
    h.now = t0 + 2s;
    h.publish(p, make_publish("t", "two", q2, 2)); // sent at t0 + 2 s
    s.take();

    h.router.retry_overdue(t0 + 4s);
    CHECK(s.take().empty());
    h.router.retry_overdue(t0 + 5s);
    CHECK_PACKETS(s.take(), expect::publish("t", "one", q1, 1, false, true));
    h.router.retry_overdue(t0 + 6s);
    CHECK(s.take().empty());
    h.router.retry_overdue(t0 + 7s);
    CHECK_PACKETS(s.take(), expect::publish("t", "two", q2, 2, false, true));

    h.now = t0 + 8s;
    h.pubrec(s, 2);
    CHECK_PACKETS(s.take(), expect::pubrel(2));
    h.router.retry_overdue(t0 + 10s); // "one" was resent at t0 + 5 s
    CHECK_PACKETS(s.take(), expect::publish("t", "one", q1, 1, false, true));
    h.router.retry_overdue(t0 + 13s); // PUBREL sent at t0 + 8 s
    CHECK_PACKETS(s.take(), expect::pubrel(2));

    h.puback(s, 1);
    h.pubcomp(s, 2);
    h.router.retry_overdue(t0 + 100s);
    CHECK(s.take().empty());
}

TEST_CASE("retry_overdue: never with delivery_retry_interval 0, never to offline sessions") {
    SUBCASE("interval 0") {
        broker::broker_config config;
        config.delivery_retry_interval = 0;
        harness h(config);
        auto s = h.online("sub");
        auto p = h.online("pub");
        h.subscribe(s, 1, {sub("t", q1)});
        h.publish(p, make_publish("t", "one", q1, 1));
        s.take();
        h.router.retry_overdue(h.now + 1000h);
        CHECK(s.take().empty());
    }
    SUBCASE("offline") {
        broker::broker_config config;
        config.delivery_retry_interval = 1;
        harness h(config);
        auto s = h.online("sub", false);
        auto p = h.online("pub");
        h.subscribe(s, 1, {sub("t", q1)});
        h.publish(p, make_publish("t", "one", q1, 1));
        s.take();
        h.drop(s, false);
        h.router.retry_overdue(h.now + 10s); // must not touch the link the session dropped
        CHECK(s.take().empty());
        CHECK(s.session->inflight.size() == 1);
    }
}

// --- unsubscribe, detach, close ---------------------------------------------------------------

TEST_CASE("[MQTT-3.10.4-1] unsubscribe stops delivery; UNSUBACK even for unknown filters") {
    harness h;
    auto s = h.online("sub");
    auto p = h.online("pub");
    h.subscribe(s, 1, {sub("a/b", q1), sub("a/+", q0)});
    CHECK(h.router.subscription_count() == 2);

    h.unsubscribe(s, 7, {"a/b", "never/subscribed"});
    CHECK_PACKETS(s.take(), expect::unsuback(7)); // [MQTT-3.10.4-4] same packet id
    CHECK(h.router.subscription_count() == 1);
    CHECK(s.session->subscriptions.size() == 1);
    h.publish(p, make_publish("a/b", "via a/+", q1, 1));
    CHECK_PACKETS(s.take(), expect::publish("a/b", "via a/+", q0));

    h.unsubscribe(s, 8, {"a/+"});
    CHECK_PACKETS(s.take(), expect::unsuback(8));
    CHECK(h.router.subscription_count() == 0);
    h.publish(p, make_publish("a/b", "nobody", q1, 2));
    CHECK(s.take().empty());
}

TEST_CASE("5.0 UNSUBACK carries a reason code per filter") {
    harness h;
    auto s = h.online("sub", true, v5);
    h.subscribe(s, 1, {sub("a", q1)});
    h.unsubscribe(s, 2, {"a", "b"});
    CHECK_PACKETS(s.take(), expect::unsuback(
                                2, {reason_code::success, reason_code::no_subscription_existed}));
}

TEST_CASE("[MQTT-3.1.2-8] detach without DISCONNECT publishes the will; retained if asked") {
    harness h;
    auto watcher = h.online("watcher");
    h.subscribe(watcher, 1, {sub("status/#", q2)});
    auto c = make_connect("dev");
    c.last_will = make_will("status/dev", "offline", q1, true);
    auto dev = h.connect(c);
    dev.take();
    h.drop(dev, true);
    // Normal delivery: RETAIN 0 [MQTT-3.3.1-9]; QoS of the will.
    CHECK_PACKETS(watcher.take(), expect::publish("status/dev", "offline", q1, 1));
    CHECK(h.router.retained_count() == 1);
    CHECK(h.router.find_session("dev") == nullptr); // clean session ends with the connection

    auto late = h.online("late");
    CHECK_PACKETS(h.subscribe(late, 1, {sub("status/+", q1)}),
                  expect::publish("status/dev", "offline", q1, 1, true));
}

TEST_CASE("[MQTT-3.1.2-10] detach after DISCONNECT discards the will") {
    harness h;
    auto watcher = h.online("watcher");
    h.subscribe(watcher, 1, {sub("status/#", q1)});
    auto c = make_connect("dev", false);
    c.last_will = make_will("status/dev", "offline", q1);
    auto dev = h.connect(c);
    dev.take();
    h.subscribe(dev, 1, {sub("cmd", q1)});
    h.drop(dev, false);
    CHECK(watcher.take().empty());
    CHECK_FALSE(dev.session->will);
    // A persistent session stays, offline, with its subscriptions.
    CHECK(h.router.find_session("dev") == dev.session);
    CHECK_FALSE(dev.session->online());
    CHECK(h.router.subscription_count() == 2);
    // Taking over the offline session later publishes nothing either.
    auto back = h.online("dev", false, v311, true);
    CHECK(watcher.take().empty());
}

TEST_CASE("detach of a clean session removes it and its subscriptions") {
    harness h;
    auto c = h.online("c");
    h.subscribe(c, 1, {sub("a", q1), sub("b/#", q0)});
    CHECK(h.router.subscription_count() == 2);
    h.drop(c, false);
    CHECK(h.router.session_count() == 0);
    CHECK(h.router.subscription_count() == 0);
    auto p = h.online("pub");
    h.publish(p, make_publish("a", "x", q1, 1)); // must not reach the dead session
    CHECK(c.take().empty());
}

TEST_CASE("close_all asks every online connection to close") {
    harness h;
    auto a = h.online("a");
    auto b = h.online("b", false);
    auto offline = h.online("off", false);
    h.drop(offline, false);
    h.router.close_all(broker::close_reason::server_stopping);
    CHECK(a.link->reason() == broker::close_reason::server_stopping);
    CHECK(b.link->reason() == broker::close_reason::server_stopping);
    CHECK_FALSE(offline.link->closing());
}

// --- 5.0 subscription options ------------------------------------------------------------------

TEST_CASE("5.0: no local, retain as published, retain handling") {
    harness h;
    auto p = h.online("pub", true, v5);
    h.publish(p, make_publish("t", "kept", q0, 0, true));

    auto s = h.online("s", true, v5);
    auto no_local = sub("t", q0);
    no_local.no_local = true;
    CHECK_PACKETS(h.subscribe(s, 1, {no_local}), expect::publish("t", "kept", q0, 0, true));
    h.publish(s, make_publish("t", "own", q0)); // [MQTT-3.8.3-3] not back to its publisher
    CHECK(s.take().empty());

    auto rap = sub("t", q0);
    rap.retain_as_published = true;
    rap.retain_policy = pk::retain_handling::send_if_new_subscription;
    auto r = h.online("r", true, v5);
    CHECK_PACKETS(h.subscribe(r, 1, {rap}), expect::publish("t", "kept", q0, 0, true));
    CHECK(h.subscribe(r, 2, {rap}).empty()); // not new: no retained message
    h.publish(p, make_publish("t", "live", q0, 0, true));
    CHECK_PACKETS(r.take(), expect::publish("t", "live", q0, 0, true)); // RETAIN as published

    auto skip = sub("t", q0);
    skip.retain_policy = pk::retain_handling::do_not_send;
    auto d = h.online("d", true, v5);
    CHECK(h.subscribe(d, 1, {skip}).empty());
}

TEST_CASE("5.0: properties are forwarded to 5.0 subscribers only, without the topic alias") {
    harness h;
    auto s5 = h.online("s5", true, v5);
    auto s3 = h.online("s3", true, v311);
    auto p = h.online("pub", true, v5);
    h.subscribe(s5, 1, {sub("t", q0)});
    h.subscribe(s3, 1, {sub("t", q0)});
    auto m = make_publish("t", "x", q0);
    m.props = {pk::test::user_prop("k", "v"), pk::test::num_prop(pk::property_id::topic_alias, 3)};
    h.publish(p, std::move(m));
    CHECK_PACKETS(s5.take(),
                  expect::publish("t", "x", q0, 0, false, false, {pk::test::user_prop("k", "v")}));
    CHECK_PACKETS(s3.take(), expect::publish("t", "x", q0));
}

TEST_SUITE_END();

// --- the tries --------------------------------------------------------------------------------

namespace {

using sub_trie = broker::subscription_trie<int, std::string>;

/// (key, entry) pairs matching `name`, sorted.
std::vector<std::pair<int, std::string>> matches(const sub_trie& t, std::string_view name) {
    std::vector<std::pair<int, std::string>> out;
    t.match(name, [&](int key, const std::string& entry) { out.emplace_back(key, entry); });
    std::sort(out.begin(), out.end());
    return out;
}

using retained = broker::retained_trie<std::shared_ptr<const std::string>>;

std::set<std::string> retained_matches(const retained& t, std::string_view filter) {
    std::set<std::string> out;
    t.match(filter, [&](const std::shared_ptr<const std::string>& m) {
        CHECK(out.insert(*m).second); // each message at most once
    });
    return out;
}

std::shared_ptr<const std::string> msg(std::string s) {
    return std::make_shared<const std::string>(std::move(s));
}

using hits = std::vector<std::pair<int, std::string>>;

} // namespace

TEST_SUITE_BEGIN("topic_tree");

TEST_CASE("subscription_trie: insert, replace, match once per filter") {
    sub_trie t;
    CHECK(t.insert("sport/tennis/#", 1, "a"));
    CHECK(t.insert("sport/+", 1, "b"));
    CHECK(t.insert("sport/tennis/#", 2, "c"));
    CHECK_FALSE(t.insert("sport/tennis/#", 1, "a2")); // same key and filter: replaced
    CHECK(t.size() == 3);

    CHECK(matches(t, "sport/tennis") == hits{{1, "a2"}, {1, "b"}, {2, "c"}});
    CHECK(matches(t, "sport/tennis/player1") == hits{{1, "a2"}, {2, "c"}});
    CHECK(matches(t, "sport") == hits{});
    CHECK(matches(t, "sport/") == hits{{1, "b"}}); // "+" matches an empty level
    CHECK(matches(t, "sports/tennis") == hits{});
}

TEST_CASE("subscription_trie: the spec's wildcard examples (4.7.1, 4.7.2)") {
    sub_trie t;
    t.insert("sport/tennis/player1/#", 1, "");
    t.insert("sport/#", 2, "");
    t.insert("#", 3, "");
    t.insert("+", 4, "");
    t.insert("+/+", 5, "");
    t.insert("/+", 6, "");
    t.insert("$SYS/#", 7, "");
    t.insert("+/monitor/Clients", 8, "");
    t.insert("$SYS/monitor/+", 9, "");
    auto keys = [&](std::string_view name) {
        std::vector<int> out;
        for (const auto& [k, e] : matches(t, name)) {
            out.push_back(k);
        }
        return out;
    };
    using v = std::vector<int>;
    CHECK(keys("sport/tennis/player1") == v{1, 2, 3}); // "#" includes the parent level
    CHECK(keys("sport/tennis/player1/ranking") == v{1, 2, 3});
    CHECK(keys("sport") == v{2, 3, 4});
    CHECK(keys("sport/") == v{2, 3, 5});
    CHECK(keys("/finance") == v{3, 5, 6});
    CHECK(keys("$SYS") == v{7});
    CHECK(keys("$SYS/monitor/Clients") == v{7, 9}); // not "#", not "+/monitor/Clients"
    CHECK(keys("x/monitor/Clients") == v{3, 8});
}

TEST_CASE("subscription_trie: erase and pruning back to empty") {
    sub_trie t;
    t.insert("a/b/c", 1, "");
    t.insert("a/b", 2, "");
    t.insert("a/#", 3, "");
    t.insert("a/+/c", 4, "");
    CHECK(t.size() == 4);

    CHECK_FALSE(t.erase("a/b/c", 2));   // wrong key
    CHECK_FALSE(t.erase("a/b/c/d", 1)); // longer than any stored filter
    CHECK_FALSE(t.erase("x", 1));
    CHECK_FALSE(t.erase("a", 1)); // an inner node with no subscribers

    // An inner node that still has children survives its own subscriber going.
    CHECK(t.erase("a/b", 2));
    CHECK(t.size() == 3);
    CHECK(matches(t, "a/b/c") == hits{{1, ""}, {3, ""}, {4, ""}});
    CHECK(matches(t, "a/b") == hits{{3, ""}});

    // A leaf is pruned; its parent still serves the other branch.
    CHECK(t.erase("a/b/c", 1));
    CHECK_FALSE(t.erase("a/b/c", 1));
    CHECK(matches(t, "a/b/c") == hits{{3, ""}, {4, ""}});
    CHECK(t.erase("a/+/c", 4));
    CHECK(t.erase("a/#", 3));
    CHECK(t.size() == 0);
    CHECK(matches(t, "a/b/c").empty());
    CHECK(matches(t, "a").empty());

    // The pruned trie is as good as new.
    CHECK(t.insert("a/b/c", 1, "again"));
    CHECK(matches(t, "a/b/c") == hits{{1, "again"}});
    CHECK(t.erase("a/b/c", 1));
    CHECK(t.size() == 0);
}

TEST_CASE("subscription_trie: many subscribers on one filter") {
    sub_trie t;
    for (int k = 0; k < 10; ++k) {
        t.insert("x/y", k, std::to_string(k));
    }
    CHECK(matches(t, "x/y").size() == 10);
    for (int k = 0; k < 10; k += 2) {
        CHECK(t.erase("x/y", k));
    }
    const auto left = matches(t, "x/y");
    REQUIRE(left.size() == 5);
    for (std::size_t i = 0; i < left.size(); ++i) {
        CHECK(left[i].first == int(2 * i + 1));
        CHECK(left[i].second == std::to_string(2 * i + 1));
    }
    for (int k = 1; k < 10; k += 2) {
        CHECK(t.erase("x/y", k));
    }
    CHECK(t.size() == 0);
}

TEST_CASE("retained_trie: set, replace, wildcard match, '$' excluded from leading wildcards") {
    retained t;
    for (const char* name :
         {"sport", "sport/tennis", "sport/tennis/player1", "sport/", "/x", "$SYS/uptime"}) {
        t.set(name, msg(name));
    }
    CHECK(t.size() == 6);
    t.set("sport", msg("sport")); // replace: not counted twice
    CHECK(t.size() == 6);

    using set = std::set<std::string>;
    CHECK(retained_matches(t, "sport/#") ==
          set{"sport", "sport/tennis", "sport/tennis/player1", "sport/"});
    CHECK(retained_matches(t, "#") ==
          set{"sport", "sport/tennis", "sport/tennis/player1", "sport/", "/x"});
    CHECK(retained_matches(t, "+") == set{"sport"});
    CHECK(retained_matches(t, "+/+") == set{"sport/tennis", "sport/", "/x"});
    CHECK(retained_matches(t, "sport/+") == set{"sport/tennis", "sport/"});
    CHECK(retained_matches(t, "+/uptime") == set{});
    CHECK(retained_matches(t, "$SYS/#") == set{"$SYS/uptime"});
    CHECK(retained_matches(t, "$SYS/+") == set{"$SYS/uptime"});
    CHECK(retained_matches(t, "sport/tennis") == set{"sport/tennis"});
    CHECK(retained_matches(t, "sport/tennis/player1/#") == set{"sport/tennis/player1"});
    CHECK(retained_matches(t, "nothing/#") == set{});
}

TEST_CASE("retained_trie: clearing and pruning back to empty") {
    retained t;
    t.set("a/b/c", msg("abc"));
    t.set("a", msg("a"));
    t.set("a/b", msg("ab"));
    CHECK(t.size() == 3);

    t.set("a/b/c/d", nullptr); // not there: nothing happens
    t.set("a/x", nullptr);
    t.set("q", nullptr);
    CHECK(t.size() == 3);

    t.set("a/b", nullptr); // inner node: keeps its child
    CHECK(t.size() == 2);
    CHECK(retained_matches(t, "a/#") == std::set<std::string>{"a", "abc"});
    t.set("a/b", nullptr); // twice: still 2
    CHECK(t.size() == 2);

    t.set("a/b/c", nullptr); // leaf: pruned up to "a", which has a message
    CHECK(t.size() == 1);
    CHECK(retained_matches(t, "a/#") == std::set<std::string>{"a"});
    CHECK(retained_matches(t, "a/+/c") == std::set<std::string>{});
    t.set("a", nullptr);
    CHECK(t.size() == 0);
    CHECK(retained_matches(t, "#").empty());

    t.set("a/b/c", msg("again"));
    CHECK(retained_matches(t, "a/+/c") == std::set<std::string>{"again"});
    t.set("a/b/c", nullptr);
    CHECK(t.size() == 0);
}

TEST_SUITE_END();
