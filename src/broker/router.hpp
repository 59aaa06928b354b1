// The router: the session table, the subscription trie and the retained store, and every
// protocol decision that involves more than one connection. It knows no sockets and no
// executors: the network layer calls it on one strand and it answers by pushing encoded
// packets into client links. Unit tests drive it directly, on one thread.
#pragma once

#include "client_link.hpp"
#include "session.hpp"
#include "topic_tree.hpp"

#include <coromq/broker/config.hpp>
#include <coromq/broker/info.hpp>
#include <coromq/packet/types.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coromq::broker {

/// What `router::attach` decided about a CONNECT.
struct attach_result {
    std::shared_ptr<session> attached; ///< null when refused (the CONNACK saying why is queued)
    bool session_present = false;
    std::string assigned_client_id; ///< when the client sent an empty one
    /// The will of a connection this one took over: its connection ended without DISCONNECT,
    /// so the caller publishes it [MQTT-3.1.2-8] (through the will hooks, with publish_will).
    std::optional<packet::will> taken_over_will;
    /// The session this connection replaced was discarded (taken over with a clean start).
    bool previous_session_ended = false;
};

/// What `router::detach` leaves for the caller.
struct detach_result {
    /// The will to publish, when the connection ended without DISCONNECT [MQTT-3.1.2-8].
    std::optional<packet::will> will;
    /// The session ended with the connection (clean session) [MQTT-3.1.2-6].
    bool session_ended = false;
};

/// Counters for logs, REST and benchmarks.
struct router_stats {
    std::uint64_t messages_received = 0;
    std::uint64_t messages_delivered = 0;
    std::uint64_t messages_dropped = 0;
};

/// A PUBLISH sent to a subscriber for the first time, or a message a subscriber missed: what
/// the on_delivered and on_msg_dropped hooks hear about.
struct message_event {
    bool delivered = true; ///< false: dropped, for `why`
    drop_reason why = drop_reason::queue_full;
    std::string client_id; ///< the subscriber's
    message_ptr message;
    packet::qos qos_level = packet::qos::at_most_once; ///< as sent (or as it would have been)
    bool retain = false;
    std::uint16_t packet_id = 0; ///< as sent; 0 for QoS 0 and for drops
};
using message_event_sink = std::function<void(message_event&&)>;

/// Not thread-safe: every call happens on the router's strand.
class router {
public:
    /// Topic filters with more levels are refused with SUBACK 0x80.
    static constexpr std::size_t max_filter_levels = broker::max_filter_levels;

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

    /// The connection of `s` ended. `with_will` is false after DISCONNECT [MQTT-3.1.2-10].
    /// Does nothing when `link` is no longer the session's (it was taken over).
    /// Wills are not published here: the caller runs them through the will hooks first.
    detach_result detach(const std::shared_ptr<session>& s, const client_link* link, bool with_will,
                         steady_time now, wall_time wall_now);

    /// Publishes a will (after the will hooks had their say). `publisher` is the session it
    /// came from, if it still exists (for 5.0 no-local), or null.
    void publish_will(const packet::will& will, const session* publisher, steady_time now);

    /// Packets from an attached connection. Each ignores a session whose link is not `link`.
    /// `deliver` false: an on_publish hook refused it; acknowledged as usual but routed to no
    /// one [MQTT-3.3.5-2] (5.0: the acknowledgement says 0x87 not authorized).
    void on_publish(session& s, const client_link* link, packet::publish&& p, steady_time now,
                    bool deliver = true);
    void on_puback(session& s, const client_link* link, std::uint16_t packet_id, steady_time now);
    void on_pubrec(session& s, const client_link* link, std::uint16_t packet_id, steady_time now);
    void on_pubrel(session& s, const client_link* link, std::uint16_t packet_id);
    void on_pubcomp(session& s, const client_link* link, std::uint16_t packet_id, steady_time now);
    /// `grants`, when not empty, holds an on_subscribe hook's answer per filter: the highest
    /// QoS granted, or nullopt for refused (SUBACK 0x80; 5.0: 0x87).
    void on_subscribe(session& s, const client_link* link, packet::subscribe&& p, steady_time now,
                      wall_time wall_now, std::vector<std::optional<packet::qos>> grants = {});
    /// `kept`, when not empty, marks filters an on_unsubscribe hook refused to remove
    /// (5.0: UNSUBACK 0x87 for them).
    void on_unsubscribe(session& s, const client_link* link, packet::unsubscribe&& p,
                        std::vector<bool> kept = {});

    /// Publishes a message from inside the broker (REST, wills): retained store, then routing.
    void publish(message_ptr message, steady_time now);

    /// Resends every in-flight message unacknowledged for `delivery_retry_interval`.
    void retry_overdue(steady_time now);

    /// From now on, calls `sink` (synchronously, on the router strand) for every PUBLISH sent to a
    /// subscriber for the first time when `delivered` (resends are not reported), and for every
    /// message a subscriber misses when `dropped`. Without this, recording costs one branch.
    void set_message_events(message_event_sink sink, bool delivered, bool dropped);

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

