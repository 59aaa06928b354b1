// What differs between transports (TCP, TLS, WebSocket, WebSocket over TLS) as seen by the
// connection coroutine: writing a batch, closing, and a few facts. Everything else is
// written once in connection_impl.hpp.
#pragma once

#include "broker_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl.hpp> // WebSocket teardown over ssl::stream
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace coromq::net {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

template <class T>
struct is_websocket : std::false_type {};
template <class Next>
struct is_websocket<websocket::stream<Next>> : std::true_type {};

/// The TCP socket under any of our streams.
template <class Stream>
tcp::socket& raw_socket(Stream& stream) {
    auto& lowest = beast::get_lowest_layer(stream);
    if constexpr (requires { lowest.socket(); }) {
        return lowest.socket(); // beast::tcp_stream
    } else {
        return lowest;
    }
}

/// "1.2.3.4:5678" or "[::1]:5678", or "" when the peer is already gone.
inline std::string remote_address(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    if (ec) {
        return {};
    }
    const auto port = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + port
                                : ep.address().to_string() + ":" + port;
}

/// Writes a batch of buffers: a gather write on byte streams, one binary message on a
/// WebSocket (MQTT lets packets span or share messages [MQTT-6.0.0-2]).
template <class Stream>
auto write_buffers(Stream& stream, const std::vector<asio::const_buffer>& buffers) {
    constexpr auto token = asio::as_tuple(asio::use_awaitable);
    if constexpr (is_websocket<Stream>::value) {
        return stream.async_write(buffers, token);
    } else {
        return asio::async_write(stream, buffers, token);
    }
}

/// Closes the transport at once. No TLS close_notify or WebSocket close frame: the MQTT
/// exchange is over (DISCONNECT or an error), and a peer that does not read must not hold
/// the connection open.
template <class Stream>
void close_transport(Stream& stream) {
    boost::system::error_code ignored;
    auto& socket = raw_socket(stream);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

/// Appended to connection log lines: nothing for plain TCP, " transport=tls" and so on
/// otherwise.
inline std::string transport_log_suffix(std::string_view transport) {
    return transport == "tcp" ? std::string{} : " transport=" + std::string(transport);
}

/// Facts about an accepted connection that the transport learned before MQTT starts.
struct connection_info {
    std::string remote_address;
    const char* transport = "tcp"; ///< tcp, tls, ws, wss (for logs)
    /// The listener takes the user name from the client certificate's CN (cn_as_username):
    /// whatever CONNECT says is replaced by `certificate_username`, or removed without one.
    bool username_from_certificate = false;
    std::optional<std::string> certificate_username;

    std::string log_suffix() const { return transport_log_suffix(transport); }
};

/// Completes when the server stops (or when cancelled, e.g. by `||`). Lets handshakes and
/// connections that have not attached yet end at once on a stop.
inline asio::awaitable<void> wait_for_stop(broker_state& st) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                      asio::steady_timer::time_point::max());
    // The callback may run on another thread: it only posts to the timer's executor, and
    // holds the timer by shared_ptr so the post never outlives it.
    stop_registration registration(
        st.stoppers, [timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
}

} // namespace coromq::net
