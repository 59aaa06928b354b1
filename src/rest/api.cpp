// Gmqtt's REST endpoints over the router.
//
// Everything that reads or changes broker state runs as a short task on the router strand
// (`on_router`); JSON is built afterwards, off the strand, from the snapshots the task copied
// out. Listings page through the router with one task per bounded step (`collect_page`), so a
// listing of many thousands of sessions never holds the strand for long.
#include "api.hpp"

#include "http_util.hpp"
#include "openapi.hpp"

#include <coromq/topic/topic.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <variant>

namespace coromq::rest {
namespace {

namespace json = boost::json;
using broker::router;
using steady = std::chrono::steady_clock;
using wall = std::chrono::system_clock;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Entries a page may hold at most (`per-page`); more is a 400, so one response stays small.
constexpr std::uint64_t max_per_page = 1000;
/// Entries one listing step visits at least (or a whole page, when larger).
constexpr std::size_t min_step_budget = 1024;
/// How long DELETE /client/:id waits for the connection to detach before answering anyway.
constexpr auto kick_wait = std::chrono::seconds(3);

/// Runs `fn(router&)` on the router strand and waits for it. `fn` lives in the caller's
/// frame, which is suspended meanwhile.
template <class Fn>
asio::awaitable<void> on_router(net::broker_state& st, Fn& fn) {
    auto task = [&st, &fn]() -> asio::awaitable<void> {
        fn(st.core);
        co_return;
    };
    co_await asio::co_spawn(st.strand, task, asio::use_awaitable);
}

// --- responses --------------------------------------------------------------------------------

response json_response(http::status status, json::value body) {
    response res{status, 11};
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.body() = json::serialize(body);
    return res;
}

/// Gmqtt's answer to a successful POST.
response ok_result() {
    return json_response(http::status::ok, json::object{{"code", 0}, {"result", json::array{}}});
}

response method_not_allowed(std::string_view allowed) {
    auto res = error_response(http::status::method_not_allowed, "method not allowed");
    res.set(http::field::allow, allowed);
    return res;
}

response bad_request(std::string_view message) {
    return error_response(http::status::bad_request, message);
}

// --- JSON shapes (Gmqtt's monitor.go) ------------------------------------------------------

// Members are added in Gmqtt's order (Boost.JSON objects keep insertion order).

json::object client_json(const router::admin_session& s) {
    json::object o;
    o["client_id"] = s.client_id;
    o["username"] = s.username;
    o["remote_addr"] = s.remote_address;
    o["clean_session"] = s.clean_session;
    o["keep_alive"] = s.keep_alive;
    o["connected_at"] = format_time(s.connected_at);
    return o;
}

json::object session_json(const router::admin_session& s) {
    json::object o;
    o["client_id"] = s.client_id;
    o["status"] = s.online ? "online" : "offline";
    o["remote_addr"] = s.remote_address;
    o["clean_session"] = s.clean_session;
    o["subscriptions"] = s.subscriptions;
    o["max_inflight"] = s.max_inflight;
    o["inflight_len"] = s.inflight;
    o["max_msg_queue"] = s.max_queue;
    o["msg_queue_len"] = s.queued;
    o["msg_queue_dropped"] = s.dropped;
    o["connected_at"] = format_time(s.connected_at);
    o["offline_at"] = format_time(s.offline_at); // Go's zero time when never offline
    return o;
}

json::object subscription_json(const router::admin_subscription& s) {
    json::object o;
    o["client_id"] = s.client_id;
    o["qos"] = int(s.max_qos);
    o["name"] = s.filter;
    o["at"] = format_time(s.subscribed_at);
    return o;
}

// --- query strings and bodies ----------------------------------------------------------------

/// A decimal number of at most 18 digits, nothing else.
std::optional<std::uint64_t> parse_uint(std::string_view s) {
    if (s.empty() || s.size() > 18) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + std::uint64_t(c - '0');
    }
    return v;
}

struct page_query {
    std::uint64_t page = 1;
    std::uint64_t per_page = 20;
};

/// `page` (default 1) and `per-page` (default 20, at most max_per_page); an empty value is
/// the default, as in Gmqtt. Anything else is an error message.
std::variant<page_query, std::string> parse_page(const fields& query) {
    page_query q;
    if (auto it = query.find("page"); it != query.end() && !it->second.empty()) {
        const auto v = parse_uint(it->second);
        if (!v || *v < 1 || *v > std::numeric_limits<std::uint32_t>::max()) {
            return std::string("page must be a whole number from 1 to 4294967295");
        }
        q.page = *v;
    }
    if (auto it = query.find("per-page"); it != query.end() && !it->second.empty()) {
        const auto v = parse_uint(it->second);
        if (!v || *v < 1 || *v > max_per_page) {
            return "per-page must be a whole number from 1 to " + std::to_string(max_per_page);
        }
        q.per_page = *v;
    }
    return q;
}

/// The first of `names` present in `f`.
std::optional<std::string_view> field(const fields& f,
                                      std::initializer_list<std::string_view> names) {
    for (const auto name : names) {
        if (auto it = f.find(name); it != f.end()) {
            return std::string_view(it->second);
        }
    }
    return std::nullopt;
}

/// The fields of a POST body: a form (urlencoded or multipart) or a JSON object.
std::variant<fields, response> body_fields(const request& req) {
    const std::string_view content_type = req[http::field::content_type];
    auto media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && media.back() == ' ') {
        media.remove_suffix(1);
    }
    const std::string_view body = req.body();
    if (media.empty() || iequals(media, "application/x-www-form-urlencoded")) {
        if (auto f = parse_urlencoded(body)) {
            return std::move(*f);
        }
        return bad_request("malformed form body");
    }
    if (iequals(media, "multipart/form-data")) {
        if (auto f = parse_multipart(body, content_type)) {
            return std::move(*f);
        }
        return bad_request("malformed multipart/form-data body");
    }
    if (iequals(media, "application/json")) {
        auto [f, error] = parse_json_fields(body);
        if (f) {
            return std::move(*f);
        }
        return bad_request(error.message);
    }
    return error_response(http::status::unsupported_media_type,
                          "Content-Type must be application/x-www-form-urlencoded, "
                          "multipart/form-data or application/json");
}

