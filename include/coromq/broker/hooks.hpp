// Hook plugins: code that decides who may connect, subscribe and publish, and that hears about
// what happens, written as coroutines. A hook may do real asynchronous I/O (ask a database, an
// HTTP service) with `co_await`; it never blocks anyone else.
//
// Several plugins form a chain, called in the order they were added. For a deciding hook the
// first answer other than `pass` wins; when every plugin passes, the broker's default applies
// (allow). Notification hooks are called on every plugin that implements them.
//
// Each call is bounded by `broker_config::hook_timeout`; a hook that throws or times out is
// logged and counts as `deny` (connect, subscribe, unsubscribe) or `drop` (publish).
// A hook's arguments are valid until the hook's coroutine completes.
#pragma once

#include <coromq/broker/info.hpp>
#include <coromq/packet/types.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace coromq::broker {

/// A freshly accepted connection, before any handshake.
struct accept_info {
    std::string remote_address; ///< "1.2.3.4:5678" or "[::1]:5678"
    std::string transport;      ///< tcp, tls, ws, wss
    std::uint16_t local_port = 0;
};

/// A client, as its CONNECT described it. Built once per connection.
struct client_info {
    std::string client_id;
    std::optional<std::string> username; ///< from CONNECT, or the certificate's CN
    /// `username` is the CN of a client certificate the TLS handshake verified (a listener
    /// with cn_as_username): the certificate authenticated the client, and whatever CONNECT
    /// said was replaced. Mosquitto's use_identity_as_username.
    bool username_from_certificate = false;
    std::string remote_address;
    std::string transport;
    packet::protocol_version version = packet::protocol_version::v3_1_1;
    bool clean_session = true;
    std::uint16_t keep_alive = 0;
};

/// What a deciding hook answers.
enum class verdict : std::uint8_t {
    pass,  ///< no opinion: ask the next plugin
    allow, ///< allow, and stop asking
    deny,  ///< refuse, and stop asking
};

/// The answer of `on_connect`.
struct connect_verdict {
    verdict decision = verdict::pass;
    /// With `deny`: the CONNACK code, spelled as in MQTT 3.1.1 (0x04 bad user name or
    /// password, 0x05 not authorized...); the broker translates it for 5.0 clients.
    packet::connect_return_code code = packet::connect_return_code::not_authorized;

    static connect_verdict pass() { return {}; }
    static connect_verdict allow() { return {verdict::allow, {}}; }
    static connect_verdict
    deny(packet::connect_return_code c = packet::connect_return_code::not_authorized) {
        return {verdict::deny, c};
    }
};

/// The answer of `on_subscribe` for one topic filter.
struct subscribe_verdict {
    verdict decision = verdict::pass;
    /// With `allow`: the highest QoS granted (the client gets the lower of this and what it
    /// asked for). With `deny` the filter gets SUBACK 0x80 (5.0: 0x87 not authorized).
    packet::qos max_qos = packet::qos::exactly_once;

    static subscribe_verdict pass() { return {}; }
    static subscribe_verdict allow(packet::qos q = packet::qos::exactly_once) {
        return {verdict::allow, q};
    }
    static subscribe_verdict deny() { return {verdict::deny, {}}; }
};

/// The answer of `on_publish`.
enum class publish_verdict : std::uint8_t {
    pass,       ///< no opinion
    allow,      ///< deliver, and stop asking
    drop,       ///< acknowledge as usual but deliver to no one [MQTT-3.3.5-2]
    disconnect, ///< close the client's connection [MQTT-3.3.5-2]
};

/// Why a session ended.
enum class session_end : std::uint8_t { normal, taken_over };

/// The hooks a plugin implements; the others are never called and cost nothing.
enum hook : std::uint32_t {
    hook_accept = 1u << 0,
    hook_connect = 1u << 1,
    hook_connected = 1u << 2,
    hook_session_created = 1u << 3,
    hook_session_resumed = 1u << 4,
    hook_session_terminated = 1u << 5,
    hook_subscribe = 1u << 6,
    hook_subscribed = 1u << 7,
    hook_unsubscribe = 1u << 8,
    hook_unsubscribed = 1u << 9,
    hook_publish = 1u << 10,
    hook_will_publish = 1u << 11,
    hook_close = 1u << 12,
    hook_stop = 1u << 13,
    hook_reload = 1u << 14,
    hook_delivered = 1u << 15,
    hook_msg_dropped = 1u << 16,
};
using hook_set = std::uint32_t;

/// Base class of every plugin. Override the hooks you need and name them in `hooks()`.
/// Hooks run on the calling connection's strand (or the server's, for `on_stop`); a plugin
/// shared between connections must protect its own state. Blocking work belongs on
/// `server::blocking_executor()`, not in a hook.
class plugin {
public:
    virtual ~plugin() = default;

