// The embeddable broker: configure it, start it, run it, stop it. Asio stays out of this
// header so embedding code compiles quickly.
#pragma once

#include <coromq/broker/config.hpp>
#include <coromq/broker/hooks.hpp>
#include <coromq/broker/services.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace coromq::broker {

/// One broker. The life of a server: construct, `add_plugin`s, `start`, `run` (on one thread;
/// it serves on `config.threads`), `stop` (from any thread), `run` returns, destroy. The calls
/// of the set-up phase (`add_plugin`, `start`) are not thread-safe; the others say so.
class server {
public:
    /// Nothing is bound or started yet. Throws nothing for a valid config.
    explicit server(broker_config config);
    /// After `run` has returned (or when it never ran). Destroys the plugins.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Adds a plugin at the end of the hook chain. Call before `start`, from one thread.
    void add_plugin(std::shared_ptr<plugin> p);

    /// An executor of a small thread pool for blocking work that hooks must not do on an
    /// I/O thread: `co_await asio::co_spawn(server.blocking_executor(), work, use_awaitable)`
    /// runs the coroutine `work` there and resumes the hook on its own executor with the
    /// result. (`co_await asio::post(server.blocking_executor(), use_awaitable)` does not move
    /// the hook: its completion is dispatched back to the hook's own executor.) Thread-safe.
    boost::asio::any_io_executor blocking_executor();

    /// Binds every listener. Throws std::system_error naming the listener on failure
    /// (port in use, bad address), std::runtime_error for unusable TLS files. Call once,
    /// before `run`.
    void start();

    /// The ports bound by `start`, in listener order (useful with port 0). Safe from any
    /// thread once `start` has returned.
    std::vector<std::uint16_t> bound_ports() const;

    /// The REST API's port (its own, or the ws:// listener's it shares); 0 without one. Safe
    /// from any thread once `start` has returned.
    std::uint16_t rest_port() const noexcept;

    /// Reads every TLS listener's certificate, key and CA files again. New connections use the
    /// new ones; existing connections keep theirs. A listener whose files fail to load keeps
    /// its old ones (logged). Returns how many failed. Thread-safe.
    std::size_t reload_tls();

    /// What SIGHUP does in the stock binary: reload_tls(), then every plugin's on_reload.
    /// Thread-safe; returns at once (the plugins reload on the server's threads).
    void reload();

    /// Publish, subscribe on behalf of a client, list and look up clients and sessions,
    /// disconnect: see services.hpp for the calls and their thread-safety. The object lives as
    /// long as the server; the calls complete while it runs. Thread-safe.
    broker::services& services() noexcept;

    /// The executor of the server's I/O threads: where code that is not a coroutine spawns a
    /// services call (`asio::co_spawn(server.executor(), ..., asio::use_future)`), or any other
    /// work that should run on the server's threads. Thread-safe.
    boost::asio::any_io_executor executor();

    /// Serves clients on `config.threads` threads (the calling thread is one of them) until
    /// `stop` has finished. Returns normally after a graceful stop.
    void run();

    /// Graceful stop, as Gmqtt does it: close the listeners, close every client and wait until
    /// their close handling has finished and the on_delivered / on_msg_dropped notifications
    /// have been heard (at most 10 s), call on_stop, then make `run` return. Returns at once:
    /// to wait for the stop, wait for `run` to return (join the thread that runs it).
    /// Thread-safe; may be called from a signal-handling thread or a hook; idempotent.
    void stop();

    /// Connections open now (thread-safe, approximate while changing).
    std::size_t connection_count() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace coromq::broker
