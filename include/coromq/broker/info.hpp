// Snapshots of sessions and subscriptions, as the services API and the REST API show them,
// and why a message can miss a subscriber. Plain data.
#pragma once

#include <coromq/packet/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace coromq::broker {

/// Topic filters with more levels are refused (SUBACK 0x80): this bounds the depth of the
/// subscription trie, which a client could otherwise make as deep as it likes.
inline constexpr std::size_t max_filter_levels = 128;

/// A session as the management API shows it (Gmqtt's ClientInfo and SessionInfo): a copy,
/// taken on the router strand, that does not change afterwards.
struct session_info {
    std::string client_id;
    bool online = false;                 ///< a connection is attached
    std::optional<std::string> username; ///< as CONNECT (or the certificate) gave it
    std::string remote_address;          ///< of the current (or last) connection
    bool clean_session = true;
    std::uint16_t keep_alive = 0;
    std::size_t subscriptions = 0;
    std::size_t max_inflight = 0;
    std::size_t inflight = 0;  ///< QoS 1/2 messages sent and not yet acknowledged
    std::size_t max_queue = 0; ///< 0: no limit
    std::size_t queued = 0;    ///< messages waiting for room in the in-flight window
    std::uint64_t dropped = 0; ///< messages dropped because a queue was full
    std::chrono::system_clock::time_point connected_at{};
    std::chrono::system_clock::time_point offline_at{}; ///< the epoch when never offline
};

/// One subscription of one session.
struct subscription_info {
    std::string client_id;
    std::string filter;
    packet::qos max_qos = packet::qos::at_most_once;
    std::chrono::system_clock::time_point subscribed_at{};
};

/// Why a message was not delivered to a subscriber (`plugin::on_msg_dropped`).
enum class drop_reason : std::uint8_t {
    /// The session's queue (`max_msgqueue_messages`) was full: the new message was dropped, or
    /// a queued QoS 0 message made room for a new QoS 1/2 one.
    queue_full,
    /// QoS 0 to a connected subscriber that does not read: its connection already had
    /// `max_outbox_messages` packets waiting to be written.
    outbox_full,
    /// QoS 0 to an offline session while `queue_qos0_messages` is off.
    offline_qos0,
};

} // namespace coromq::broker
