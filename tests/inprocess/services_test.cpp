// The public services API (include/coromq/broker/services.hpp), called from outside the
// server (a plain thread, through use_future) and from inside a hook, and the on_delivered and
// on_msg_dropped notifications; every effect is checked on real client connections.
#include "running_broker.hpp"

#include <coromq/broker/hooks.hpp>
#include <coromq/broker/services.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coromq::test;
namespace asio = boost::asio;
namespace br = coromq::broker;
namespace pk = coromq::packet;

namespace {

/// Runs a services call on the server's threads from this (non-coroutine) thread.
template <class T>
T call(br::server& server, asio::awaitable<T> op) {
    return asio::co_spawn(server.executor(), std::move(op), asio::use_future).get();
}

br::message msg(std::string topic, std::string payload, pk::qos q = q0, bool retain = false) {
    br::message m;
    m.topic = std::move(topic);
    m.payload = std::move(payload);
    m.qos_level = q;
    m.retain = retain;
    return m;
}

/// Polls `pred` until it holds or 3 s pass.
template <class Pred>
bool eventually(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

} // namespace

TEST_SUITE_BEGIN("inprocess");

TEST_CASE_FIXTURE(running_broker, "services: publish from outside the server, retained included") {
    auto subscriber = client();
    subscriber.connect("sub");
    subscriber.subscribe("news/#", q1);

    call(server(), server().services().publish(msg("news/a", "hello", q1)));
    const auto got = subscriber.receive();
    CHECK(got.topic() == "news/a");
    CHECK(got.payload() == "hello");
    CHECK(got.qos_level == q1);

    // A retained message is stored, and a later subscriber gets it [MQTT-3.3.1-6].
    call(server(), server().services().publish(msg("news/kept", "stored", q0, true)));
    CHECK(subscriber.receive().payload() == "stored");
    auto late = client();
    late.connect("late");
    late.subscribe("news/kept", q0);
    const auto retained = late.receive();
    CHECK(retained.payload() == "stored");
    CHECK(retained.retain);

    // A topic with a wildcard is refused before anything is published [MQTT-3.3.2-2].
    CHECK_THROWS_AS(call(server(), server().services().publish(msg("news/+", "no"))),
                    std::invalid_argument);
    CHECK_THROWS_AS(call(server(), server().services().publish(msg("", "no"))),
                    std::invalid_argument);
    CHECK_FALSE(subscriber.recv(200ms));
}

TEST_CASE_FIXTURE(running_broker, "services: subscribe and unsubscribe on behalf of a client") {
    auto target = client();
    target.connect("target");
    auto publisher = client();
    publisher.connect("pub");
    auto& api = server().services();

    CHECK(call(server(), api.subscribe("target", sub("cmd/+", q1))) == br::service_status::ok);
    publisher.publish("cmd/reboot", "now", q1);
    const auto got = target.receive();
    CHECK(got.topic() == "cmd/reboot");
    CHECK(got.qos_level == q1);

    const auto subs = call(server(), api.list_subscriptions(std::string("target"), 0, 10));
    REQUIRE(subs);
    REQUIRE(subs->items.size() == 1);
    CHECK(subs->total == 1);
    CHECK(subs->items[0].filter == "cmd/+");
    CHECK(subs->items[0].max_qos == q1);

    CHECK(call(server(), api.unsubscribe("target", "cmd/+")) == br::service_status::ok);
    publisher.publish("cmd/reboot", "again", q1);
    CHECK_FALSE(target.recv(300ms));

    CHECK(call(server(), api.subscribe("nobody", sub("a", q0))) == br::service_status::not_found);
    CHECK(call(server(), api.unsubscribe("nobody", "a")) == br::service_status::not_found);
    // [MQTT-4.7.1-2] '#' only as the last level.
    CHECK(call(server(), api.subscribe("target", sub("a/#/b", q0))) ==
          br::service_status::invalid_filter);
    CHECK_FALSE(call(server(), api.list_subscriptions(std::string("nobody"), 0, 10)));
}

TEST_CASE_FIXTURE(running_broker, "services: list, look up and disconnect clients") {
    auto a = client();
    auto b = client();
    auto c = client();
    a.connect("a");
    b.connect("b", false); // a persistent session stays after the disconnect
    c.connect("c");
    auto& api = server().services();

    const auto first = call(server(), api.list_sessions(true, 0, 2));
    CHECK(first.total == 3);
    REQUIRE(first.items.size() == 2);
    CHECK(first.items[0].client_id == "a");
    CHECK(first.items[1].client_id == "b");
    const auto second = call(server(), api.list_sessions(true, 2, 2));
    REQUIRE(second.items.size() == 1);
    CHECK(second.items[0].client_id == "c");

    const auto found = call(server(), api.find_session("b"));
    REQUIRE(found);
    CHECK(found->online);
    CHECK_FALSE(found->clean_session);

    CHECK(call(server(), api.disconnect("b", false)) == br::service_status::ok);
    CHECK(b.wait_closed());
    // disconnect waits until the connection has detached: b is offline at once.
    const auto after = call(server(), api.find_session("b"));
    REQUIRE(after);
    CHECK_FALSE(after->online);
    CHECK(call(server(), api.list_sessions(true, 0, 10)).total == 2);
    CHECK(call(server(), api.list_sessions(false, 0, 10)).total == 3);

    // An offline session: only drop_session finds something to do.
    CHECK(call(server(), api.disconnect("b", false)) == br::service_status::not_found);
    CHECK(call(server(), api.disconnect("b", true)) == br::service_status::ok);
    CHECK_FALSE(call(server(), api.find_session("b")));
    CHECK(call(server(), api.disconnect("nobody", true)) == br::service_status::not_found);
}

namespace {

/// Uses the services from inside a hook: every client that connects is subscribed to its own
/// welcome topic and gets a retained-free greeting on it.
class greeter : public br::plugin {
public:
    br::server* host = nullptr;