    // --- management API (REST) ---------------------------------------------------------------
    // Snapshots of sessions and subscriptions, and what an operator may do to them. Like every
    // other member: call on the router strand only. Listings are walked a bounded number of
    // entries per call, resuming from an `admin_cursor`, so a caller pages through any number
    // of sessions with many short strand tasks instead of one long one. Implemented in
    // router_admin.cpp.

    /// Where a listing stopped, in client id order (then filter order for subscriptions).
    /// A listing resumes strictly after it, so entries come in increasing order without
    /// duplicates even when sessions come and go between calls.
    struct admin_cursor {
        std::string client_id; ///< the last session visited
        std::string filter;    ///< the last filter of `client_id` visited ("" before its first)
        bool started = false;  ///< false: from the beginning
        bool done = false;     ///< the end of the listing was reached
    };

    /// One bounded step of the session listing (online ones only when `online_only`): visits at
    /// most `budget` sessions after `at`, passes over the first `skip` that match (counting
    /// `skip` down), then appends matching ones to `out` until it holds `take`. Moves `at`.
    /// Returns how many entries the whole listing has now (`online_count()` or all sessions).
    std::size_t admin_list_sessions(admin_cursor& at, bool online_only, std::size_t& skip,
                                    std::size_t take, std::size_t budget,
                                    std::vector<session_info>& out) const;

    /// The same over subscriptions: every session's, or only `client_id`'s when given (then
    /// nullopt when there is no such session). `budget` counts subscriptions, and sessions
    /// without any.
    std::optional<std::size_t> admin_list_subscriptions(admin_cursor& at,
                                                        std::optional<std::string_view> client_id,
                                                        std::size_t& skip, std::size_t take,
                                                        std::size_t budget,
                                                        std::vector<subscription_info>& out) const;

    /// The session of `client_id`, or nullopt.
    std::optional<session_info> admin_find(std::string_view client_id) const;

    /// Sessions with a connection attached.
    std::size_t online_count() const noexcept { return online_count_; }

    enum class admin_status : std::uint8_t { ok, not_found, invalid_filter };

    /// Subscribes `client_id`'s session (online or offline) to `sub` as its own SUBSCRIBE
    /// would, without a SUBACK: the subscription joins the session, and retained messages are
    /// delivered (or queued) at once [MQTT-3.8.4-3]. invalid_filter: too many levels.
    admin_status admin_subscribe(std::string_view client_id, const packet::subscription& sub,
                                 steady_time now, wall_time wall_now);

    /// Removes one subscription of `client_id`'s session (ok when it had none by that filter).
    admin_status admin_unsubscribe(std::string_view client_id, std::string_view filter);

    /// What `admin_disconnect` did.
    struct admin_kick {
        bool found = false;
        /// The link asked to close (null when the client was offline); the session is
        /// detached once the connection has run its close handling.
        std::shared_ptr<client_link> closing;
    };

    /// Disconnects `client_id` (close_reason::kicked). With `drop_session` its session goes
    /// too: at once when offline, else when the connection detaches (as with clean session).
    /// Not found when there is no session, or without `drop_session` when it is offline.
    admin_kick admin_disconnect(std::string_view client_id, bool drop_session);

private:
    void route(const message_ptr& message, steady_time now);
    void deliver(session& s, const message_ptr& message, packet::qos qos_level, bool retain,
                 steady_time now);
    void enqueue(session& s, queued_message m);
    void start_inflight(session& s, queued_message m, steady_time now);
    void fill_inflight(session& s, steady_time now);
    void send_publish(session& s, const message_ptr& m, packet::qos qos_level, bool retain,
                      std::uint16_t packet_id, bool dup);
    void report_drop(const session& s, const message_ptr& m, packet::qos qos_level, bool retain,
                     drop_reason why);
    void send_pubrel(session& s, std::uint16_t packet_id);
    void resend_inflight(session& s, steady_time now);
    std::uint16_t next_packet_id(session& s);
    void send_retained(session& s, const packet::subscription& sub, steady_time now);
    void remove_session(const std::shared_ptr<session>& s);

    /// Adds or replaces one subscription of `s` [MQTT-3.8.4-3]; false when refused (too deep).
    /// `is_new`: there was none by that filter before.
    bool add_subscription(session& s, const packet::subscription& sub, wall_time wall_now,
                          bool& is_new);
    /// Removes one subscription of `s`; true when there was one [MQTT-3.10.4-1].
    bool remove_subscription(session& s, std::string_view filter);

    broker_config config_;
    std::map<std::string, std::shared_ptr<session>, std::less<>> sessions_;
    subscription_trie<session*, packet::subscription> subscriptions_;
    retained_trie<message_ptr> retained_;
    router_stats stats_;
    std::uint64_t assigned_ids_ = 0;
    /// Reused by `route` so routing does not allocate per message.
    std::vector<std::pair<session*, const packet::subscription*>> matches_;
    /// Sessions with a link (for the management API's client count).
    std::size_t online_count_ = 0;
    message_event_sink events_;
    bool report_delivered_ = false;
    bool report_dropped_ = false;
};

} // namespace coromq::broker