/// QoS from a field: 0, 1 or 2 (default 0 when absent).
std::optional<packet::qos> parse_qos(const fields& f) {
    const auto v = field(f, {"qos"});
    if (!v || v->empty()) {
        return packet::qos::at_most_once;
    }
    if (v->size() == 1 && (*v)[0] >= '0' && (*v)[0] <= '2') {
        return packet::qos((*v)[0] - '0');
    }
    return std::nullopt;
}

std::optional<bool> parse_bool(std::optional<std::string_view> v) {
    if (!v || v->empty() || *v == "false" || *v == "0") {
        return false;
    }
    if (*v == "true" || *v == "1") {
        return true;
    }
    return std::nullopt;
}

/// Why a topic name cannot be published to, or nullopt when it can.
std::optional<std::string> check_topic_name(std::string_view t) {
    if (t.empty()) {
        return "topic is required"; // [MQTT-4.7.3-1]
    }
    if (t.size() > 65535 || !valid_mqtt_utf8(t)) {
        return "invalid topic name: not a UTF-8 string of at most 65535 bytes without U+0000";
    }
    if (!topic::valid_name(t)) {
        return "invalid topic name: wildcards (+ and #) are not allowed in a publish topic";
    }
    return std::nullopt;
}

/// Why a topic filter cannot be subscribed to, or nullopt when it can.
std::optional<std::string> check_topic_filter(std::string_view t) {
    if (t.empty()) {
        return "topic is required";
    }
    if (t.size() > 65535 || !valid_mqtt_utf8(t)) {
        return "invalid topic filter: not a UTF-8 string of at most 65535 bytes without U+0000";
    }
    if (!topic::valid_filter(t)) {
        return "invalid topic filter: '#' must be the last level and '+' a whole level";
    }
    if (std::size_t(std::count(t.begin(), t.end(), '/')) + 1 > router::max_filter_levels) {
        return "invalid topic filter: more than " + std::to_string(router::max_filter_levels) +
               " levels";
    }
    return std::nullopt;
}

// --- basic auth -------------------------------------------------------------------------------

