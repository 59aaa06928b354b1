#include "hook_chain.hpp"

#include "../broker/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace coromq::broker {

// The defaults: a plugin only overrides what it names in hooks(); these are never called for
// hooks it does not name, but must exist.
boost::asio::awaitable<verdict> plugin::on_accept(const accept_info&) {
    co_return verdict::pass;
}
boost::asio::awaitable<connect_verdict> plugin::on_connect(const client_info&,
                                                           const std::optional<std::string>&) {
    co_return connect_verdict::pass();
}
boost::asio::awaitable<void> plugin::on_connected(const client_info&) {
    co_return;
}
boost::asio::awaitable<void> plugin::on_session_created(const client_info&) {
    co_return;
}
boost::asio::awaitable<void> plugin::on_session_resumed(const client_info&) {
    co_return;
}
boost::asio::awaitable<void> plugin::on_session_terminated(const std::string&, session_end) {
    co_return;
}
boost::asio::awaitable<subscribe_verdict> plugin::on_subscribe(const client_info&,
                                                               const packet::subscription&) {
    co_return subscribe_verdict::pass();
}
boost::asio::awaitable<void> plugin::on_subscribed(const client_info&,
                                                   const packet::subscription&) {
    co_return;
}
boost::asio::awaitable<verdict> plugin::on_unsubscribe(const client_info&, const std::string&) {
    co_return verdict::pass;
}
boost::asio::awaitable<void> plugin::on_unsubscribed(const client_info&, const std::string&) {
    co_return;
}
boost::asio::awaitable<publish_verdict> plugin::on_publish(const client_info&,
                                                           const packet::publish&) {
    co_return publish_verdict::pass;
}
boost::asio::awaitable<std::optional<packet::will>> plugin::on_will_publish(const client_info&,
                                                                            packet::will will) {
    co_return std::move(will);
}
boost::asio::awaitable<void> plugin::on_delivered(const std::string&, const packet::publish&) {
    co_return;
}
boost::asio::awaitable<void> plugin::on_msg_dropped(const std::string&, const packet::publish&,
                                                    drop_reason) {
    co_return;
}
boost::asio::awaitable<void> plugin::on_close(const client_info&, const std::string&) {
    co_return;
}
boost::asio::awaitable<void> plugin::on_stop() {
    co_return;
}
boost::asio::awaitable<void> plugin::on_reload() {
    co_return;
}

} // namespace coromq::broker

namespace coromq::net {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using broker::hook;
using broker::plugin;

/// Runs one hook of one plugin, bounded by `timeout`. nullopt when it timed out or threw
/// (both logged): the caller applies the safe default. The exception is caught inside the
/// raced coroutine: `||` waits for one *success*, so an exception escaping it would be held
/// until the timer fired.
template <class Result, class Call>
asio::awaitable<std::optional<Result>> bounded(plugin& p, const char* hook_name,
                                               std::chrono::milliseconds timeout, Call call) {
    std::optional<Result> value;
    std::string error;
    bool threw = false;
    auto guarded = [&]() -> asio::awaitable<void> {
        try {
            if constexpr (std::is_same_v<Result, std::monostate>) {
                co_await call();
                value.emplace();
            } else {
                value.emplace(co_await call());
            }
        } catch (const std::exception& e) {
            threw = true;
            error = e.what();
        } catch (...) {
            threw = true;
            error = "an exception not derived from std::exception";
        }
    };
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    auto hook_call = guarded();
    auto deadline = timer.async_wait(asio::use_awaitable);
    auto r = co_await (std::move(hook_call) || std::move(deadline));
    if (r.index() != 0) {
        broker::log("WARN", "plugin ", p.name(), ": ", hook_name, " timed out after ",
                    timeout.count(), " ms");
        co_return std::nullopt;
    }
    if (threw) {
        broker::log("ERROR", "plugin ", p.name(), ": ", hook_name, " threw: ", error);
        co_return std::nullopt;
    }
    co_return value;
}

} // namespace

asio::awaitable<broker::verdict> hook_chain::accept(const broker::accept_info& info) {
    for (auto& p : plugins_) {
        if (!(p->hooks() & hook::hook_accept)) {
            continue;
        }
        auto call = [&] { return p->on_accept(info); };
        auto v = co_await bounded<broker::verdict>(*p, "on_accept", timeout_, call);
        if (!v) {
            co_return broker::verdict::deny;
        }
        if (*v != broker::verdict::pass) {
            co_return *v;
        }
    }
    co_return broker::verdict::allow;
}

asio::awaitable<broker::connect_verdict>
hook_chain::connect(const client_info& client, const std::optional<std::string>& password) {
    for (auto& p : plugins_) {
        if (!(p->hooks() & hook::hook_connect)) {
            continue;
        }
        auto call = [&] { return p->on_connect(client, password); };
        auto v = co_await bounded<broker::connect_verdict>(*p, "on_connect", timeout_, call);
        if (!v) {
            co_return broker::connect_verdict::deny(
                packet::connect_return_code::server_unavailable);
        }
        if (v->decision != broker::verdict::pass) {
            co_return *v;
        }
    }
    co_return broker::connect_verdict::allow();
}

asio::awaitable<broker::subscribe_verdict> hook_chain::subscribe(const client_info& client,
                                                                 const packet::subscription& sub) {
    for (auto& p : plugins_) {
        if (!(p->hooks() & hook::hook_subscribe)) {
            continue;
        }
        auto call = [&] { return p->on_subscribe(client, sub); };
        auto v = co_await bounded<broker::subscribe_verdict>(*p, "on_subscribe", timeout_, call);
        if (!v) {
            co_return broker::subscribe_verdict::deny();
        }
        if (v->decision != broker::verdict::pass) {
            co_return *v;
        }
    }
    co_return broker::subscribe_verdict::allow();
}

