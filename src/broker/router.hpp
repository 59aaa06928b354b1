// The router: the session table, the subscription trie and the retained store, and every
// protocol decision that involves more than one connection. It knows no sockets and no
// executors: the network layer calls it on one strand and it answers by pushing encoded
// packets into client links. Unit tests drive it directly, on one thread.
#pragma once

#include "client_link.hpp"
#include "session.hpp"
#include "topic_tree.hpp"

#include <coromq/broker/config.hpp>
#include <coromq/packet/types.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace coromq::broker {

/// What `router::attach` decided about a CONNECT.
struct attach_result {
    std::shared_ptr<session> attached; ///< null when refused (the CONNACK saying why is queued)
    bool session_present = false;
    std::string assigned_client_id; ///< when the client sent an empty one
};

/// Counters for logs, REST and benchmarks.
struct router_stats {
    std::uint64_t messages_received = 0;
    std::uint64_t messages_delivered = 0;
    std::uint64_t messages_dropped = 0;
};

/// Not thread-safe: every call happens on the router's strand.
class router {
public:
    /// Topic filters with more levels are refused with SUBACK 0x80.
    static constexpr std::size_t max_filter_levels = 128;

    explicit router(broker_config config);
    ~router();
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    /// Attaches a connection whose CONNECT was accepted by the codec (and, later, the hooks):
    /// takes over an existing connection with the same id [MQTT-3.1.4-2], resumes or starts a
    /// session, queues CONNACK on `link`, then resends unacknowledged messages [MQTT-4.4.0-1]
    /// and whatever was queued while offline.
    attach_result attach(const packet::connect& request, std::shared_ptr<client_link> link,
                         steady_time now, wall_time wall_now);

    /// The connection of `s` ended. `publish_will` is false after DISCONNECT [MQTT-3.1.2-10].
    /// Does nothing when `link` is no longer the session's (it was taken over).
    void detach(const std::shared_ptr<session>& s, const client_link* link, bool publish_will,
                steady_time now, wall_time wall_now);

    /// Packets from an attached connection. Each ignores a session whose link is not `link`.
    void on_publish(session& s, const client_link* link, packet::publish&& p, steady_time now);
    void on_puback(session& s, const client_link* link, std::uint16_t packet_id, steady_time now);
    void on_pubrec(session& s, const client_link* link, std::uint16_t packet_id, steady_time now);
    void on_pubrel(session& s, const client_link* link, std::uint16_t packet_id);
    void on_pubcomp(session& s, const client_link* link, std::uint16_t packet_id, steady_time now);
    void on_subscribe(session& s, const client_link* link, packet::subscribe&& p, steady_time now,
                      wall_time wall_now);
    void on_unsubscribe(session& s, const client_link* link, packet::unsubscribe&& p);

    /// Publishes a message from inside the broker (REST, wills): retained store, then routing.
    void publish(message_ptr message, steady_time now);

    /// Resends every in-flight message unacknowledged for `delivery_retry_interval`.
    void retry_overdue(steady_time now);

    /// Asks every connection to close (graceful stop).
    void close_all(close_reason why);

    const router_stats& stats() const noexcept { return stats_; }
    const broker_config& config() const noexcept { return config_; }
    std::size_t session_count() const noexcept { return sessions_.size(); }
    std::size_t subscription_count() const noexcept { return subscriptions_.size(); }
    std::size_t retained_count() const noexcept { return retained_.size(); }
    /// The session of `client_id`, or null.
    std::shared_ptr<session> find_session(std::string_view client_id) const;
    /// Sessions in client id order (stable for paging).
    const std::map<std::string, std::shared_ptr<session>, std::less<>>& sessions() const noexcept {
        return sessions_;
    }

private:
    void route(const message_ptr& message, steady_time now);
    void deliver(session& s, const message_ptr& message, packet::qos qos_level, bool retain,
                 steady_time now);
    void enqueue(session& s, queued_message m);
    void start_inflight(session& s, queued_message m, steady_time now);
    void fill_inflight(session& s, steady_time now);
    void send_publish(session& s, const app_message& m, packet::qos qos_level, bool retain,
                      std::uint16_t packet_id, bool dup);
    void send_pubrel(session& s, std::uint16_t packet_id);
    void resend_inflight(session& s, steady_time now);
    std::uint16_t next_packet_id(session& s);
    void send_retained(session& s, const packet::subscription& sub, steady_time now);
    void remove_session(const std::shared_ptr<session>& s);
    void publish_will(session& s, steady_time now);

    broker_config config_;
    std::map<std::string, std::shared_ptr<session>, std::less<>> sessions_;
    subscription_trie<session*, packet::subscription> subscriptions_;
    retained_trie<message_ptr> retained_;
    router_stats stats_;
    std::uint64_t assigned_ids_ = 0;
    /// Reused by `route` so routing does not allocate per message.
    std::vector<std::pair<session*, const packet::subscription*>> matches_;
};

} // namespace coromq::broker