/// True when no users are configured, or the request carries one's credentials. Every user is
/// compared (no early exit), each comparison in constant time.
bool authorized(const request& req, const broker::http_config& config) {
    if (config.users.empty()) {
        return true;
    }
    std::string_view h = req[http::field::authorization];
    const auto space = h.find(' ');
    if (space == std::string_view::npos || !iequals(h.substr(0, space), "basic")) {
        return false;
    }
    h.remove_prefix(space + 1);
    while (!h.empty() && h.front() == ' ') {
        h.remove_prefix(1);
    }
    while (!h.empty() && h.back() == ' ') {
        h.remove_suffix(1);
    }
    const auto decoded = base64_decode(h);
    if (!decoded) {
        return false;
    }
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) {
        return false;
    }
    const std::string_view name = std::string_view(*decoded).substr(0, colon);
    const std::string_view password = std::string_view(*decoded).substr(colon + 1);
    bool ok = false;
    for (const auto& [user, secret] : config.users) {
        ok |= equal_secrets(user, name) & equal_secrets(secret, password);
    }
    return ok;
}

// --- endpoints --------------------------------------------------------------------------------

template <class Item>
struct page_of {
    std::vector<Item> items;
    std::size_t total = 0;
};

/// Collects page `q` of a listing, one bounded `step` per router task:
/// `step(router&, cursor&, skip&, take, budget, items) -> optional<total>` (nullopt: the
/// listing's owner does not exist). The skipped entries before the page are walked in
/// steps too; a page short enough (all of them with the default budget) is copied in one.
template <class Item, class Step>
asio::awaitable<std::optional<page_of<Item>>> collect_page(net::broker_state& st, page_query q,
                                                           Step step) {
    page_of<Item> result;
    router::admin_cursor cursor;
    const std::size_t take = std::size_t(q.per_page);
    const std::uint64_t offset = (q.page - 1) * q.per_page; // < 2^32 * 1000: no overflow
    std::size_t skip = std::size_t(offset);
    const std::size_t budget = std::max(min_step_budget, take);
    bool found = true;
    for (bool first = true;; first = false) {
        auto run = [&](router& r) {
            const auto total = step(r, cursor, skip, take, budget, result.items);
            found = total.has_value();
            result.total = total.value_or(0);
        };
        co_await on_router(st, run);
        if (!found) {
            co_return std::nullopt;
        }
        if (cursor.done || result.items.size() >= take || (first && offset >= result.total)) {
            break;
        }
    }
    co_return result;
}

template <class Item, class ToJson>
response page_response(const page_of<Item>& p, page_query q, ToJson to_json) {
    json::array list;
    list.reserve(p.items.size());
    for (const auto& item : p.items) {
        list.push_back(to_json(item));
    }
    const std::uint64_t total_page = (p.total + q.per_page - 1) / q.per_page;
    json::object body;
    body["list"] = std::move(list);
    body["page"] = q.page;
    body["page_size"] = q.per_page;
    body["current_count"] = p.items.size();
    body["total_count"] = p.total;
    body["total_page"] = total_page;
    return json_response(http::status::ok, std::move(body));
}

/// GET /clients (online only) and GET /sessions.
asio::awaitable<response> list_sessions(net::broker_state& st, const fields& query,
                                        bool online_only) {
    auto pq = parse_page(query);
    if (auto* error = std::get_if<std::string>(&pq)) {
        co_return bad_request(*error);
    }
    const auto q = std::get<page_query>(pq);
    auto step = [online_only](const router& r, router::admin_cursor& at, std::size_t& skip,
                              std::size_t take, std::size_t budget,
                              std::vector<router::admin_session>& out) {
        return std::optional<std::size_t>(
            r.admin_list_sessions(at, online_only, skip, take, budget, out));
    };
    auto page = co_await collect_page<router::admin_session>(st, q, step);
    co_return page_response(*page, q, online_only ? client_json : session_json);
}

/// GET /subscriptions and GET /subscriptions/:id.
asio::awaitable<response> list_subscriptions(net::broker_state& st, const fields& query,
                                             const std::optional<std::string>& client_id) {
    auto pq = parse_page(query);
    if (auto* error = std::get_if<std::string>(&pq)) {
        co_return bad_request(*error);
    }
    const auto q = std::get<page_query>(pq);
    auto step = [&client_id](const router& r, router::admin_cursor& at, std::size_t& skip,
                             std::size_t take, std::size_t budget,
                             std::vector<router::admin_subscription>& out) {
        std::optional<std::string_view> only;
        if (client_id) {
            only = *client_id;
        }
        return r.admin_list_subscriptions(at, only, skip, take, budget, out);
    };
    auto page = co_await collect_page<router::admin_subscription>(st, q, step);
    if (!page) {
        co_return error_response(http::status::not_found, "session not found");
    }
    co_return page_response(*page, q, subscription_json);
}