asio::awaitable<broker::verdict> hook_chain::unsubscribe(const client_info& client,
                                                         const std::string& filter) {
    for (auto& p : plugins_) {
        if (!(p->hooks() & hook::hook_unsubscribe)) {
            continue;
        }
        auto call = [&] { return p->on_unsubscribe(client, filter); };
        auto v = co_await bounded<broker::verdict>(*p, "on_unsubscribe", timeout_, call);
        if (!v) {
            co_return broker::verdict::deny;
        }
        if (*v != broker::verdict::pass) {
            co_return *v;
        }
    }
    co_return broker::verdict::allow;
}

asio::awaitable<broker::publish_verdict> hook_chain::publish(const client_info& client,
                                                             const packet::publish& pub) {
    for (auto& p : plugins_) {
        if (!(p->hooks() & hook::hook_publish)) {
            continue;
        }
        auto call = [&] { return p->on_publish(client, pub); };
        auto v = co_await bounded<broker::publish_verdict>(*p, "on_publish", timeout_, call);
        if (!v) {
            co_return broker::publish_verdict::drop;
        }
        if (*v != broker::publish_verdict::pass) {
            co_return *v;
        }
    }
    co_return broker::publish_verdict::allow;
}

asio::awaitable<std::optional<packet::will>> hook_chain::will_publish(const client_info& client,
                                                                      packet::will will) {
    std::optional<packet::will> current(std::move(will));
    for (auto& p : plugins_) {
        if (!(p->hooks() & hook::hook_will_publish) || !current) {
            continue;
        }
        auto call = [&] { return p->on_will_publish(client, *current); };
        auto v =
            co_await bounded<std::optional<packet::will>>(*p, "on_will_publish", timeout_, call);
        if (v) {
            current = std::move(*v); // a plugin that failed leaves the will as it was
        }
    }
    co_return current;
}

namespace {
/// Calls `make_call(plugin)` on every plugin implementing `h`, each bounded.
template <class MakeCall>
asio::awaitable<void> notify(std::vector<std::shared_ptr<plugin>>& plugins, hook h,
                             const char* name, std::chrono::milliseconds timeout,
                             MakeCall make_call) {
    for (auto& p : plugins) {
        if (!(p->hooks() & h)) {
            continue;
        }
        auto call = [&] { return make_call(*p); };
        co_await bounded<std::monostate>(*p, name, timeout, call);
    }
}
} // namespace

asio::awaitable<void> hook_chain::connected(const client_info& client) {
    auto make = [&](plugin& p) { return p.on_connected(client); };
    co_await notify(plugins_, hook::hook_connected, "on_connected", timeout_, make);
}
asio::awaitable<void> hook_chain::session_created(const client_info& client) {
    auto make = [&](plugin& p) { return p.on_session_created(client); };
    co_await notify(plugins_, hook::hook_session_created, "on_session_created", timeout_, make);
}
asio::awaitable<void> hook_chain::session_resumed(const client_info& client) {
    auto make = [&](plugin& p) { return p.on_session_resumed(client); };
    co_await notify(plugins_, hook::hook_session_resumed, "on_session_resumed", timeout_, make);
}
asio::awaitable<void> hook_chain::session_terminated(const std::string& client_id,
                                                     broker::session_end why) {
    auto make = [&](plugin& p) { return p.on_session_terminated(client_id, why); };
    co_await notify(plugins_, hook::hook_session_terminated, "on_session_terminated", timeout_,
                    make);
}
asio::awaitable<void> hook_chain::subscribed(const client_info& client,
                                             const packet::subscription& sub) {
    auto make = [&](plugin& p) { return p.on_subscribed(client, sub); };
    co_await notify(plugins_, hook::hook_subscribed, "on_subscribed", timeout_, make);
}
asio::awaitable<void> hook_chain::unsubscribed(const client_info& client,
                                               const std::string& filter) {
    auto make = [&](plugin& p) { return p.on_unsubscribed(client, filter); };
    co_await notify(plugins_, hook::hook_unsubscribed, "on_unsubscribed", timeout_, make);
}
asio::awaitable<void> hook_chain::closed(const client_info& client, const std::string& reason) {
    auto make = [&](plugin& p) { return p.on_close(client, reason); };
    co_await notify(plugins_, hook::hook_close, "on_close", timeout_, make);
}
asio::awaitable<void> hook_chain::delivered(const std::string& client_id,
                                            const packet::publish& message) {
    auto make = [&](plugin& p) { return p.on_delivered(client_id, message); };
    co_await notify(plugins_, hook::hook_delivered, "on_delivered", timeout_, make);
}

asio::awaitable<void> hook_chain::msg_dropped(const std::string& client_id,
                                              const packet::publish& message,
                                              broker::drop_reason why) {
    auto make = [&](plugin& p) { return p.on_msg_dropped(client_id, message, why); };
    co_await notify(plugins_, hook::hook_msg_dropped, "on_msg_dropped", timeout_, make);
}

asio::awaitable<void> hook_chain::stopped() {
    auto make = [&](plugin& p) { return p.on_stop(); };
    co_await notify(plugins_, hook::hook_stop, "on_stop", timeout_, make);
}
asio::awaitable<void> hook_chain::reload() {
    auto make = [&](plugin& p) { return p.on_reload(); };
    co_await notify(plugins_, hook::hook_reload, "on_reload", timeout_, make);
}

} // namespace coromq::net
