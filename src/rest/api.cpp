// Gmqtt's REST endpoints.
//
// A client of the public services API (include/coromq/broker/services.hpp), like any program
// embedding the broker: this file parses requests, calls the services and turns what they
// return into Gmqtt's JSON shapes. It never touches the router.
#include "api.hpp"

#include "http_util.hpp"
#include "openapi.hpp"

#include <coromq/broker/services.hpp>
#include <coromq/packet/codec.hpp>
#include <coromq/topic/topic.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <variant>

namespace coromq::rest {
namespace {

namespace json = boost::json;
using broker::service_status;
using broker::services;
using broker::session_info;
using broker::subscription_info;

/// Entries a page may hold at most (`per-page`); more is a 400, so one response stays small.
constexpr std::uint64_t max_per_page = 1000;

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

json::object client_json(const session_info& s) {
    json::object o;
    o["client_id"] = s.client_id;
    o["username"] = s.username.value_or(""); // Gmqtt: "" for none
    o["remote_addr"] = s.remote_address;
    o["clean_session"] = s.clean_session;
    o["keep_alive"] = s.keep_alive;
    o["connected_at"] = format_time(s.connected_at);
    return o;
}

json::object session_json(const session_info& s) {
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

json::object subscription_json(const subscription_info& s) {
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
    if (!packet::valid_utf8_string(t)) {
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
    if (!packet::valid_utf8_string(t)) {
        return "invalid topic filter: not a UTF-8 string of at most 65535 bytes without U+0000";
    }
    if (!topic::valid_filter(t)) {
        return "invalid topic filter: '#' must be the last level and '+' a whole level";
    }
    if (std::size_t(std::count(t.begin(), t.end(), '/')) + 1 > broker::max_filter_levels) {
        return "invalid topic filter: more than " + std::to_string(broker::max_filter_levels) +
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

template <class Item, class ToJson>
response page_response(const broker::page<Item>& p, page_query q, ToJson to_json) {
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
asio::awaitable<response> list_sessions(services& api, const fields& query, bool online_only) {
    auto pq = parse_page(query);
    if (auto* error = std::get_if<std::string>(&pq)) {
        co_return bad_request(*error);
    }
    const auto q = std::get<page_query>(pq);
    // offset < 2^32 * 1000: no overflow
    const auto page = co_await api.list_sessions(
        online_only, std::size_t((q.page - 1) * q.per_page), std::size_t(q.per_page));
    co_return page_response(page, q, online_only ? client_json : session_json);
}

/// GET /subscriptions and GET /subscriptions/:id.
asio::awaitable<response> list_subscriptions(services& api, const fields& query,
                                             std::optional<std::string> client_id) {
    auto pq = parse_page(query);
    if (auto* error = std::get_if<std::string>(&pq)) {
        co_return bad_request(*error);
    }
    const auto q = std::get<page_query>(pq);
    const auto page = co_await api.list_subscriptions(
        std::move(client_id), std::size_t((q.page - 1) * q.per_page), std::size_t(q.per_page));
    if (!page) {
        co_return error_response(http::status::not_found, "session not found");
    }
    co_return page_response(*page, q, subscription_json);
}

/// GET /client/:id (online only) and GET /session/:id.
asio::awaitable<response> get_session(services& api, std::string client_id, bool online_only) {
    const auto found = co_await api.find_session(std::move(client_id));
    if (!found || (online_only && !found->online)) {
        co_return error_response(http::status::not_found,
                                 online_only ? "client not found" : "session not found");
    }
    co_return json_response(http::status::ok,
                            online_only ? client_json(*found) : session_json(*found));
}

/// DELETE /client/:id[?drop_session=true]: answers once the connection has detached (bounded),
/// so that a GET right after the answer no longer shows the client.
asio::awaitable<response> kick_client(services& api, std::string client_id, const fields& query) {
    const auto drop = parse_bool(field(query, {"drop_session"}));
    if (!drop) {
        co_return bad_request("drop_session must be true or false");
    }
    if (co_await api.disconnect(std::move(client_id), *drop) == service_status::not_found) {
        co_return error_response(http::status::not_found, "client not found");
    }
    co_return ok_result();
}

/// What the POST endpoints share: the body's fields, `topic` checked by `check_topic` (a
/// topic name for /publish, a filter otherwise), and `qos` when `with_qos`.
struct post_request {
    fields body;
    std::string topic;
    packet::qos qos_level = packet::qos::at_most_once;
};

template <class CheckTopic>
std::variant<post_request, response> parse_post(const request& req, CheckTopic check_topic,
                                                bool with_qos) {
    auto body = body_fields(req);
    if (auto* error = std::get_if<response>(&body)) {
        return std::move(*error);
    }
    post_request r;
    r.body = std::move(std::get<fields>(body));
    if (with_qos) {
        const auto q = parse_qos(r.body);
        if (!q) {
            return bad_request("qos must be 0, 1 or 2");
        }
        r.qos_level = *q;
    }
    r.topic = std::string(field(r.body, {"topic"}).value_or(std::string_view{}));
    if (auto why = check_topic(r.topic)) {
        return bad_request(*why);
    }
    return r;
}

/// The client id field: Gmqtt documents `clientId`, its code reads `clientID`.
std::optional<std::string_view> client_id_field(const fields& f) {
    return field(f, {"clientId", "clientID", "client_id"});
}

/// POST /publish: qos, topic, payload, retain.
asio::awaitable<response> publish(services& api, const request& req) {
    auto parsed = parse_post(req, check_topic_name, true);
    if (auto* error = std::get_if<response>(&parsed)) {
        co_return std::move(*error);
    }
    auto& r = std::get<post_request>(parsed);
    const auto retain = parse_bool(field(r.body, {"retain"}));
    if (!retain) {
        co_return bad_request("retain must be true or false");
    }
    broker::message m;
    m.topic = std::move(r.topic);
    m.payload = std::string(field(r.body, {"payload"}).value_or(""));
    m.qos_level = r.qos_level;
    m.retain = *retain;
    co_await api.publish(std::move(m)); // the topic was checked: no throw
    co_return ok_result();
}

/// POST /subscribe (qos, topic as a filter, clientId) and POST /unsubscribe (topic, clientId).
asio::awaitable<response> subscribe(services& api, const request& req, bool unsubscribe) {
    auto parsed = parse_post(req, check_topic_filter, !unsubscribe);
    if (auto* error = std::get_if<response>(&parsed)) {
        co_return std::move(*error);
    }
    auto& r = std::get<post_request>(parsed);
    const auto client_id = client_id_field(r.body);
    if (!client_id || client_id->empty()) {
        co_return bad_request("clientId is required");
    }
    auto status = service_status::ok;
    if (unsubscribe) {
        status = co_await api.unsubscribe(std::string(*client_id), std::move(r.topic));
    } else {
        packet::subscription sub;
        sub.filter = std::move(r.topic);
        sub.max_qos = r.qos_level;
        status = co_await api.subscribe(std::string(*client_id), std::move(sub));
    }
    if (status == service_status::not_found) {
        co_return error_response(http::status::not_found, "session not found");
    }
    if (status == service_status::invalid_filter) {
        co_return bad_request("invalid topic filter");
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

asio::awaitable<response> route(const request& req, services& api) {
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
        co_return co_await list_sessions(api, *query, path == "/clients");
    }
    if (path == "/subscriptions") {
        if (!get) {
            co_return method_not_allowed("GET");
        }
        co_return co_await list_subscriptions(api, *query, std::nullopt);
    }
    if (path == "/publish" || path == "/subscribe" || path == "/unsubscribe") {
        if (!post) {
            co_return method_not_allowed("POST");
        }
        if (path == "/publish") {
            co_return co_await publish(api, req);
        }
        co_return co_await subscribe(api, req, path == "/unsubscribe");
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
                co_return co_await get_session(api, std::move(*id), true);
            }
            if (method == http::verb::delete_) {
                co_return co_await kick_client(api, std::move(*id), *query);
            }
            co_return method_not_allowed("GET, DELETE");
        }
        if (!get) {
            co_return method_not_allowed("GET");
        }
        if (prefix == "/session/") {
            co_return co_await get_session(api, std::move(*id), false);
        }
        co_return co_await list_subscriptions(api, *query, std::move(id));
    }
    co_return error_response(http::status::not_found, "no such endpoint");
}

} // namespace

response error_response(http::status status, std::string_view message) {
    return json_response(status, json::object{{"code", int(status)}, {"message", message}});
}

asio::awaitable<response> handle_request(const request& req, broker::services& api,
                                         const broker::http_config& config) {
    if (!authorized(req, config)) {
        auto res = error_response(http::status::unauthorized, "authentication required");
        res.set(http::field::www_authenticate, R"(Basic realm="coromq", charset="UTF-8")");
        co_return res;
    }
    co_return co_await route(req, api);
}

} // namespace coromq::rest
