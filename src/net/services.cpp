// The public services: each call is one or a few short tasks on the router strand, through
// the router's management members (router_admin.cpp). Snapshots are copied out on the strand;
// everything else (validation, waiting) happens off it.
#include "broker_state.hpp"

#include <coromq/broker/services.hpp>
#include <coromq/packet/codec.hpp>
#include <coromq/topic/topic.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace coromq::broker {

namespace asio = boost::asio;
using net::on_router;
using steady = std::chrono::steady_clock;
using wall = std::chrono::system_clock;

namespace {

/// Entries one listing step visits at least (or a whole page, when larger): a step holds the
/// router strand for a few microseconds per entry.
constexpr std::size_t min_step_budget = 1024;
/// How long `disconnect` waits for the connection to run its close handling.
constexpr auto disconnect_wait = std::chrono::seconds(3);

bool valid_filter(std::string_view filter) {
    return packet::valid_utf8_string(filter) && topic::valid_filter(filter);
}

/// Collects entries [offset, offset + limit) of a listing, one bounded `step` per router task:
/// `step(router&, cursor&, skip&, take, budget, items) -> optional<total>` (nullopt: the
/// listing's owner does not exist). The entries before the page are walked in steps too.
template <class Item, class Step>
asio::awaitable<std::optional<page<Item>>> collect_page(net::broker_state& st, std::size_t offset,
                                                        std::size_t limit, Step step) {
    page<Item> result;
    router::admin_cursor cursor;
    std::size_t skip = offset;
    const std::size_t budget = std::max(min_step_budget, limit);
    bool found = true;
    for (bool first = true;; first = false) {
        auto run = [&](router& r) {
            const auto total = step(r, cursor, skip, limit, budget, result.items);
            found = total.has_value();
            result.total = total.value_or(0);
        };
        co_await on_router(st, run);
        if (!found) {
            co_return std::nullopt;
        }
        if (cursor.done || result.items.size() >= limit || (first && offset >= result.total)) {
            break;
        }
    }
    co_return result;
}

} // namespace

asio::awaitable<void> services::publish(message m) {
    if (!packet::valid_utf8_string(m.topic) || !topic::valid_name(m.topic)) {
        throw std::invalid_argument("not a valid topic name: '" + m.topic + "'");
    }
    auto shared = std::make_shared<app_message>();
    shared->buffer = packet::message_buffer(m.topic, m.payload);
    shared->qos_level = m.qos_level;
    shared->retain = m.retain;
    message_ptr routed = std::move(shared);
    auto run = [&](router& r) { r.publish(std::move(routed), steady::now()); };
    co_await on_router(state_, run);
}

asio::awaitable<service_status> services::subscribe(std::string client_id,
                                                    packet::subscription sub) {
    if (!valid_filter(sub.filter)) {
        co_return service_status::invalid_filter;
    }
    auto status = router::admin_status::ok;
    auto run = [&](router& r) {
        status = r.admin_subscribe(client_id, sub, steady::now(), wall::now());
    };
    co_await on_router(state_, run);
    switch (status) {
    case router::admin_status::ok:
        co_return service_status::ok;
    case router::admin_status::not_found:
        co_return service_status::not_found;
    case router::admin_status::invalid_filter:
        break;
    }
    co_return service_status::invalid_filter;
}

asio::awaitable<service_status> services::unsubscribe(std::string client_id, std::string filter) {
    if (!valid_filter(filter)) {
        co_return service_status::invalid_filter;
    }
    auto status = router::admin_status::ok;
    auto run = [&](router& r) { status = r.admin_unsubscribe(client_id, filter); };
    co_await on_router(state_, run);
    co_return status == router::admin_status::not_found ? service_status::not_found
                                                        : service_status::ok;
}

asio::awaitable<std::optional<session_info>> services::find_session(std::string client_id) {
    std::optional<session_info> found;
    auto run = [&](router& r) { found = r.admin_find(client_id); };
    co_await on_router(state_, run);
    co_return found;
}

asio::awaitable<page<session_info>> services::list_sessions(bool online_only, std::size_t offset,
                                                            std::size_t limit) {
    auto step = [online_only](const router& r, router::admin_cursor& at, std::size_t& skip,
                              std::size_t take, std::size_t budget,
                              std::vector<session_info>& out) {
        return std::optional<std::size_t>(
            r.admin_list_sessions(at, online_only, skip, take, budget, out));
    };
    auto result = co_await collect_page<session_info>(state_, offset, limit, step);
    co_return std::move(*result); // a listing of every session always exists
}

asio::awaitable<std::optional<page<subscription_info>>>
services::list_subscriptions(std::optional<std::string> client_id, std::size_t offset,
                             std::size_t limit) {
    auto step = [&client_id](const router& r, router::admin_cursor& at, std::size_t& skip,
                             std::size_t take, std::size_t budget,
                             std::vector<subscription_info>& out) {
        std::optional<std::string_view> only;
        if (client_id) {
            only = *client_id;
        }
        return r.admin_list_subscriptions(at, only, skip, take, budget, out);
    };
    co_return co_await collect_page<subscription_info>(state_, offset, limit, step);
}

asio::awaitable<service_status> services::disconnect(std::string client_id, bool drop_session) {
    router::admin_kick kick;
    auto run = [&](router& r) { kick = r.admin_disconnect(client_id, drop_session); };
    co_await on_router(state_, run);
    if (!kick.found) {
        co_return service_status::not_found;
    }
    if (kick.closing) {
        // The connection detaches on its own strand once its writer has flushed; poll the
        // router (briefly, bounded) until it has.
        asio::steady_timer timer(co_await asio::this_coro::executor);
        const auto give_up = steady::now() + disconnect_wait;
        bool detached = false;
        auto check = [&](router& r) {
            const auto s = r.find_session(client_id);
            detached = !s || s->link != kick.closing;
        };
        while (!detached && steady::now() < give_up) {
            timer.expires_after(std::chrono::milliseconds(10));
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            co_await on_router(state_, check);
        }
    }
    co_return service_status::ok;
}

} // namespace coromq::broker
