// What happens to an accepted socket before MQTT starts: the TLS handshake, the HTTP request
// that upgrades to WebSocket (or, on a port shared with the REST API, any other request).
#pragma once

#include "broker_state.hpp"
#include "tls.hpp"

#include <coromq/broker/config.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace coromq::net {

/// One configured listener and what its connections need. Owned by the server; outlives
/// every connection it accepts.
struct listener_context {
    broker::listener_config config;
    std::unique_ptr<tls_context_holder> tls; ///< for mqtts and wss
    bool serves_rest = false; ///< a ws:// listener on the REST API's address serves both
};

/// Runs the handshakes the listener's scheme needs on `socket`, then serves MQTT on it (or
/// the REST API, for a plain HTTP request on a shared port). Each step before MQTT is bounded
/// by connect_timeout and ends at once when the server stops.
asio::awaitable<void> serve_accepted(asio::ip::tcp::socket socket, const listener_context& listener,
                                     std::shared_ptr<broker_state> state);

/// Serves the REST API on a socket accepted by the REST-only listener.
asio::awaitable<void> serve_rest_accepted(asio::ip::tcp::socket socket,
                                          std::shared_ptr<broker_state> state);

} // namespace coromq::net
