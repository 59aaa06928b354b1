#include "listener.hpp"

#include "../broker/log.hpp"
#include "../rest/http_session.hpp"
#include "connection.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace coromq::net {
namespace {

using namespace asio::experimental::awaitable_operators;
namespace http = beast::http;
namespace ssl = asio::ssl;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

void log_refused(const broker_state& st, const connection_info& info, const std::string& why) {
    if (st.config.logging) {
        broker::log("INFO", "refused remote=", info.remote_address, " reason=", why,
                    info.log_suffix());
    }
}

/// TLS handshake bounded by connect_timeout and by a server stop. On success, fills in the
/// certificate user name when the listener asks for it.
template <class TlsStream>
asio::awaitable<bool> tls_handshake(TlsStream& stream, const listener_context& listener,
                                    broker_state& st, connection_info& info) {
    asio::steady_timer timer(co_await asio::this_coro::executor,
                             std::chrono::seconds(st.config.connect_timeout));
    auto r = co_await (stream.async_handshake(ssl::stream_base::server, use_tuple) ||
                       timer.async_wait(use_tuple) || wait_for_stop(st));
    if (r.index() != 0) {
        log_refused(st, info, r.index() == 1 ? "TLS handshake timed out" : "server stopping");
        co_return false;
    }
    if (auto [ec] = std::get<0>(r); ec) {
        log_refused(st, info, "TLS handshake failed: " + ec.message());
        co_return false;
    }
    if (listener.tls->config().cn_as_username) {
        info.username_from_certificate = true;
        info.certificate_username = peer_common_name(stream.native_handle());
    }
    co_return true;
}

/// The first of the client's offered WebSocket subprotocols that is MQTT's, or "".
std::string mqtt_subprotocol(std::string_view offered) {
    while (!offered.empty()) {
        const auto comma = offered.find(',');
        auto token = offered.substr(0, comma);
        offered = comma == std::string_view::npos ? std::string_view{} : offered.substr(comma + 1);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
            token.remove_prefix(1);
        }
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
            token.remove_suffix(1);
        }
        // [MQTT-6.0.0-3] the client offers "mqtt"; "mqttv3.1" is what 3.1 clients offer.
        if (token == "mqtt" || token == "mqttv3.1") {
            return std::string(token);
        }
    }
    return {};
}

template <class Stream>
asio::awaitable<void> respond_and_close(Stream& stream, const rest::request& req,
                                        http::status status, std::string text, broker_state& st) {
    rest::response res{status, req.version()};
    res.set(http::field::server, "coromq");
    res.set(http::field::content_type, "text/plain");
    res.set(http::field::connection, "close");
    res.body() = std::move(text) + "\n";
    res.prepare_payload();
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(5));
    co_await (http::async_write(stream, res, use_tuple) || timer.async_wait(use_tuple) ||
              wait_for_stop(st));
    close_transport(stream);
}

/// Reads the opening HTTP request of a WebSocket listener and upgrades it when it asks for
/// the listener's path with an MQTT subprotocol [MQTT-6.0.0-3] [MQTT-6.0.0-4].
template <class Stream>
asio::awaitable<void> upgrade_and_serve(Stream stream, const listener_context& listener,
                                        std::shared_ptr<broker_state> st, connection_info info) {
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    asio::steady_timer timer(co_await asio::this_coro::executor,
                             std::chrono::seconds(st->config.connect_timeout));
    auto r = co_await (http::async_read(stream, buffer, parser, use_tuple) ||
                       timer.async_wait(use_tuple) || wait_for_stop(*st));
    if (r.index() != 0) {
        log_refused(*st, info, r.index() == 1 ? "no HTTP request in time" : "server stopping");
        close_transport(stream);
        co_return;
    }
    if (auto [ec, n] = std::get<0>(r); ec) {
        log_refused(*st, info, "bad HTTP request: " + ec.message());
        close_transport(stream);
        co_return;
    }
    rest::request req = parser.release();
    const auto target = req.target();
    const auto path = target.substr(0, target.find('?'));

    if (!websocket::is_upgrade(req) || path != listener.config.path) {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            if (listener.serves_rest) {
                co_await rest::serve_http(std::move(stream), std::move(buffer), std::move(req), st);
                co_return;
            }
        }
        log_refused(*st, info, "not a WebSocket upgrade on " + listener.config.path);
        co_await respond_and_close(
            stream, req, http::status::not_found,
            "coromq: MQTT over WebSocket is served on " + listener.config.path, *st);
        co_return;
    }
    const auto subprotocol = mqtt_subprotocol(req[http::field::sec_websocket_protocol]);
    if (subprotocol.empty()) {
        log_refused(*st, info, "WebSocket upgrade without the mqtt subprotocol");
        co_await respond_and_close(stream, req, http::status::bad_request,
                                   "coromq: the WebSocket subprotocol 'mqtt' is required", *st);
        co_return;
    }

    websocket::stream<Stream> ws(std::move(stream));
    ws.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
        res.set(http::field::server, "coromq");
        res.set(http::field::sec_websocket_protocol, subprotocol);
    }));
    // MQTT's keep-alive watches idleness; the WebSocket layer only bounds the handshake.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(st->config.connect_timeout);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
    ws.binary(true);
    // One message may carry several packets; bound it so a peer cannot make us buffer more.
    ws.read_message_max(std::uint64_t(st->config.max_packet_size) * 2 + 1024);
    auto accepted = co_await (ws.async_accept(req, use_tuple) || wait_for_stop(*st));
    if (accepted.index() != 0 || std::get<0>(std::get<0>(accepted))) {
        log_refused(*st, info, "WebSocket handshake failed");
        close_transport(ws);
        co_return;
    }
    co_await serve_connection(std::move(ws), std::move(st), std::move(info));
}

