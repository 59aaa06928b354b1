// The connection coroutine: owns its stream and nothing else.
#pragma once

#include "broker_state.hpp"
#include "tls_stream.hpp"
#include "transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>

namespace coromq::net {

/// Serves one MQTT client over `stream` (already past any TLS or WebSocket handshake) until
/// it disconnects, breaks the protocol, goes silent past its keep-alive, is taken over, or the
/// server stops. Runs on the stream's executor (a strand of its own, or with one I/O thread
/// the io_context's executor: see accept_loop); enters the router only through
/// `state->strand`. Cancelling it closes the connection as if the network failed.
template <class Stream>
asio::awaitable<void> serve_connection(Stream stream, std::shared_ptr<broker_state> state,
                                       connection_info info);

using tls_socket = tls_stream; // mqtts://; wss:// keeps asio::ssl::stream under Beast
using ws_socket = websocket::stream<beast::tcp_stream>;
using wss_socket = websocket::stream<asio::ssl::stream<beast::tcp_stream>>;

// Instantiated once each, in connection_{tcp,tls,ws}.cpp.
extern template asio::awaitable<void> serve_connection(tcp::socket, std::shared_ptr<broker_state>,
                                                       connection_info);
extern template asio::awaitable<void> serve_connection(tls_socket, std::shared_ptr<broker_state>,
                                                       connection_info);
extern template asio::awaitable<void> serve_connection(ws_socket, std::shared_ptr<broker_state>,
                                                       connection_info);
extern template asio::awaitable<void> serve_connection(wss_socket, std::shared_ptr<broker_state>,
                                                       connection_info);

} // namespace coromq::net