    std::string name() const override { return "greeter"; }
    br::hook_set hooks() const override { return br::hook_connected; }

    asio::awaitable<void> on_connected(const br::client_info& client) override {
        auto& api = host->services();
        const auto topic = "welcome/" + client.client_id;
        auto subscribe = api.subscribe(client.client_id, sub(topic, q1));
        co_await std::move(subscribe);
        auto greet = api.publish(msg(topic, "hello " + client.client_id, q1));
        co_await std::move(greet);
    }
};

} // namespace

TEST_CASE("services: a hook subscribes the client and publishes to it") {
    auto plugin = std::make_shared<greeter>();
    running_broker broker(test_config(), {plugin});
    plugin->host = &broker.server();

    auto c = broker.client();
    c.connect("alice");
    const auto got = c.receive(); // without a SUBSCRIBE of its own
    CHECK(got.topic() == "welcome/alice");
    CHECK(got.payload() == "hello alice");
    CHECK(got.qos_level == q1);
}

namespace {

struct event {
    bool delivered = false;
    std::string client_id;
    std::string topic;
    std::string payload;
    pk::qos qos_level = q0;
    std::uint16_t packet_id = 0;
    br::drop_reason why = br::drop_reason::queue_full;
};

/// Records on_delivered and on_msg_dropped; each call takes `delay` (a slow consumer of the
/// notifications, which must not slow down the deliveries themselves).
class recorder : public br::plugin {
public:
    explicit recorder(std::chrono::milliseconds delay = 0ms)
        : delay_(delay) {}

    std::string name() const override { return "recorder"; }
    br::hook_set hooks() const override { return br::hook_delivered | br::hook_msg_dropped; }

    asio::awaitable<void> on_delivered(const std::string& client_id,
                                       const pk::publish& m) override {
        co_await pause();
        add({true, client_id, std::string(m.topic()), std::string(m.payload()), m.qos_level,
             m.packet_id});
    }
    asio::awaitable<void> on_msg_dropped(const std::string& client_id, const pk::publish& m,
                                         br::drop_reason why) override {
        co_await pause();
        add({false, client_id, std::string(m.topic()), std::string(m.payload()), m.qos_level,
             m.packet_id, why});
    }

    std::vector<event> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    std::size_t count() const {
        std::lock_guard lock(mutex_);
        return events_.size();
    }

private:
    asio::awaitable<void> pause() {
        if (delay_ > 0ms) {
            asio::steady_timer timer(co_await asio::this_coro::executor, delay_);
            co_await timer.async_wait(asio::use_awaitable);
        }
    }
    void add(event e) {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(e));
    }

