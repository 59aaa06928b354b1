// The meeting point of the router and one network connection. The router (on its strand)
// pushes encoded packets; the connection's writer (on the connection's strand) takes them all
// at once and writes them in one gather write. The only shared state is the outbox, guarded by
// a mutex that is never held across a suspension point.
#pragma once

#include <coromq/packet/types.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace coromq::broker {

/// One packet ready for the wire: `header` holds all of it but a PUBLISH payload, which stays
/// in the message's shared buffer (`payload`); the writer sends {header, payload.payload()}.
struct outgoing {
    std::string header;
    packet::message_buffer payload; ///< empty for packets without an application payload
};

/// Why the router asks a connection to close.
enum class close_reason : std::uint8_t {
    none,
    taken_over, ///< another connection took the client id [MQTT-3.1.4-2]
    server_stopping,
    kicked, ///< an operator asked for it
    protocol_error,
};

/// Thread-safe. Shared by the router's session and the connection.
class client_link {
public:
    client_link(packet::protocol_version version, std::string remote_address)
        : version_(version)
        , remote_address_(std::move(remote_address)) {}
    virtual ~client_link() = default;
    client_link(const client_link&) = delete;
    client_link& operator=(const client_link&) = delete;

    packet::protocol_version version() const noexcept { return version_; }
    const std::string& remote_address() const noexcept { return remote_address_; }

    /// Queues one packet; wakes the writer when the outbox was empty. After `close`, dropped.
    void push(outgoing packet) {
        bool was_empty = false;
        {
            std::lock_guard lock(mutex_);
            if (closing_) {
                return;
            }
            was_empty = outbox_.empty();
            outbox_.push_back(std::move(packet));
            size_.store(outbox_.size(), std::memory_order_relaxed);
        }
        if (was_empty) {
            wake();
        }
    }

    /// Moves every queued packet into `into` (which the caller keeps to reuse its capacity).
    void take_all(std::vector<outgoing>& into) {
        std::lock_guard lock(mutex_);
        into.swap(outbox_);
        outbox_.clear();
        size_.store(0, std::memory_order_relaxed);
    }

    /// Packets waiting to be written (a hint: it may change at once).
    std::size_t queued() const noexcept { return size_.load(std::memory_order_relaxed); }

    /// Asks the connection to finish writing what is queued, then close.
    void close(close_reason why) {
        {
            std::lock_guard lock(mutex_);
            if (closing_) {
                return;
            }
            closing_ = true;
            reason_ = why;
        }
        wake();
        on_closing();
    }

    bool closing() const {
        std::lock_guard lock(mutex_);
        return closing_;
    }
    close_reason reason() const {
        std::lock_guard lock(mutex_);
        return reason_;
    }

protected:
    /// Tells the writer there is something to do. Called without the mutex held.
    virtual void wake() = 0;
    /// Called once, by `close`, without the mutex held: the connection bounds its flush.
    virtual void on_closing() {}

private:
    const packet::protocol_version version_;
    const std::string remote_address_;
    mutable std::mutex mutex_;
    std::vector<outgoing> outbox_;
    std::atomic<std::size_t> size_{0};
    bool closing_ = false;
    close_reason reason_ = close_reason::none;
};

} // namespace coromq::broker
