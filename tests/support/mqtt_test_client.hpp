// A small synchronous MQTT client for tests, built on our own codec: one blocking TCP
// connection, and a timeout on every receive so that a broker that does not answer fails the
// test instead of freezing it. Asio stays out of this header.
#pragma once

#include <coromq/packet/codec.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace coromq::test {

/// What the helpers throw when the broker does not do what they wait for (timeout, another
/// packet, connection closed). A test framework reports the message as the failure.
class test_client_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One line describing a packet, for failure messages.
std::string describe(const packet::any_packet& p);

/// A blocking MQTT client over TCP.
///
/// Packets that arrive while a helper waits for a particular one (a PUBLISH while waiting for
/// a SUBACK, say) are kept, in order, and returned by the next `recv`.
/// Not thread-safe: one test thread drives it.
class mqtt_test_client {
public:
    using clock = std::chrono::steady_clock;
    using milliseconds = std::chrono::milliseconds;
    static constexpr milliseconds default_timeout{2000};

    /// Opens a TCP connection to `host:port` (no CONNECT yet). Throws on failure. `version`
    /// decides how packets are encoded and decoded.
    explicit mqtt_test_client(std::uint16_t port,
                              packet::protocol_version version = packet::protocol_version::v3_1_1,
                              const std::string& host = "127.0.0.1");
    ~mqtt_test_client();
    mqtt_test_client(mqtt_test_client&&) noexcept;
    mqtt_test_client& operator=(mqtt_test_client&&) noexcept;

    packet::protocol_version version() const noexcept { return version_; }

    // --- raw packets ---------------------------------------------------------------------

    /// Encodes and writes one packet (CONNECT with its own version). Write errors are ignored
    /// (the broker may have closed the connection); they show up as `closed()`.
    void send(const packet::any_packet& p);
    /// Writes bytes as they are.
    void send_bytes(std::string_view bytes);

    /// The next packet (kept ones first), or nullopt when `timeout` passes or the broker has
    /// closed the connection (then `closed()` is true). Throws on a malformed packet.
    std::optional<packet::any_packet> recv(milliseconds timeout = default_timeout);

    /// The next packet, which must be a `T`; throws otherwise.
    template <class T>
    T expect(milliseconds timeout = default_timeout) {
        auto p = recv(timeout);
        if (!p) {
            throw test_client_error(std::string("expected ") + name_of<T>() + ", got " +
                                    (closed_ ? "end of connection" : "nothing (timeout)"));
        }
        if (!std::holds_alternative<T>(*p)) {
            throw test_client_error(std::string("expected ") + name_of<T>() + ", got " +
                                    describe(*p));
        }
        return std::get<T>(std::move(*p));
    }

    /// True once the broker has closed the connection (end of stream or reset seen).
    bool closed() const noexcept { return closed_; }

    /// Waits until the broker closes the connection; packets that arrive first are kept.
    /// Returns false when `timeout` passes first.
    bool wait_closed(milliseconds timeout = default_timeout);

    /// Closes the socket without DISCONNECT, as a crashed client would.
    void close();

    // --- the protocol --------------------------------------------------------------------

    /// Sends `c` and returns the CONNACK; throws when anything else happens.
    packet::connack connect(const packet::connect& c, milliseconds timeout = default_timeout);
    /// CONNECT with this client id, clean session/start flag and keep-alive. In 5.0 a clean
    /// start of 0 also asks for a session expiry interval of an hour, so the session persists.
    packet::connack connect(std::string client_id, bool clean = true, std::uint16_t keep_alive = 0);

    /// Publishes and completes the QoS 1/2 flow (PUBACK, or PUBREC/PUBREL/PUBCOMP). Returns
    /// the packet id used (0 for QoS 0).
    std::uint16_t publish(std::string_view topic, std::string_view payload,
                          packet::qos q = packet::qos::at_most_once, bool retain = false,
                          packet::properties props = {});

    /// Subscribes and returns the SUBACK.
    packet::suback subscribe(std::vector<packet::subscription> subs, packet::properties props = {});
    packet::suback subscribe(std::string filter, packet::qos q);

    /// Unsubscribes and returns the UNSUBACK.
    packet::unsuback unsubscribe(std::vector<std::string> filters);

    /// The receiver's side of QoS 1 (PUBACK) and QoS 2 (PUBREC, wait for PUBREL, PUBCOMP).
    void ack(const packet::publish& p);

    /// A PUBLISH, acknowledged as its QoS requires.
    packet::publish receive(milliseconds timeout = default_timeout);

    /// PINGREQ, and waits for PINGRESP.
    void ping();

    /// DISCONNECT, then close.
    void disconnect();

    /// A fresh packet identifier (never 0).
    std::uint16_t next_packet_id();

private:
    template <class T>
    static const char* name_of() {
        return packet::to_string(packet::type_of(packet::any_packet{T{}}));
    }

    /// Reads from the network (not from the kept packets) until a `T` whose packet id is `id`
    /// arrives, keeping the others. Throws on timeout or close.
    template <class T>
    T wait_for(std::uint16_t id, milliseconds timeout);
    template <class T>
    T wait_for(milliseconds timeout);

    /// The next packet from the network, or nullopt at `deadline` or on close.
    std::optional<packet::any_packet> read_packet(clock::time_point deadline);

    struct io; ///< the Asio part
    std::unique_ptr<io> io_;
    packet::protocol_version version_;
    std::vector<std::uint8_t> in_;        ///< received bytes not parsed yet
    std::deque<packet::any_packet> kept_; ///< arrived while waiting for something else
    bool closed_ = false;
    std::uint16_t next_id_ = 1;
};

} // namespace coromq::test
