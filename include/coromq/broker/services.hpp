// What a program embedding the broker, a hook, or the REST API can ask of a running server:
// publish, subscribe and unsubscribe on behalf of a client, look up and list clients and
// sessions, disconnect a client. The REST API is written on exactly these calls.
//
// Every call is a coroutine. Thread-safety: any call may be made from any thread and any
// executor, concurrently with anything else; it enters the server's router strand for one
// short step (a listing: one step per bounded batch of entries) and resumes the caller on the
// caller's own executor. It completes only while the server runs (between `server::run` and
// the end of `server::stop`). From code that is not a coroutine, spawn it on the server:
//
//     auto done = asio::co_spawn(server.executor(), server.services().publish(m),
//                                asio::use_future);
//     done.get();
//
// Cancellation: none of these calls can be cancelled halfway. A step that has entered the
// router strand runs to its end (a message published from there is published); cancelling
// the awaiting coroutine only stops it from hearing the answer.
#pragma once

#include <coromq/broker/info.hpp>
#include <coromq/packet/types.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coromq::net {
struct broker_state;
}

namespace coromq::broker {

/// A page of a listing: `items` are entries `offset` to `offset + limit - 1` of the whole
/// listing in client id order (then filter order), `total` how many entries it had.
template <class Item>
struct page {
    std::vector<Item> items;
    std::size_t total = 0;
};

/// A message published by the server itself (not by a client).
struct message {
    std::string topic; ///< a topic name: no wildcards, valid UTF-8, 1 to 65535 bytes
    std::string payload;
    packet::qos qos_level = packet::qos::at_most_once;
    bool retain = false; ///< stored as the topic's retained message (an empty payload clears it)
};

/// The outcome of an action on a client's session.
enum class service_status : std::uint8_t {
    ok,
    not_found,      ///< no session with that client id (or, for `disconnect`, not online)
    invalid_filter, ///< not a valid topic filter, or more levels than the broker allows
};

/// The operations of one server; get them with `server::services()`. The object lives as long
/// as its server.
class services {
public:
    /// Used by the server; embedding code gets the object from `server::services()`.
    explicit services(net::broker_state& state) noexcept
        : state_(state) {}
    services(const services&) = delete;
    services& operator=(const services&) = delete;

    /// Publishes `m` as if a client had: retained store, then every matching subscription
    /// (online sessions get it at once, offline ones queue it as usual). Plugin hooks are not
    /// asked (the server is trusted). Throws std::invalid_argument for a topic that is not a
    /// valid topic name, before anything is published.
    boost::asio::awaitable<void> publish(message m);

    /// Subscribes `client_id`'s session (online or offline) to `sub` as its own SUBSCRIBE
    /// would, without a SUBACK: the retained messages matching it are delivered (or queued)
    /// at once [MQTT-3.8.4-3], and an existing subscription with the same filter is replaced.
    boost::asio::awaitable<service_status> subscribe(std::string client_id,
                                                     packet::subscription sub);

    /// Removes `client_id`'s subscription to exactly `filter` (ok when there was none).
    boost::asio::awaitable<service_status> unsubscribe(std::string client_id, std::string filter);

    /// The session of `client_id`, online or offline, or nullopt.
    boost::asio::awaitable<std::optional<session_info>> find_session(std::string client_id);

    /// A page of the sessions (only those with a connection when `online_only`), in client id
    /// order. The router is walked in short steps, so a listing of any size never holds it for
    /// long; entries come in strictly increasing order even while sessions come and go.
    boost::asio::awaitable<page<session_info>> list_sessions(bool online_only, std::size_t offset,
                                                             std::size_t limit);

    /// A page of every session's subscriptions, or of `client_id`'s only (then nullopt when
    /// there is no such session), in (client id, filter) order.
    boost::asio::awaitable<std::optional<page<subscription_info>>>
    list_subscriptions(std::optional<std::string> client_id, std::size_t offset, std::size_t limit);

    /// Closes `client_id`'s connection (its will is published, as when the network fails),
    /// and waits (at most 3 s) until the connection has run its close handling, so that a
    /// lookup afterwards shows the client offline. With `drop_session` the session is removed
    /// as well (an offline one at once). not_found: no session, or without `drop_session`
    /// no connection.
    boost::asio::awaitable<service_status> disconnect(std::string client_id, bool drop_session);

private:
    net::broker_state& state_;
};

} // namespace coromq::broker
