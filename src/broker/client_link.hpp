// The meeting point of the router and one network connection. The router (on its strand)
// pushes encoded packets; the connection's writer (on the connection's strand) takes them all
// at once and writes them in one gather write. The only shared state is the outbox, guarded by
// a mutex that is never held across a suspension point.
#pragma once

#include <coromq/packet/types.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace coromq::broker {

/// One packet ready for the wire: `header()` holds all of it but a PUBLISH payload, which
/// stays in the message's shared buffer (`payload()`); the writer sends both in one gather
/// write. Headers up to 62 bytes (every control packet, and a PUBLISH header with a topic up
/// to ~50 bytes) live inline, so queueing a message for a subscriber allocates nothing.
class outgoing {
public:
    outgoing() = default;
    explicit outgoing(std::string_view header, packet::message_buffer payload = {})
        : payload_(std::move(payload)) {
        if (header.size() <= inline_capacity) {
            std::memcpy(inline_.data(), header.data(), header.size());
            inline_size_ = std::uint8_t(header.size());
        } else {
            spill_.assign(header);
            spilled_ = true;
        }
    }

    std::string_view header() const noexcept {
        return spilled_ ? std::string_view(spill_) : std::string_view(inline_.data(), inline_size_);
    }
    /// The application payload to send after the header (empty for control packets).
    std::string_view payload() const noexcept {
        return payload_.empty() ? std::string_view{} : payload_.payload();
    }

private:
    static constexpr std::size_t inline_capacity = 62;
    std::array<char, inline_capacity> inline_;
    std::uint8_t inline_size_ = 0;
    bool spilled_ = false;
    std::string spill_;
    packet::message_buffer payload_;
};

/// Builds an outgoing packet with `encode(std::string&)`, which appends the bytes. The string
/// is a per-thread scratch buffer, reused, so encoding allocates nothing once warm.
template <class Encode>
outgoing make_outgoing(Encode&& encode, packet::message_buffer payload = {}) {
    thread_local std::string scratch;
    scratch.clear();
    encode(scratch);
    return outgoing(scratch, std::move(payload));
}

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

    /// Moves every queued packet into `into`; the outbox keeps `into`'s former storage, so a
    /// writer that frees its batch when idle leaves an idle link holding no buffer either.
    void take_all(std::vector<outgoing>& into) {
        into.clear();
        std::lock_guard lock(mutex_);
        into.swap(outbox_);
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
