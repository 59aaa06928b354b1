// The server: listeners and their accept loops, the REST listener, the retry task, TLS
// reloads, and the graceful stop.
#include "broker_state.hpp"
#include "listener.hpp"

#include "../broker/log.hpp"

#include <coromq/broker/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <system_error>
#include <thread>

namespace coromq::broker {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using net::broker_state;
using net::listener_context;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto stop_grace = std::chrono::seconds(10);

/// Accepts until the acceptor closes. `mqtt` listeners count toward max_connections and the
/// stop waits for them; the REST-only listener (listener == nullptr) does neither.
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const listener_context* listener,
                                  std::shared_ptr<broker_state> st) {
    for (;;) {
        // Each connection gets a strand of its own: its reader and its link's callbacks never
        // run concurrently, and different connections run on all threads. With one thread
        // nothing runs concurrently anyway: no strand (one allocation less per connection,
        // and no strand queue to go through for each of its handlers).
        asio::any_io_executor conn_executor =
            st->io_threads == 1 ? asio::any_io_executor(st->ioc.get_executor())
                                : asio::any_io_executor(asio::make_strand(st->ioc));
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
        socket.set_option(tcp::no_delay(true), ec);
        auto executor = socket.get_executor();
        if (!listener) {
            asio::co_spawn(executor, net::serve_rest_accepted(std::move(socket), st),
                           log_exception("http session"));
            continue;
        }
        const auto limit = st->config.max_connections;
        if (limit != 0 && st->live_connections.load() >= limit) {
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        // The connection is counted until the last holder of its copy of the state lets go:
        // not when its first coroutine ends, since an idle plain TCP connection has none.
        ++st->live_connections;
        std::shared_ptr<broker_state> counted(
            st.get(), [st](broker_state* state) { --state->live_connections; });
        asio::co_spawn(executor,
                       net::serve_accepted(std::move(socket), *listener, std::move(counted)),
                       log_exception("connection"));
    }
}

std::unique_ptr<tcp::acceptor> bind_acceptor(asio::io_context& ioc, const std::string& host,
                                             std::uint16_t port, const std::string& name) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) {
        throw std::system_error(ec, name + ": bad address '" + host + "'");
    }
    auto acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(ioc));
    const tcp::endpoint endpoint(address, port);
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
        throw std::system_error(ec, name);
    }
    return acceptor;
}

/// The threads that run the io_context: `threads`, or one per core.
unsigned io_thread_count(const broker_config& cfg) {
    return cfg.threads ? unsigned(cfg.threads) : std::max(1u, std::thread::hardware_concurrency());
}

} // namespace

struct server::impl {
    explicit impl(broker_config cfg)
        : config(cfg)
        , ioc(int(io_thread_count(cfg)))
        , state(std::make_shared<broker_state>(ioc, io_thread_count(cfg), std::move(cfg)))
        , retry_timer(state->strand) {}

    broker_config config;
    asio::io_context ioc;
    std::shared_ptr<broker_state> state;
    std::vector<std::unique_ptr<listener_context>> listeners;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors; ///< one per listener, then REST
    std::unique_ptr<tcp::acceptor> rest_acceptor;          ///< when REST has a port of its own
    std::vector<std::uint16_t> ports;
    std::uint16_t rest_port = 0;
    asio::steady_timer retry_timer; ///< on the router strand
    std::atomic<bool> stop_requested{false};
    asio::thread_pool blocking_pool{2};

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

    void close_acceptor(tcp::acceptor* acc) {
        asio::post(acc->get_executor(), [acc] {
            boost::system::error_code ignored;
            acc->close(ignored);
        });
    }

    asio::awaitable<void> shutdown() {
        // 1. No new connections; handshakes, connections without a session yet and HTTP
        //    sessions end at once.
        state->stopping = true;
        for (auto& a : acceptors) {
            close_acceptor(a.get());
        }
        if (rest_acceptor) {
            close_acceptor(rest_acceptor.get());
        }
        state->stoppers.stop_all();
        // 2. Every attached client is asked to close (its writer gets a short flush).
        auto close_clients = [this]() -> asio::awaitable<void> {
            retry_timer.cancel();
            state->core.close_all(close_reason::server_stopping);
            co_return;
        };
        co_await asio::co_spawn(state->strand, close_clients, asio::use_awaitable);
        // 3. Wait until every connection has run its close handling (Gmqtt's OnClose), bounded.
        const auto give_up = std::chrono::steady_clock::now() + stop_grace;
        asio::steady_timer poll(ioc);
        // Then until the on_delivered / on_msg_dropped notifications have been heard.
        while ((state->live_connections.load() != 0 || !state->notifier.idle()) &&
               std::chrono::steady_clock::now() < give_up) {
            poll.expires_after(std::chrono::milliseconds(10));
            co_await poll.async_wait(use_tuple);
        }
        if (state->live_connections.load() != 0) {
            log("WARN", state->live_connections.load(), " connections did not close in time");
        }
        // 4. The plugins hear about it last (Gmqtt's OnStop).
        if (state->hooks.has(hook_stop)) {
            co_await state->hooks.stopped();
        }
        ioc.stop();
    }
};

