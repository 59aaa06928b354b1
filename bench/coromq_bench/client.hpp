// One MQTT connection of the load generator. Everything here runs on its worker's thread
// (one io_context per worker, no strands, no locks): a reader coroutine per connection, a
// write chain that sends everything queued since the last write in one write, and for a
// publisher a publish loop bounded by its QoS window, its rate and its output buffer.
// Over TLS or WebSocket the TCP socket moves into a layered stream after connecting; the
// reader is a template over the stream type, so plain TCP runs the same code as before.
#pragma once

#include "histogram.hpp"
#include "verify.hpp"

#include <coromq/packet/codec.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace coromq::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

class worker;

/// steady_clock (CLOCK_MONOTONIC) in nanoseconds: the clock of the payload stamps.
inline std::uint64_t now_ns() noexcept {
    return std::uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
            .count());
}

/// Wakes the one coroutine waiting on it. Single-threaded: notify and wait run on the same
/// io_context thread, and a waiter re-checks its condition after every wake, so a notify with
/// nobody waiting is simply dropped.
class event {
public:
    explicit event(asio::any_io_executor ex)
        : executor_(std::move(ex)) {}
    asio::awaitable<void> wait();
    void notify();
    bool waiting() const noexcept { return handler_.has_value(); }

private:
    asio::any_io_executor executor_;
    std::optional<asio::any_completion_handler<void()>> handler_;
};

/// A counter written by one worker thread and read by the main thread (no locked add).
class counter {
public:
    void add(std::uint64_t n = 1) noexcept {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

enum class role : std::uint8_t { idle, publisher, subscriber };

/// TLS and/or WebSocket above the TCP socket (defined in client.cpp, so that only it compiles
/// Beast's and Asio-SSL's stream templates).
struct layered_stream;

/// Received bytes; frames are parsed in place. Starts small (an idle connection only ever
/// gets a CONNACK and PINGRESPs) and doubles while reads fill it.
class input_buffer {
public:
    packet::bytes_view data() const noexcept { return {storage_.data() + begin_, end_ - begin_}; }
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) {
            begin_ = end_ = 0;
        }
    }
    /// Room for the next read, and for a frame of `want` bytes once it has arrived.
    asio::mutable_buffer prepare(std::size_t want);
    void commit(std::size_t n) noexcept { end_ += n; }

private:
    std::vector<std::uint8_t> storage_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

class client {
public:
    client(worker& w, role r, std::uint32_t index);
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    ~client();

    // Set up by the scenario before connecting.
    std::string client_id;
    std::string topic;              ///< publish topic, or subscription filter
    std::uint32_t publisher_id = 0; ///< publishers: the id in the stamps
    std::int64_t expect_from = -1;  ///< subscribers: -1 every publisher, -2 unknown, else one

    role kind() const noexcept { return role_; }
    std::uint32_t index() const noexcept { return index_; }
    bool connected() const noexcept { return state_ == state::connected; }

    /// TCP connect (from `source` when given), the TLS and WebSocket handshakes of the
    /// transport, CONNECT, CONNACK. Counts success or failure.
    asio::awaitable<void> connect(tcp::endpoint broker, const asio::ip::address* source);
    /// SUBSCRIBE to `topic` at the run's QoS and wait for the SUBACK.
    asio::awaitable<void> subscribe();
    /// Publishes until `count` (0: until told to stop), at `rate` msg/s (0: as the window and
    /// the output buffer allow) from `start_ns`; then waits for the window to empty.
    asio::awaitable<void> publish_loop(std::uint64_t count, double rate, std::uint64_t start_ns);
    /// Wakes the publish loop so that it sees the stop flag.
    void interrupt();
    /// DISCONNECT, then close once it is written.
    void close();
    /// Once a second: keep-alive PINGREQ and the CONNACK deadline.
    void tick(std::uint64_t now);

    std::uint64_t sent() const noexcept { return sent_; }
    std::uint64_t unstamped() const noexcept { return unstamped_; }
    /// QoS 2 PUBLISH resent (DUP) before our PUBCOMP: acknowledged, not delivered twice.
    std::uint64_t qos2_resends() const noexcept { return qos2_resends_; }
    /// QoS 2 PUBLISH without DUP on a packet id still awaiting PUBREL (a broker error).
    std::uint64_t qos2_id_reuses() const noexcept { return qos2_id_reuses_; }
    const std::unordered_map<std::uint32_t, sequence_check>& checks() const noexcept {
        return checks_;
    }

private:
    enum class state : std::uint8_t { idle, connecting, connected, closing, closed };

    /// TLS handshake and/or WebSocket upgrade over the connected socket; "" or what failed.
    asio::awaitable<std::string> handshake();
    template <class Stream>
    asio::awaitable<void> read_loop(Stream& stream);
    /// Parses and handles the frames in the input buffer after a read; false when the
    /// connection must end. `want` becomes the size of an incomplete frame (0 if unknown).
    bool on_read(std::size_t& want);
    /// The TCP socket under whatever stream the connection uses.
    tcp::socket& lowest_layer() noexcept;
    /// Handles one frame; false when the connection must end.
    bool on_frame(const packet::fixed_header& h, packet::bytes_view body, std::uint64_t now);
    void on_publish(const packet::publish& p, std::uint64_t now);
    void on_ack(packet::packet_type type, std::uint16_t id);
    void prepare_publish();
    void emit(std::uint64_t stamp_ns);
    std::uint16_t next_packet_id();
    void kick();
    void on_written(const boost::system::error_code& ec);
    void fail(const std::string& why);
    void finish_close();

    worker& w_;
    const role role_;
    const std::uint32_t index_;
    state state_ = state::idle;
    bool writing_ = false;
    bool publisher_waiting_ = false;
    bool awaiting_suback_ = false;
    tcp::socket socket_; ///< the connection over TCP; moved into layered_ for the others
    std::unique_ptr<layered_stream> layered_;
    event wake_;
    input_buffer in_;
    std::string out_;            ///< queued since the last write started
    std::string writing_buffer_; ///< being written
    std::uint64_t started_ns_ = 0;
    std::uint64_t last_write_ns_ = 0;
    asio::steady_timer* rate_timer_ = nullptr;

    // publisher
    std::string publish_header_; ///< the encoded PUBLISH up to the payload, packet id 0
    std::size_t packet_id_offset_ = 0;
    std::vector<bool> in_flight_; ///< by packet id
    std::uint32_t in_flight_count_ = 0;
    std::uint16_t last_packet_id_ = 0;
    std::uint64_t sent_ = 0;

    // subscriber
    std::unordered_map<std::uint32_t, sequence_check> checks_;
    std::uint32_t last_publisher_ = 0;
    sequence_check* last_check_ = nullptr;
    std::vector<bool> awaiting_pubrel_; ///< QoS 2 packet ids received, PUBREL not yet
    std::uint64_t unstamped_ = 0;
    std::uint64_t qos2_resends_ = 0;
    std::uint64_t qos2_id_reuses_ = 0;
};

} // namespace coromq::bench
