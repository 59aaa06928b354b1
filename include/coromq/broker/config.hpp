// Broker configuration: Gmqtt's keys with Gmqtt's names and defaults, plus what a broker
// needs besides. Plain data; the binary fills it from a file and the command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace coromq::broker {

/// TLS settings of a listener (mqtts, wss).
struct tls_config {
    std::string certfile; ///< PEM certificate chain
    std::string keyfile;  ///< PEM private key
    std::string cafile;   ///< PEM CAs that client certificates must chain to
    bool require_client_cert = false;
    bool cn_as_username = false; ///< the client certificate's CN becomes the user name
};

/// Where and how a listener accepts connections:
///   mqtt://HOST:PORT            MQTT over TCP
///   mqtts://HOST:PORT           MQTT over TLS
///   ws://HOST:PORT[/PATH]       MQTT over WebSocket (path default /mqtt)
///   wss://HOST:PORT[/PATH]      MQTT over WebSocket over TLS
/// TLS options may follow as a query: mqtts://0.0.0.0:8883?certfile=F&keyfile=F&cafile=F
/// &require_client_cert=true&cn_as_username=true (otherwise the --tls_* defaults apply; a
/// switch the query gives, true or false, wins over its default).
struct listener_config {
    std::string scheme = "mqtt";
    std::string host = "0.0.0.0";
    std::uint16_t port = 1883;
    std::string path; ///< WebSocket path
    tls_config tls;
    /// The query named require_client_cert / cn_as_username: `tls` holds the listener's own
    /// value, which the --tls_* defaults must not replace (false can switch a default off).
    bool require_client_cert_given = false;
    bool cn_as_username_given = false;

    bool uses_tls() const noexcept { return scheme == "mqtts" || scheme == "wss"; }
    bool uses_websocket() const noexcept { return scheme == "ws" || scheme == "wss"; }

    /// Parses a URL as above; throws std::invalid_argument with a message on bad input.
    static listener_config parse(const std::string& url);
    std::string to_string() const;
};

/// The REST management API (Gmqtt's http_server).
struct http_config {
    std::string host; ///< empty: no REST listener
    std::uint16_t port = 8080;
    /// HTTP basic auth users (name, password); empty means no authentication, which is only
    /// allowed on a loopback address unless `allow_unauthenticated` is set.
    std::vector<std::pair<std::string, std::string>> users;
    bool allow_unauthenticated = false;

    bool enabled() const noexcept { return !host.empty(); }
};

struct broker_config {
    /// Seconds after which an unacknowledged QoS 1/2 message is sent again (Gmqtt: 20).
    std::uint32_t delivery_retry_interval = 20;
    /// QoS 1/2 messages in flight per client at most; the rest wait in the queue (Gmqtt: 20).
    std::uint32_t max_inflight_messages = 20;
    /// Queue QoS 0 messages for offline persistent sessions (Gmqtt: true).
    bool queue_qos0_messages = true;
    /// Messages queued per client above those in flight; 0 = no limit (Gmqtt: 20).
    std::uint32_t max_msgqueue_messages = 20;
    /// One log line per connect and disconnect (Gmqtt: false).
    bool logging = false;
    std::vector<listener_config> listeners{listener_config{}};
    /// TLS defaults for listeners that do not name their own files.
    tls_config tls;
    http_config http;

    /// Largest packet accepted, fixed header included; larger ones close the connection.
    std::uint32_t max_packet_size = 1024 * 1024;
    /// Seconds a new connection has to send CONNECT.
    std::uint32_t connect_timeout = 10;
    /// I/O threads; 0 = one per core.
    std::uint32_t threads = 0;
    /// Simultaneous connections at most; 0 = no limit.
    std::uint32_t max_connections = 0;
    /// QoS 0 messages waiting to be written to one online client before more are dropped
    /// (a subscriber that does not read cannot make the broker grow without bound).
    std::uint32_t max_outbox_messages = 10'000;
    /// Milliseconds a hook call may take before it counts as deny (or drop).
    std::uint32_t hook_timeout_ms = 5'000;
};

} // namespace coromq::broker