/// GET /client/:id (online only) and GET /session/:id.
asio::awaitable<response> get_session(net::broker_state& st, const std::string& client_id,
                                      bool online_only) {
    std::optional<router::admin_session> found;
    auto run = [&](router& r) { found = r.admin_find(client_id); };
    co_await on_router(st, run);
    if (!found || (online_only && !found->online)) {
        co_return error_response(http::status::not_found,
                                 online_only ? "client not found" : "session not found");
    }
    co_return json_response(http::status::ok,
                            online_only ? client_json(*found) : session_json(*found));
}

/// DELETE /client/:id[?drop_session=true]: closes the connection, then waits (bounded) until
/// it has detached, so that a GET right after the answer no longer shows the client.
asio::awaitable<response> kick_client(net::broker_state& st, const std::string& client_id,
                                      const fields& query) {
    const auto drop = parse_bool(field(query, {"drop_session"}));
    if (!drop) {
        co_return bad_request("drop_session must be true or false");
    }
    router::admin_kick kick;
    auto run = [&](router& r) { kick = r.admin_disconnect(client_id, *drop); };
    co_await on_router(st, run);
    if (!kick.found) {
        co_return error_response(http::status::not_found, "client not found");
    }
    if (kick.closing) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        const auto give_up = steady::now() + kick_wait;
        bool detached = false;
        auto check = [&](router& r) {
            const auto s = r.find_session(client_id);
            detached = !s || s->link != kick.closing;
        };
        while (!detached && steady::now() < give_up) {
            timer.expires_after(std::chrono::milliseconds(10));
            co_await timer.async_wait(use_tuple);
            co_await on_router(st, check);
        }
    }
    co_return ok_result();
}

/// POST /publish: qos, topic, payload, retain.
asio::awaitable<response> publish(net::broker_state& st, const request& req) {
    auto body = body_fields(req);
    if (auto* error = std::get_if<response>(&body)) {
        co_return std::move(*error);
    }
    const auto& f = std::get<fields>(body);
    const auto q = parse_qos(f);
    if (!q) {
        co_return bad_request("qos must be 0, 1 or 2");
    }
    const auto topic_name = field(f, {"topic"}).value_or(std::string_view{});
    if (auto why = check_topic_name(topic_name)) {
        co_return bad_request(*why);
    }
    const auto retain = parse_bool(field(f, {"retain"}));
    if (!retain) {
        co_return bad_request("retain must be true or false");
    }
    auto m = std::make_shared<broker::app_message>();
    m->buffer = packet::message_buffer(topic_name, field(f, {"payload"}).value_or(""));
    m->qos_level = *q;
    m->retain = *retain;
    broker::message_ptr message = std::move(m);
    auto run = [&](router& r) { r.publish(std::move(message), steady::now()); };
    co_await on_router(st, run);
    co_return ok_result();
}

/// The client id field: Gmqtt documents `clientId`, its code reads `clientID`.
std::optional<std::string_view> client_id_field(const fields& f) {
    return field(f, {"clientId", "clientID", "client_id"});
}

/// POST /subscribe: qos, topic (a filter), clientId.
asio::awaitable<response> subscribe(net::broker_state& st, const request& req) {
    auto body = body_fields(req);
    if (auto* error = std::get_if<response>(&body)) {
        co_return std::move(*error);
    }
    const auto& f = std::get<fields>(body);
    const auto q = parse_qos(f);
    if (!q) {
        co_return bad_request("qos must be 0, 1 or 2");
    }
    const auto filter = field(f, {"topic"}).value_or(std::string_view{});
    if (auto why = check_topic_filter(filter)) {
        co_return bad_request(*why);
    }
    const auto client_id = client_id_field(f);
    if (!client_id || client_id->empty()) {
        co_return bad_request("clientId is required");
    }
    packet::subscription sub;
    sub.filter = std::string(filter);
    sub.max_qos = *q;
    auto status = router::admin_status::ok;
    auto run = [&](router& r) {
        status = r.admin_subscribe(*client_id, sub, steady::now(), wall::now());
    };
    co_await on_router(st, run);
    if (status == router::admin_status::not_found) {
        co_return error_response(http::status::not_found, "session not found");
    }
    if (status == router::admin_status::invalid_filter) {
        co_return bad_request("invalid topic filter");
    }
    co_return ok_result();
}

