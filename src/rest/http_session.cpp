// One HTTP/1.1 connection of the REST API: read a request (bounded header and body, under a
// deadline), answer it (api.cpp), repeat while the client keeps the connection alive.
//
// Stopping: the session registers with the server's stop_registry. The callback runs on the
// stopping thread under the registry's lock, so it only posts to this coroutine's executor (a
// strand: the accept loop gives every socket one) a closure holding a shared_ptr to a small
// `stop_control`. On the strand that closure sets `stopped` and, when the session is waiting
// for the client, cancels the stream; a session busy answering finishes that answer and closes.
// The coroutine clears `stop_control::stream` before its frame goes, so a closure that runs
// later touches nothing but the shared struct.
#include "http_session.hpp"

#include "api.hpp"

#include "../broker/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <chrono>
#include <string>

// g++ 12 false positive: once it inlines a coroutine's ramp into its caller, it pairs Asio's
// recycling frame allocator (thread_info_base::allocate) with the frame's sized delete and
// reports a mismatch that is not there.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace coromq::rest {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// How long a kept-alive connection may wait for its next request, and how long reading one
/// request's header (then its body, then writing the answer) may take.
constexpr auto request_timeout = std::chrono::seconds(10);

/// Shared between the session coroutine and the stop callback's posted closure; touched only
/// on the session's strand.
struct stop_control {
    bool stopped = false;
    bool waiting_for_client = false;     ///< in a read: cancelling loses nothing
    beast::tcp_stream* stream = nullptr; ///< null once the coroutine is ending

    void stop() {
        stopped = true;
        if (stream && waiting_for_client) {
            stream->cancel();
        }
    }
};

/// Clears `stop_control::stream` when the coroutine frame goes, however it goes.
struct stream_guard {
    std::shared_ptr<stop_control> control;
    ~stream_guard() { control->stream = nullptr; }
};

/// How a read ended: a request, a reply to send before closing, or just close.
struct read_result {
    std::optional<request> req;
    std::optional<response> refusal;
};

asio::awaitable<read_result> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                          stop_control& control) {
    read_result result;
    http::request_parser<http::string_body> parser;
    parser.header_limit(std::uint32_t(max_header_bytes));
    parser.body_limit(max_body_bytes);

    control.waiting_for_client = true;
    stream.expires_after(request_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    control.waiting_for_client = false;
    if (!ec) {
        const auto length = parser.content_length();
        if (length && *length > max_body_bytes) {
            // Refused before reading it; the unread body means the connection must close.
            result.refusal =
                error_response(http::status::payload_too_large, "request body too large");
            co_return result;
        }
        if (parser.get()[http::field::expect] == "100-continue") {
            http::response<http::empty_body> go_on{http::status::continue_, 11};
            stream.expires_after(request_timeout);
            auto [wec, wn] = co_await http::async_write(stream, go_on, use_tuple);
            ec = wec;
        }
    }
    if (!ec && !parser.is_done()) {
        control.waiting_for_client = true;
        stream.expires_after(request_timeout);
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_tuple);
        control.waiting_for_client = false;
        ec = bec;
    }
    if (!ec) {
        result.req = parser.release();
        co_return result;
    }
    if (ec == http::error::header_limit) {
        result.refusal = error_response(http::status::request_header_fields_too_large,
                                        "request header too large");
    } else if (ec == http::error::body_limit) {
        result.refusal = error_response(http::status::payload_too_large, "request body too large");
    } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
        result.refusal = error_response(http::status::bad_request, "malformed request");
    }
    // Otherwise (closed, reset, timed out, cancelled by a stop): nothing to answer.
    co_return result;
}

/// After a refusal the client may still be sending (a body we did not read): closing at once
/// could reset the connection before it reads our answer. So stop sending, then read and drop
/// what still comes, for a bounded time and amount, until the client closes.
asio::awaitable<void> linger_close(beast::tcp_stream& stream, stop_control& control) {
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    std::array<char, 4096> sink;
    std::size_t drained = 0;
    stream.expires_after(std::chrono::seconds(2));
    control.waiting_for_client = true;
    while (drained < 1024 * 1024 && !control.stopped) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
        if (ec) {
            break;
        }
        drained += n;
    }
    control.waiting_for_client = false;
}

std::string remote_of(const beast::tcp_stream& stream) {
    boost::system::error_code ec;
    const auto ep = stream.socket().remote_endpoint(ec);
    if (ec) {
        return "?";
    }
    return ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                                : ep.address().to_string() + ":" + std::to_string(ep.port());
}

} // namespace

asio::awaitable<void> serve_http(beast::tcp_stream stream, beast::flat_buffer buffer,
                                 std::optional<request> first,
                                 std::shared_ptr<net::broker_state> state) {
    auto control = std::make_shared<stop_control>();
    control->stream = &stream;
    const stream_guard guard{control};
    auto executor = co_await asio::this_coro::executor;
    auto on_stop = [control, executor] {
        auto stop = [control] { control->stop(); };
        asio::post(executor, stop);
    };
    const net::stop_registration registration(state->stoppers, on_stop);
    const bool logging = state->config.logging;
    const std::string remote = logging ? remote_of(stream) : std::string{};

    for (;;) {
        read_result in;
        if (first) {
            in.req = std::move(first);
            first.reset();
            if (in.req->body().size() > max_body_bytes) {
                in.refusal =
                    error_response(http::status::payload_too_large, "request body too large");
                in.req.reset();
            }
        } else {
            if (control->stopped || state->stopping) {
                break;
            }
            in = co_await read_request(stream, buffer, *control);
        }

        response res;
        bool keep_alive = false;
        unsigned version = 11;
        if (in.req) {
            res = co_await handle_request(*in.req, state->api, state->config.http);
            keep_alive = in.req->keep_alive() && !control->stopped && !state->stopping;
            version = in.req->version();
            if (logging) {
                broker::log("INFO", "http remote=", remote, " method=", in.req->method_string(),
                            " target=", in.req->target(), " status=", res.result_int());
            }
        } else if (in.refusal) {
            res = std::move(*in.refusal);
            if (logging) {
                broker::log("INFO", "http remote=", remote, " refused status=", res.result_int());
            }
        } else {
            break;
        }
        res.version(version);
        res.keep_alive(keep_alive);
        res.set(http::field::server, "coromq");
        res.prepare_payload();
        stream.expires_after(request_timeout);
        auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
        if (!ec && in.refusal) {
            co_await linger_close(stream, *control);
        }
        if (ec || !keep_alive) {
            break;
        }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
}

} // namespace coromq::rest
