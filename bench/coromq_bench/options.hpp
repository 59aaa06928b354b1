// Command-line options of coromq-bench.
#pragma once

#include <cstdint>
#include <string>

namespace coromq::bench {

/// What a run does.
///   conn     open --clients connections at --rate per second and hold them for --duration
///   pub      --publishers publish to PREFIX/ID; nothing subscribes (broker ingest)
///   sub      --subscribers subscribe to --topic/# and verify what arrives (pair with `pub`)
///   fanin    --publishers publish to PREFIX/ID; one subscriber on PREFIX/#
///   fanout   one publisher to PREFIX/0; --subscribers subscribe to it
///   pairs    --publishers independent pairs: publisher I to PREFIX/I, subscriber I on it
///   latency  pairs at a fixed total --rate (default 1 pair, 5,000 msg/s, QoS 1)
enum class mode { conn, pub, sub, fanin, fanout, pairs, latency };

const char* to_string(mode m) noexcept;

/// How the clients reach the broker: MQTT over TCP, over TLS, over WebSocket (binary
/// messages, subprotocol `mqtt`), or over WebSocket over TLS.
enum class transport_kind : std::uint8_t { tcp, tls, ws, wss };

const char* to_string(transport_kind t) noexcept;
inline bool uses_tls(transport_kind t) noexcept {
    return t == transport_kind::tls || t == transport_kind::wss;
}
inline bool uses_websocket(transport_kind t) noexcept {
    return t == transport_kind::ws || t == transport_kind::wss;
}

struct options {
    mode run_mode = mode::pairs;
    std::string host = "127.0.0.1";
    std::uint16_t port = 1883;
    transport_kind transport = transport_kind::tcp;
    std::string cafile; ///< tls, wss: verify the broker against these CAs; empty: no check
    std::string ws_path = "/mqtt"; ///< ws, wss: the path of the upgrade request
    int qos = 0;
    unsigned inflight = 16;  ///< QoS 1/2 messages in flight per publisher
    std::size_t size = 64;   ///< payload bytes (at least 16: the stamp)
    std::uint64_t count = 0; ///< messages per publisher; 0: publish for `duration`
    double duration = 10;    ///< seconds of publishing (conn: of holding)
    double rate = 0;         ///< messages/s over all publishers (conn: connections/s); 0 = max
    unsigned clients = 1000; ///< conn mode
    unsigned publishers = 0; ///< 0: the mode's default
    unsigned subscribers = 0;
    int mqtt_version = 4;
    unsigned threads = 1;
    unsigned keepalive = 60;
    double connect_rate = 0; ///< connections/s while setting up the other modes; 0 = unpaced
    unsigned connect_concurrency = 100;
    std::string topic = "coromq-bench"; ///< topic prefix
    unsigned source_addresses = 0;      ///< 127.1.0.1.. as source addresses; 0 = auto
    double drain_timeout = 3;           ///< seconds without a delivery that end the drain
    int broker_pid = 0;                 ///< read the broker's CPU and RSS from /proc/PID
    std::uint32_t id_base = 0;          ///< first publisher id (pub mode beside a sub run)
    std::string ready_file;             ///< written once every client is connected
    bool json = false;
    bool quiet = false; ///< no progress line
};

/// Parses argv; prints help or an error and exits on bad input.
options parse_options(int argc, char** argv);

} // namespace coromq::bench
