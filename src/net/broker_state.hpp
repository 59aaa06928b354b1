// What every connection coroutine and background task of one server shares.
#pragma once

#include "../broker/router.hpp"
#include "hook_chain.hpp"
#include "message_notifier.hpp"

#include <coromq/broker/config.hpp>
#include <coromq/broker/services.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace coromq::net {

namespace asio = boost::asio;

using router_strand = asio::strand<asio::io_context::executor_type>;

/// Everything that must end when the server stops (connections before and after CONNECT,
/// HTTP sessions) registers a callback here. Thread-safe.
class stop_registry {
public:
    using id = std::uint64_t;

    /// Remembers `on_stop`, or calls it at once when the stop has begun. `on_stop` runs under
    /// the registry's lock: it must only post work (to its own strand) and return.
    id add(std::function<void()> on_stop) {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            on_stop();
            return 0;
        }
        const id key = ++next_;
        callbacks_.emplace(key, std::move(on_stop));
        return key;
    }

    /// Forgets a callback; after it returns the callback is not running and never will be.
    void remove(id key) {
        std::lock_guard lock(mutex_);
        callbacks_.erase(key);
    }

    /// Calls every callback once; later `add`s call theirs at once.
    void stop_all() {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& [key, fn] : callbacks_) {
            fn();
        }
        callbacks_.clear();
    }

private:
    std::mutex mutex_;
    std::unordered_map<id, std::function<void()>> callbacks_;
    id next_ = 0;
    bool stopping_ = false;
};

/// Removes its callback from a stop_registry when it goes out of scope.
class stop_registration {
public:
    stop_registration(stop_registry& registry, std::function<void()> on_stop)
        : registry_(registry)
        , id_(registry.add(std::move(on_stop))) {}
    ~stop_registration() { registry_.remove(id_); }
    stop_registration(const stop_registration&) = delete;
    stop_registration& operator=(const stop_registration&) = delete;

private:
    stop_registry& registry_;
    stop_registry::id id_;
};

struct broker_state {
    broker_state(asio::io_context& io, unsigned threads, broker::broker_config cfg)
        : config(cfg)
        , ioc(io)
        , io_threads(threads)
        , strand(asio::make_strand(io))
        , core(cfg)
        , hooks(std::chrono::milliseconds(cfg.hook_timeout_ms))
        , notifier(io, hooks)
        , api(*this) {}

    const broker::broker_config config;
    asio::io_context& ioc;
    /// How many threads run `ioc` (config.threads, or one per core).
    const unsigned io_threads;
    /// Every call into `core` happens on this strand.
    router_strand strand;
    broker::router core;
    std::atomic<std::size_t> live_connections{0};
    std::atomic<bool> stopping{false};
    stop_registry stoppers;
    /// The plugins; filled before the server starts, read-only afterwards.
    hook_chain hooks;
    /// Feeds on_delivered / on_msg_dropped, when some plugin has them.
    message_notifier notifier;
    /// The public services (server::services()), which the REST API uses too.
    broker::services api;
};

/// Runs `fn(router&)` on the router strand and waits for it; the caller resumes on its own
/// executor. `fn` runs while the caller's frame is suspended, so it may capture by reference.
template <class Fn>
asio::awaitable<void> on_router(broker_state& st, Fn fn) {
    auto task = [&st, &fn]() -> asio::awaitable<void> {
        fn(st.core);
        co_return;
    };
    co_await asio::co_spawn(st.strand, task, asio::use_awaitable);
}

} // namespace coromq::net