/// POST /unsubscribe: topic (a filter), clientId.
asio::awaitable<response> unsubscribe(net::broker_state& st, const request& req) {
    auto body = body_fields(req);
    if (auto* error = std::get_if<response>(&body)) {
        co_return std::move(*error);
    }
    const auto& f = std::get<fields>(body);
    const auto filter = field(f, {"topic"}).value_or(std::string_view{});
    if (auto why = check_topic_filter(filter)) {
        co_return bad_request(*why);
    }
    const auto client_id = client_id_field(f);
    if (!client_id || client_id->empty()) {
        co_return bad_request("clientId is required");
    }
    auto status = router::admin_status::ok;
    auto run = [&](router& r) { status = r.admin_unsubscribe(*client_id, filter); };
    co_await on_router(st, run);
    if (status == router::admin_status::not_found) {
        co_return error_response(http::status::not_found, "session not found");
    }
    co_return ok_result();
}

/// The id after `prefix` in `path`, percent-decoded; nullopt when it is not that endpoint.
std::optional<std::string> id_after(std::string_view path, std::string_view prefix) {
    if (!path.starts_with(prefix) || path.size() == prefix.size()) {
        return std::nullopt;
    }
    return percent_decode(path.substr(prefix.size()), false);
}

constexpr std::string_view id_prefixes[] = {"/client/", "/session/", "/subscriptions/"};

asio::awaitable<response> route(const request& req, net::broker_state& st) {
    const std::string_view target = req.target();
    const auto question = target.find('?');
    const auto path = target.substr(0, question);
    const auto query_string =
        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    const auto query = parse_urlencoded(query_string);
    if (!query) {
        co_return bad_request("malformed query string");
    }
    const auto method = req.method();
    const bool get = method == http::verb::get;
    const bool post = method == http::verb::post;

    if (path == "/clients" || path == "/sessions") {
        if (!get) {
            co_return method_not_allowed("GET");
        }
        co_return co_await list_sessions(st, *query, path == "/clients");
    }
    if (path == "/subscriptions") {
        if (!get) {
            co_return method_not_allowed("GET");
        }
        const std::optional<std::string> everyone;
        co_return co_await list_subscriptions(st, *query, everyone);
    }
    if (path == "/publish" || path == "/subscribe" || path == "/unsubscribe") {
        if (!post) {
            co_return method_not_allowed("POST");
        }
        if (path == "/publish") {
            co_return co_await publish(st, req);
        }
        if (path == "/subscribe") {
            co_return co_await subscribe(st, req);
        }
        co_return co_await unsubscribe(st, req);
    }
    if (path == "/openapi.json") {
        if (!get) {
            co_return method_not_allowed("GET");
        }
        response res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json; charset=utf-8");
        res.body() = std::string(openapi_json);
        co_return res;
    }
    for (const std::string_view prefix : id_prefixes) {
        if (!path.starts_with(prefix)) {
            continue;
        }
        auto id = id_after(path, prefix);
        if (!id) {
            co_return path.size() == prefix.size()
                ? error_response(http::status::not_found, "no such endpoint")
                : bad_request("malformed client id in the path");
        }
        if (prefix == "/client/") {
            if (get) {
                co_return co_await get_session(st, *id, true);
            }
            if (method == http::verb::delete_) {
                co_return co_await kick_client(st, *id, *query);
            }
            co_return method_not_allowed("GET, DELETE");
        }
        if (!get) {
            co_return method_not_allowed("GET");
        }
        if (prefix == "/session/") {
            co_return co_await get_session(st, *id, false);
        }
        co_return co_await list_subscriptions(st, *query, id);
    }
    co_return error_response(http::status::not_found, "no such endpoint");
}

} // namespace

response error_response(http::status status, std::string_view message) {
    return json_response(status, json::object{{"code", int(status)}, {"message", message}});
}

asio::awaitable<response> handle_request(const request& req, net::broker_state& state) {
    if (!authorized(req, state.config.http)) {
        auto res = error_response(http::status::unauthorized, "authentication required");
        res.set(http::field::www_authenticate, R"(Basic realm="coromq", charset="UTF-8")");
        co_return res;
    }
    co_return co_await route(req, state);
}

} // namespace coromq::rest