server::server(broker_config config)
    : impl_(std::make_unique<impl>(std::move(config))) {}
server::~server() = default;

void server::add_plugin(std::shared_ptr<plugin> p) {
    impl_->state->hooks.add(std::move(p));
}

boost::asio::any_io_executor server::blocking_executor() {
    return impl_->blocking_pool.get_executor();
}

services& server::services() noexcept {
    return impl_->state->api;
}

boost::asio::any_io_executor server::executor() {
    return impl_->ioc.get_executor();
}

void server::start() {
    auto& im = *impl_;
    // The plugins are all added now. The router reports deliveries and drops only when some
    // plugin listens: otherwise the hot path pays one branch.
    const bool delivered = im.state->hooks.has(hook_delivered);
    const bool dropped = im.state->hooks.has(hook_msg_dropped);
    if (delivered || dropped) {
        auto* notifier = &im.state->notifier;
        im.state->core.set_message_events(
            [notifier](message_event&& e) { notifier->push(std::move(e)); }, delivered, dropped);
    }
    const auto& http = im.config.http;
    bool rest_shared = false;
    for (const auto& l : im.config.listeners) {
        auto ctx = std::make_unique<listener_context>();
        ctx->config = l;
        if (l.uses_tls()) {
            try {
                ctx->tls = std::make_unique<net::tls_context_holder>(l.tls);
            } catch (const std::exception& e) {
                throw std::runtime_error("listener " + l.to_string() + ": " + e.what());
            }
        }
        // The seed's default puts the REST API and the WebSocket listener on one port.
        if (http.enabled() && l.scheme == "ws" && l.host == http.host && l.port == http.port &&
            l.port != 0) {
            ctx->serves_rest = true;
            rest_shared = true;
        }
        auto acceptor = bind_acceptor(im.ioc, l.host, l.port, "listener " + l.to_string());
        im.ports.push_back(acceptor->local_endpoint().port());
        if (ctx->serves_rest) {
            im.rest_port = im.ports.back();
        }
        im.acceptors.push_back(std::move(acceptor));
        im.listeners.push_back(std::move(ctx));
    }
    if (http.enabled() && !rest_shared) {
        im.rest_acceptor =
            bind_acceptor(im.ioc, http.host, http.port,
                          "REST API http://" + http.host + ":" + std::to_string(http.port));
        im.rest_port = im.rest_acceptor->local_endpoint().port();
    }
}

std::vector<std::uint16_t> server::bound_ports() const {
    return impl_->ports;
}

std::uint16_t server::rest_port() const noexcept {
    return impl_->rest_port;
}

std::size_t server::connection_count() const noexcept {
    return impl_->state->live_connections.load();
}

void server::run() {
    auto& im = *impl_;
    for (std::size_t i = 0; i < im.acceptors.size(); ++i) {
        auto& acceptor = *im.acceptors[i];
        if (im.config.logging) {
            log("INFO", "listening on ", im.listeners[i]->config.scheme, "://",
                acceptor.local_endpoint(), im.listeners[i]->config.path,
                im.listeners[i]->serves_rest ? " (and the REST API)" : "");
        }
        asio::co_spawn(acceptor.get_executor(),
                       accept_loop(acceptor, im.listeners[i].get(), im.state),
                       log_exception("accept loop"));
    }
    if (im.rest_acceptor) {
        if (im.config.logging) {
            log("INFO", "REST API on http://", im.rest_acceptor->local_endpoint());
        }
        asio::co_spawn(im.rest_acceptor->get_executor(),
                       accept_loop(*im.rest_acceptor, nullptr, im.state),
                       log_exception("REST accept loop"));
    }
    asio::co_spawn(im.state->strand, im.retry_task(), log_exception("retry task"));

    const unsigned threads = im.state->io_threads;
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

void server::reload() {
    reload_tls();
    if (impl_->state->hooks.has(hook_reload)) {
        auto st = impl_->state;
        auto task = [st]() -> asio::awaitable<void> { co_await st->hooks.reload(); };
        asio::co_spawn(impl_->ioc, task, log_exception("plugin reload"));
    }
}

std::size_t server::reload_tls() {
    std::size_t failed = 0;
    for (const auto& l : impl_->listeners) {
        if (!l->tls) {
            continue;
        }
        try {
            l->tls->reload();
            log("INFO", "reloaded TLS certificate for ", l->config.to_string());
        } catch (const std::exception& e) {
            ++failed;
            log("ERROR", "TLS reload for ", l->config.to_string(), " failed, keeping the old ",
                "certificate: ", e.what());
        }
    }
    return failed;
}

} // namespace coromq::broker
