// The server: listeners, the accept loops, the retry task, and the graceful stop.
#include "broker_state.hpp"
#include "connection.hpp"

#include "../broker/log.hpp"

#include <coromq/broker/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <system_error>
#include <thread>

namespace coromq::broker {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using net::broker_state;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto stop_grace = std::chrono::seconds(10);

/// Logs what escaped a coroutine we spawned: nothing may vanish silently.
auto log_exception(const char* what) {
    return [what](const std::exception_ptr& e) {
        if (!e) {
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log("ERROR", what, ": ", ex.what());
        } catch (...) {
            log("ERROR", what, ": unknown exception");
        }
    };
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<broker_state> st) {
    for (;;) {
        // Each connection gets a strand of its own: its loops never run concurrently, and
        // different connections run on all threads.
        asio::any_io_executor conn_executor = asio::make_strand(st->ioc);
        auto [ec, socket] = co_await acceptor.async_accept(conn_executor, use_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open() || st->stopping) {
                co_return;
            }
            // Out of file descriptors and the like: back off instead of spinning.
            log("WARN", "accept failed: ", ec.message());
            asio::steady_timer backoff(acceptor.get_executor(), std::chrono::milliseconds(50));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        const auto limit = st->config.max_connections;
        if (limit != 0 && st->live_connections.load() >= limit) {
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        ++st->live_connections;
        auto executor = socket.get_executor();
        asio::co_spawn(executor, net::serve_connection(std::move(socket), st),
                       [st](const std::exception_ptr& e) {
                           log_exception("connection")(e);
                           --st->live_connections;
                       });
    }
}

} // namespace

struct server::impl {
    explicit impl(broker_config cfg)
        : config(cfg)
        , ioc(int(cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency())))
        , state(std::make_shared<broker_state>(ioc, std::move(cfg)))
        , retry_timer(state->strand) {}

    broker_config config;
    asio::io_context ioc;
    std::shared_ptr<broker_state> state;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    std::vector<std::uint16_t> ports;
    asio::steady_timer retry_timer; ///< on the router strand
    std::atomic<bool> stop_requested{false};

    asio::awaitable<void> retry_task() {
        // On the router strand: every second, resend what is overdue (delivery_retry_interval).
        for (;;) {
            retry_timer.expires_after(std::chrono::seconds(1));
            auto [ec] = co_await retry_timer.async_wait(use_tuple);
            if (ec || state->stopping) {
                co_return;
            }
            state->core.retry_overdue(std::chrono::steady_clock::now());
        }
    }

    asio::awaitable<void> shutdown() {
        state->stopping = true;
        for (auto& a : acceptors) {
            asio::post(a->get_executor(), [acc = a.get()] {
                boost::system::error_code ignored;
                acc->close(ignored);
            });
        }
        auto close_clients = [this]() -> asio::awaitable<void> {
            retry_timer.cancel();
            state->core.close_all(close_reason::server_stopping);
            co_return;
        };
        co_await asio::co_spawn(state->strand, close_clients, asio::use_awaitable);
        // Wait until every connection has run its close handling (Gmqtt's OnClose), bounded.
        const auto give_up = std::chrono::steady_clock::now() + stop_grace;
        asio::steady_timer poll(ioc);
        while (state->live_connections.load() != 0 && std::chrono::steady_clock::now() < give_up) {
            poll.expires_after(std::chrono::milliseconds(10));
            co_await poll.async_wait(use_tuple);
        }
        if (state->live_connections.load() != 0) {
            log("WARN", state->live_connections.load(), " connections did not close in time");
        }
        ioc.stop();
    }
};

server::server(broker_config config)
    : impl_(std::make_unique<impl>(std::move(config))) {}
server::~server() = default;

void server::start() {
    for (const auto& l : impl_->config.listeners) {
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(l.host, ec);
        if (ec) {
            throw std::system_error(ec,
                                    "listener " + l.to_string() + ": bad address '" + l.host + "'");
        }
        auto acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(impl_->ioc));
        const tcp::endpoint endpoint(address, l.port);
        acceptor->open(endpoint.protocol(), ec);
        if (!ec) {
            acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
        }
        if (!ec) {
            acceptor->bind(endpoint, ec);
        }
        if (!ec) {
            acceptor->listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            throw std::system_error(ec, "listener " + l.to_string());
        }
        impl_->ports.push_back(acceptor->local_endpoint().port());
        impl_->acceptors.push_back(std::move(acceptor));
    }
}

std::vector<std::uint16_t> server::bound_ports() const {
    return impl_->ports;
}

std::size_t server::connection_count() const noexcept {
    return impl_->state->live_connections.load();
}

void server::run() {
    auto& im = *impl_;
    for (std::size_t i = 0; i < im.acceptors.size(); ++i) {
        auto& acceptor = *im.acceptors[i];
        if (im.config.logging) {
            log("INFO", "listening on ", im.config.listeners[i].scheme, "://",
                acceptor.local_endpoint());
        }
        asio::co_spawn(acceptor.get_executor(), accept_loop(acceptor, im.state),
                       log_exception("accept loop"));
    }
    asio::co_spawn(im.state->strand, im.retry_task(), log_exception("retry task"));

    const unsigned threads =
        im.config.threads ? im.config.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::jthread> pool;
    for (unsigned i = 1; i < threads; ++i) {
        pool.emplace_back([&im] { im.ioc.run(); });
    }
    im.ioc.run();
    pool.clear(); // joins
}

void server::stop() {
    if (impl_->stop_requested.exchange(true)) {
        return;
    }
    asio::co_spawn(impl_->ioc, impl_->shutdown(), log_exception("shutdown"));
}

} // namespace coromq::broker
