// Carries the router's message events (deliveries, drops) to the on_delivered and
// on_msg_dropped hooks without making the router wait: the router pushes on its strand and
// goes on; one drain coroutine at a time calls the hooks, in order, on a strand of its own.
#pragma once

#include "../broker/router.hpp"
#include "hook_chain.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace coromq::net {

class message_notifier {
public:
    /// Notifications waiting at most; more are counted and logged instead of queued, so a slow
    /// hook cannot make the broker grow without bound.
    static constexpr std::size_t max_pending = 65536;

    message_notifier(boost::asio::io_context& ioc, hook_chain& hooks);

    /// Queues `event` and starts a drain when none runs. Thread-safe; never blocks on a hook.
    void push(broker::message_event&& event);

    /// Nothing queued and no hook running (for the graceful stop). Thread-safe.
    bool idle() const;

private:
    boost::asio::awaitable<void> drain();

    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    hook_chain& hooks_;
    mutable std::mutex mutex_;
    std::deque<broker::message_event> pending_;
    bool draining_ = false;
    std::uint64_t overflowed_ = 0; ///< not queued since the last log line
};

} // namespace coromq::net