asio::awaitable<void> serve_tls_accepted(asio::ip::tcp::socket socket,
                                         const listener_context& listener,
                                         std::shared_ptr<broker_state> st, connection_info info) {
    // The stream keeps the context it started with across reloads.
    tls_socket stream(std::move(socket), listener.tls->current());
    if (co_await tls_handshake(stream, listener, *st, info)) {
        co_await serve_connection(std::move(stream), std::move(st), std::move(info));
    } else {
        close_transport(stream);
    }
}

asio::awaitable<void> serve_wss_accepted(asio::ip::tcp::socket socket,
                                         const listener_context& listener,
                                         std::shared_ptr<broker_state> st, connection_info info) {
    auto context = listener.tls->current();
    ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *context);
    if (co_await tls_handshake(stream, listener, *st, info)) {
        co_await upgrade_and_serve(std::move(stream), listener, std::move(st), std::move(info));
    } else {
        close_transport(stream);
    }
}

/// Nothing to serve (not reached: listener schemes are checked when the configuration is read).
asio::awaitable<void> drop(asio::ip::tcp::socket socket) {
    close_transport(socket);
    co_return;
}

/// The coroutine that serves `socket` on `listener`'s transport. A plain function, not a
/// coroutine: for plain TCP the outermost frame of a connection is serve_connection's own,
/// and the TLS and WebSocket streams live only in the frames of their own coroutines.
asio::awaitable<void> serve_transport(asio::ip::tcp::socket socket,
                                      const listener_context& listener,
                                      std::shared_ptr<broker_state> st) {
    connection_info info;
    info.remote_address = remote_address(socket);
    const auto& scheme = listener.config.scheme;
    if (scheme == "mqtt") {
        info.transport = "tcp";
        return serve_connection(std::move(socket), std::move(st), std::move(info));
    }
    if (scheme == "mqtts") {
        info.transport = "tls";
        return serve_tls_accepted(std::move(socket), listener, std::move(st), std::move(info));
    }
    if (scheme == "ws") {
        info.transport = "ws";
        return upgrade_and_serve(beast::tcp_stream(std::move(socket)), listener, std::move(st),
                                 std::move(info));
    }
    if (scheme == "wss") {
        info.transport = "wss";
        return serve_wss_accepted(std::move(socket), listener, std::move(st), std::move(info));
    }
    return drop(std::move(socket));
}

/// The on_accept hooks (every transport, before any handshake; Gmqtt's only covered TCP),
/// then the transport.
asio::awaitable<void> accept_then_serve(asio::ip::tcp::socket socket,
                                        const listener_context& listener,
                                        std::shared_ptr<broker_state> st) {
    const auto& scheme = listener.config.scheme;
    broker::accept_info accepted;
    accepted.remote_address = remote_address(socket);
    accepted.transport = scheme == "mqtt" ? "tcp" : scheme == "mqtts" ? "tls" : scheme;
    boost::system::error_code ec;
    accepted.local_port = socket.local_endpoint(ec).port();
    if (co_await st->hooks.accept(accepted) == broker::verdict::deny) {
        connection_info info;
        info.remote_address = accepted.remote_address;
        info.transport = scheme.c_str();
        log_refused(*st, info, "denied by an on_accept hook");
        close_transport(socket);
        co_return;
    }
    co_await serve_transport(std::move(socket), listener, std::move(st));
}

} // namespace

// Not a coroutine either (see serve_transport): without accept hooks, no frame of its own.
asio::awaitable<void> serve_accepted(asio::ip::tcp::socket socket, const listener_context& listener,
                                     std::shared_ptr<broker_state> st) {
    if (st->hooks.has(broker::hook_accept)) {
        return accept_then_serve(std::move(socket), listener, std::move(st));
    }
    return serve_transport(std::move(socket), listener, std::move(st));
}

asio::awaitable<void> serve_rest_accepted(asio::ip::tcp::socket socket,
                                          std::shared_ptr<broker_state> st) {
    co_await rest::serve_http(beast::tcp_stream(std::move(socket)), beast::flat_buffer{},
                              std::nullopt, std::move(st));
}

} // namespace coromq::net