    /// A short name for logs.
    virtual std::string name() const = 0;
    /// The hooks this plugin implements, e.g. `hook_connect | hook_subscribe`.
    virtual hook_set hooks() const = 0;

    /// After accept, before any handshake, on every transport. `deny` closes the socket.
    virtual boost::asio::awaitable<verdict> on_accept(const accept_info&);
    /// After CONNECT is read: authentication. `deny` answers with the verdict's CONNACK code.
    /// `password` is the CONNECT password (binary), if any.
    virtual boost::asio::awaitable<connect_verdict>
    on_connect(const client_info&, const std::optional<std::string>& password);
    /// After CONNACK 0 has been queued.
    virtual boost::asio::awaitable<void> on_connected(const client_info&);
    virtual boost::asio::awaitable<void> on_session_created(const client_info&);
    virtual boost::asio::awaitable<void> on_session_resumed(const client_info&);
    virtual boost::asio::awaitable<void> on_session_terminated(const std::string& client_id,
                                                               session_end why);
    /// For each topic filter of a SUBSCRIBE: access control.
    virtual boost::asio::awaitable<subscribe_verdict> on_subscribe(const client_info&,
                                                                   const packet::subscription&);
    /// After a subscription was made (granted, not refused).
    virtual boost::asio::awaitable<void> on_subscribed(const client_info&,
                                                       const packet::subscription&);
    /// For each filter of an UNSUBSCRIBE. `deny` keeps the subscription.
    virtual boost::asio::awaitable<verdict> on_unsubscribe(const client_info&,
                                                           const std::string& filter);
    virtual boost::asio::awaitable<void> on_unsubscribed(const client_info&,
                                                         const std::string& filter);
    /// For each PUBLISH a client sends.
    virtual boost::asio::awaitable<publish_verdict> on_publish(const client_info&,
                                                               const packet::publish&);
    /// Before a will is published; may change it, or return nullopt to drop it.
    virtual boost::asio::awaitable<std::optional<packet::will>> on_will_publish(const client_info&,
                                                                                packet::will will);
    /// A PUBLISH was sent to subscriber `client_id` for the first time (resends are not
    /// reported); `message` as sent (its QoS, retain flag and packet id are the subscriber's).
    /// Fire-and-forget: the delivery did not wait and will not; notifications are delivered in
    /// order, from one queue per server that holds at most 65,536 of them (beyond that they
    /// are counted and logged, not queued), so a slow hook delays only later notifications.
    virtual boost::asio::awaitable<void> on_delivered(const std::string& client_id,
                                                      const packet::publish& message);
    /// Subscriber `client_id` misses `message`, for `why`. As `on_delivered`: fire-and-forget,
    /// in order, through the same queue; `message.packet_id` is 0.
    virtual boost::asio::awaitable<void>
    on_msg_dropped(const std::string& client_id, const packet::publish& message, drop_reason why);
    /// After the connection closed and its close handling ran. `reason` as in the log.
    virtual boost::asio::awaitable<void> on_close(const client_info&, const std::string& reason);
    /// After the server stopped accepting and closed every client.
    virtual boost::asio::awaitable<void> on_stop();
    /// When the operator asks for a reload (SIGHUP for the stock binary): re-read files.
    /// A plugin that cannot load the new ones should keep the old ones and log why.
    virtual boost::asio::awaitable<void> on_reload();
};

class server;

/// What a plugin built as a shared object is created with: the stock binary's
/// `--plugin [NAME=]PATH` and `--plugin_opt NAME:KEY=VALUE`.
struct plugin_options {
    /// NAME, by default the file name without "lib" and ".so" (libmy_auth.so: "my_auth").
    std::string name;
    /// KEY=VALUE pairs from `--plugin_opt NAME:KEY=VALUE` (a repeated KEY: the last wins).
    std::map<std::string, std::string> options;
    /// The server the plugin is loaded into (for `blocking_executor()`); it outlives the plugin.
    server* host = nullptr;
};

/// The entry point every shared-object plugin exports, with C linkage:
///
///     extern "C" coromq::broker::plugin*
///     coromq_create_plugin(const coromq::broker::plugin_options& options);
///
/// It returns a plugin allocated with `new` (the server deletes it through the virtual
/// destructor) or throws to refuse to start (the message is shown and the binary exits 2).
/// The ABI rule: a plugin shares C++ types, Boost.Asio's coroutine machinery and the
/// executable's single compiled copy of Asio with the broker, so it must be built with the
/// same compiler (and standard library), the same Boost version, the same coromq headers and
/// the same Asio flags (-DBOOST_ASIO_SEPARATE_COMPILATION -DBOOST_ASIO_NO_DEPRECATED), and
/// must not link Asio itself. The shared object is never unloaded.
using create_plugin_function = plugin* (*)(const plugin_options&);
inline constexpr const char* create_plugin_symbol = "coromq_create_plugin";

} // namespace coromq::broker
