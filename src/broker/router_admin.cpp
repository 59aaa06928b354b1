// The router's management API (REST): snapshots for listings, and operator actions that reuse
// the router's own paths (a REST subscription is added and served exactly as a SUBSCRIBE's).
//
// Listings resume from a cursor holding the last key visited rather than from an index, so
// each call is a short, bounded walk of the ordered session table, and a page is always a run
// of entries in strictly increasing (client id, filter) order whatever connects or disconnects
// between two calls.
#include "router.hpp"

namespace coromq::broker {
namespace {

session_info snapshot(const session& s, const broker_config& config) {
    session_info v;
    v.client_id = s.client_id;
    v.online = s.online();
    v.username = s.username;
    v.remote_address = s.remote_address;
    v.clean_session = s.clean_session;
    v.keep_alive = s.keep_alive;
    v.subscriptions = s.subscriptions.size();
    v.max_inflight = config.max_inflight_messages;
    v.inflight = s.inflight.size();
    v.max_queue = config.max_msgqueue_messages;
    v.queued = s.queue.size();
    v.dropped = s.dropped;
    v.connected_at = s.connected_at;
    v.offline_at = s.offline_at;
    return v;
}

} // namespace

std::size_t router::admin_list_sessions(admin_cursor& at, bool online_only, std::size_t& skip,
                                        std::size_t take, std::size_t budget,
                                        std::vector<session_info>& out) const {
    auto it = at.started ? sessions_.upper_bound(at.client_id) : sessions_.begin();
    const std::string* last = nullptr;
    for (std::size_t visited = 0; it != sessions_.end() && visited < budget && out.size() < take;
         ++it, ++visited) {
        last = &it->first;
        const session& s = *it->second;
        if (online_only && !s.online()) {
            continue;
        }
        if (skip > 0) {
            --skip;
            continue;
        }
        out.push_back(snapshot(s, config_));
    }
    if (last) {
        at.client_id = *last;
        at.started = true;
    }
    at.done = it == sessions_.end();
    return online_only ? online_count_ : sessions_.size();
}

std::optional<std::size_t>
router::admin_list_subscriptions(admin_cursor& at, std::optional<std::string_view> client_id,
                                 std::size_t& skip, std::size_t take, std::size_t budget,
                                 std::vector<subscription_info>& out) const {
    auto it = sessions_.end();
    auto end = sessions_.end();
    std::size_t total = subscriptions_.size();
    if (client_id) {
        it = sessions_.find(*client_id);
        if (it == sessions_.end()) {
            return std::nullopt;
        }
        end = std::next(it);
        total = it->second->subscriptions.size();
    } else {
        it = at.started ? sessions_.lower_bound(at.client_id) : sessions_.begin();
    }
    std::size_t visited = 0;
    for (; it != end && visited < budget && out.size() < take; ++it) {
        const session& s = *it->second;
        const bool resume = at.started && it->first == at.client_id;
        auto sub = resume ? s.subscriptions.upper_bound(at.filter) : s.subscriptions.begin();
        if (!resume) {
            at.client_id = it->first;
            at.filter.clear(); // before the first filter: filters are never empty
            at.started = true;
        }
        if (!resume && s.subscriptions.empty()) {
            ++visited; // a session without subscriptions still costs a visit (once)
        }
        for (; sub != s.subscriptions.end() && visited < budget && out.size() < take;
             ++sub, ++visited) {
            at.filter = sub->first;
            if (skip > 0) {
                --skip;
                continue;
            }
            out.push_back(
                {s.client_id, sub->first, sub->second.options.max_qos, sub->second.subscribed_at});
        }
        if (sub != s.subscriptions.end()) {
            break; // budget or page used up inside this session: resume after `at.filter`
        }
    }
    at.done = it == end;
    return total;
}

std::optional<session_info> router::admin_find(std::string_view client_id) const {
    auto it = sessions_.find(client_id);
    if (it == sessions_.end()) {
        return std::nullopt;
    }
    return snapshot(*it->second, config_);
}

router::admin_status router::admin_subscribe(std::string_view client_id,
                                             const packet::subscription& sub, steady_time now,
                                             wall_time wall_now) {
    auto it = sessions_.find(client_id);
    if (it == sessions_.end()) {
        return admin_status::not_found;
    }
    session& s = *it->second;
    bool is_new = false;
    if (!add_subscription(s, sub, wall_now, is_new)) {
        return admin_status::invalid_filter;
    }
    // No SUBACK: the client did not ask. Retained messages go out (or are queued while the
    // session is offline) as after a SUBSCRIBE [MQTT-3.8.4-3].
    send_retained(s, sub, now);
    return admin_status::ok;
}

router::admin_status router::admin_unsubscribe(std::string_view client_id,
                                               std::string_view filter) {
    auto it = sessions_.find(client_id);
    if (it == sessions_.end()) {
        return admin_status::not_found;
    }
    remove_subscription(*it->second, filter);
    return admin_status::ok;
}

router::admin_kick router::admin_disconnect(std::string_view client_id, bool drop_session) {
    admin_kick result;
    auto it = sessions_.find(client_id);
    if (it == sessions_.end()) {
        return result;
    }
    auto s = it->second;
    if (!s->link) {
        if (drop_session) {
            remove_session(s);
            result.found = true;
        }
        return result;
    }
    result.found = true;
    if (drop_session) {
        // `detach` removes a clean session, and a client reconnecting before that does not
        // resume it [MQTT-3.1.2-4].
        s->clean_session = true;
    }
    result.closing = s->link;
    s->link->close(close_reason::kicked);
    return result;
}

} // namespace coromq::broker
