// A client's session: what survives a disconnect when clean session is 0 (subscriptions,
// messages in flight and queued, incoming QoS 2 ids awaiting PUBREL) and, while online, the
// link to its connection. Lives on the router's strand; never touched from anywhere else.
#pragma once

#include "client_link.hpp"

#include <coromq/packet/types.hpp>

#include <boost/container/deque.hpp>
#include <boost/container/flat_set.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace coromq::broker {

using steady_time = std::chrono::steady_clock::time_point;
using wall_time = std::chrono::system_clock::time_point;

/// An application message as routed: one shared, immutable object however many sessions
/// hold it (queued, in flight, retained).
struct app_message {
    packet::message_buffer buffer; ///< topic and payload
    packet::qos qos_level = packet::qos::at_most_once;
    bool retain = false;
    packet::properties props; ///< 5.0 properties forwarded to subscribers
    const void* publisher =
        nullptr; ///< the publishing session, for 5.0 no-local; never dereferenced
};
using message_ptr = std::shared_ptr<const app_message>;

/// One outgoing QoS 1/2 message waiting for its acknowledgement.
struct inflight_message {
    enum class stage : std::uint8_t { awaiting_puback, awaiting_pubrec, awaiting_pubcomp };
    std::uint16_t packet_id = 0;
    stage state = stage::awaiting_puback;
    packet::qos qos_level = packet::qos::at_least_once;
    bool retain = false;
    message_ptr message; ///< released once PUBREC arrives (only PUBREL is resent after that)
    steady_time sent_at{};
};

/// One message waiting for room in the in-flight window (or for the client to come back).
struct queued_message {
    message_ptr message;
    packet::qos qos_level = packet::qos::at_most_once;
    bool retain = false;
};

/// A subscription as the session remembers it.
struct session_subscription {
    packet::subscription options;
    wall_time subscribed_at{};
};

struct session {
    std::string client_id;
    bool clean_session = true;
    packet::protocol_version version = packet::protocol_version::v3_1_1;

    std::shared_ptr<client_link> link; ///< null while offline
    /// Of the current connection. On the heap: most clients have none, and every session
    /// would otherwise carry the room for one.
    std::unique_ptr<packet::will> will;
    std::optional<std::string> username;
    std::string remote_address;
    std::uint16_t keep_alive = 0;
    wall_time connected_at{};
    wall_time offline_at{};

    std::map<std::string, session_subscription, std::less<>> subscriptions;
    boost::container::deque<inflight_message> inflight; // allocates nothing while empty
    boost::container::deque<queued_message> queue;
    /// Incoming QoS 2 ids awaiting PUBREL [MQTT-4.3.3-2]: a sorted vector, 24 bytes while
    /// empty (an unordered_set is 56), and ids mostly arrive in order (inserted at the end).
    boost::container::flat_set<std::uint16_t> awaiting_pubrel;
    std::uint16_t next_packet_id = 1;
    std::uint64_t dropped = 0; ///< messages dropped because a queue was full

    bool online() const noexcept { return link != nullptr; }
};

} // namespace coromq::broker
