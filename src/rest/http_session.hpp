// The REST management API (Gmqtt's endpoints) served over HTTP/1.1 with Beast.
#pragma once

#include "../net/broker_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <optional>

namespace coromq::rest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

/// Serves HTTP/1.1 requests on `stream` (keep-alive, bounded header and body sizes, timeouts)
/// until the peer closes, times out, or the server stops. `buffer` holds bytes already read
/// past `first`; `first` is a request the caller already parsed (the listener shared with
/// WebSocket reads one to decide), or nullopt.
/// Runs on the stream's executor; enters the router only through `state->strand`.
asio::awaitable<void> serve_http(beast::tcp_stream stream, beast::flat_buffer buffer,
                                 std::optional<request> first,
                                 std::shared_ptr<net::broker_state> state);

} // namespace coromq::rest