    std::chrono::milliseconds delay_;
    mutable std::mutex mutex_;
    std::vector<event> events_;
};

} // namespace

TEST_CASE("on_delivered: once per subscriber and message, in order, with what was sent") {
    auto rec = std::make_shared<recorder>();
    running_broker broker(test_config(), {rec});
    auto s1 = broker.client();
    auto s2 = broker.client();
    s1.connect("s1");
    s2.connect("s2");
    s1.subscribe("t/#", q1);
    s2.subscribe("t/x", q0);
    auto publisher = broker.client();
    publisher.connect("p");
    publisher.publish("t/x", "one", q1);
    publisher.publish("t/y", "two", q1);
    const auto m1 = s1.receive();
    s1.receive();
    s2.receive();

    REQUIRE(eventually([&] { return rec->count() == 3; }));
    CHECK_FALSE(eventually([&] { return rec->count() > 3; })); // nothing more: no resend
    auto events = rec->events();
    std::vector<event> to_s1;
    for (const auto& e : events) {
        CHECK(e.delivered);
        if (e.client_id == "s1") {
            to_s1.push_back(e);
        } else {
            CHECK(e.client_id == "s2");
            CHECK(e.topic == "t/x");
            CHECK(e.qos_level == q0); // the subscriber's QoS, not the publisher's
            CHECK(e.packet_id == 0);
        }
    }
    REQUIRE(to_s1.size() == 2);
    CHECK(to_s1[0].payload == "one"); // in order
    CHECK(to_s1[1].payload == "two");
    CHECK(to_s1[0].qos_level == q1);
    CHECK(to_s1[0].packet_id == m1.packet_id);
}

TEST_CASE("on_msg_dropped: a full queue, and QoS 0 for an offline session, with the reason") {
    auto rec = std::make_shared<recorder>();
    auto config = test_config();
    config.max_msgqueue_messages = 2;
    config.queue_qos0_messages = false;
    running_broker broker(config, {rec});
    {
        auto s = broker.client();
        s.connect("s", false);
        s.subscribe("q/#", q1);
        s.disconnect();
    }
    REQUIRE(broker.wait_connections(0));
    auto publisher = broker.client();
    publisher.connect("p");
    for (const auto* payload : {"1", "2", "3", "4"}) {
        publisher.publish("q/a", payload, q1);
    }
    publisher.publish("q/zero", "z", q0);

    REQUIRE(eventually([&] { return rec->count() == 3; }));
    auto events = rec->events();
    REQUIRE(events.size() == 3);
    for (const auto& e : events) {
        CHECK_FALSE(e.delivered);
        CHECK(e.client_id == "s");
        CHECK(e.packet_id == 0);
    }
    // The queue holds 2: messages 3 and 4 are dropped (no QoS 0 in it to make room).
    CHECK(events[0].payload == "3");
    CHECK(events[0].why == br::drop_reason::queue_full);
    CHECK(events[1].payload == "4");
    CHECK(events[2].payload == "z");
    CHECK(events[2].why == br::drop_reason::offline_qos0);

    // The two queued ones are delivered (and reported) when the client comes back.
    auto back = broker.client();
    CHECK(back.connect("s", false).session_present);
    CHECK(back.receive().payload() == "1");
    CHECK(back.receive().payload() == "2");
    REQUIRE(eventually([&] { return rec->count() == 5; }));
    events = rec->events();
    CHECK(events[3].delivered);
    CHECK(events[3].payload == "1");
    CHECK(events[4].payload == "2");
}

TEST_CASE("on_delivered: a slow hook does not delay the deliveries") {
    // Each notification takes 500 ms; five messages take 2.5 s to be heard about, and must
    // arrive long before that.
    auto rec = std::make_shared<recorder>(500ms);
    running_broker broker(test_config(), {rec});
    auto s = broker.client();
    s.connect("s");
    s.subscribe("slow", q1);
    auto publisher = broker.client();
    publisher.connect("p");
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) {
        publisher.publish("slow", std::to_string(i), q1);
    }
    for (int i = 0; i < 5; ++i) {
        CHECK(s.receive().payload() == std::to_string(i));
    }
    CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
    CHECK(rec->count() < 5);
    REQUIRE(eventually([&] { return rec->count() == 5; }));
}
