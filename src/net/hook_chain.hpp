// The plugins of a server, as one chain per hook. Calls are bounded by a timeout and
// exceptions from plugin code are contained; a hook nobody implements costs a bit test.
#pragma once

#include <coromq/broker/hooks.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace coromq::net {

using broker::client_info;

class hook_chain {
public:
    explicit hook_chain(std::chrono::milliseconds timeout)
        : timeout_(timeout) {}

    /// Before the server starts; not thread-safe.
    void add(std::shared_ptr<broker::plugin> p) {
        mask_ |= p->hooks();
        plugins_.push_back(std::move(p));
    }

    /// True when some plugin implements `h`: callers skip the call (and its coroutine
    /// frame) otherwise.
    bool has(broker::hook h) const noexcept { return (mask_ & h) != 0; }

    // Deciding hooks: the first non-pass answer wins; a timeout or an exception counts as
    // deny (drop for publish). Everyone passing means allow.
    boost::asio::awaitable<broker::verdict> accept(const broker::accept_info& info);
    boost::asio::awaitable<broker::connect_verdict>
    connect(const client_info& client, const std::optional<std::string>& password);
    boost::asio::awaitable<broker::subscribe_verdict> subscribe(const client_info& client,
                                                                const packet::subscription& sub);
    boost::asio::awaitable<broker::verdict> unsubscribe(const client_info& client,
                                                        const std::string& filter);
    boost::asio::awaitable<broker::publish_verdict> publish(const client_info& client,
                                                            const packet::publish& p);
    /// Each plugin in turn may change the will or drop it (nullopt).
    boost::asio::awaitable<std::optional<packet::will>> will_publish(const client_info& client,
                                                                     packet::will will);

    // Notifications: every implementing plugin is called, in order.
    boost::asio::awaitable<void> connected(const client_info& client);
    boost::asio::awaitable<void> session_created(const client_info& client);
    boost::asio::awaitable<void> session_resumed(const client_info& client);
    boost::asio::awaitable<void> session_terminated(const std::string& client_id,
                                                    broker::session_end why);
    boost::asio::awaitable<void> subscribed(const client_info& client,
                                            const packet::subscription& sub);
    boost::asio::awaitable<void> unsubscribed(const client_info& client, const std::string& filter);
    boost::asio::awaitable<void> delivered(const std::string& client_id,
                                           const packet::publish& message);
    boost::asio::awaitable<void> msg_dropped(const std::string& client_id,
                                             const packet::publish& message,
                                             broker::drop_reason why);
    boost::asio::awaitable<void> closed(const client_info& client, const std::string& reason);
    boost::asio::awaitable<void> stopped();
    boost::asio::awaitable<void> reload();

private:
    std::vector<std::shared_ptr<broker::plugin>> plugins_;
    broker::hook_set mask_ = 0;
    std::chrono::milliseconds timeout_;
};

} // namespace coromq::net
