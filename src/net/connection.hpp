// The connection coroutine: owns its socket and nothing else.
#pragma once

#include "broker_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace coromq::net {

/// Serves one MQTT client over `socket` until it disconnects, breaks the protocol, goes
/// silent past its keep-alive, is taken over, or the server stops. Runs on the socket's
/// executor (a strand of its own); enters the router only through `state->strand`.
/// Cancellation: cancelling the coroutine closes the connection as if the network failed.
asio::awaitable<void> serve_connection(asio::ip::tcp::socket socket,
                                       std::shared_ptr<broker_state> state);

} // namespace coromq::net
