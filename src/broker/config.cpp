#include "config_parse.hpp"

#include <coromq/broker/config.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>
#include <tuple>

namespace coromq::broker {

std::pair<std::string, std::uint16_t> parse_host_port(const std::string& text,
                                                      const std::string& what) {
    // "[::1]:1883", "0.0.0.0:1883", ":1883" (all IPv4 addresses, as Gmqtt writes it)
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            throw std::invalid_argument(what + ": bad IPv6 address");
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            throw std::invalid_argument(what + ": missing port");
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty()) {
        host = "0.0.0.0";
    }
    in6_addr scratch{};
    if (inet_pton(AF_INET, host.c_str(), &scratch) != 1 &&
        inet_pton(AF_INET6, host.c_str(), &scratch) != 1) {
        throw std::invalid_argument(what + ": '" + host + "' is not an IPv4 or IPv6 address");
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
        throw std::invalid_argument(what + ": bad port '" + port + "'");
    }
    return {host, std::uint16_t(value)};
}

bool parse_bool(const std::string& text, const std::string& what) {
    if (text == "true" || text == "1" || text == "yes" || text == "on") {
        return true;
    }
    if (text == "false" || text == "0" || text == "no" || text == "off") {
        return false;
    }
    throw std::invalid_argument(what + ": '" + text + "' is not a boolean (true/false)");
}

listener_config listener_config::parse(const std::string& url) {
    const std::string what = "listener '" + url + "'";
    listener_config l;
    const auto sep = url.find("://");
    if (sep == std::string::npos) {
        throw std::invalid_argument(what + ": expected SCHEME://HOST:PORT");
    }
    l.scheme = url.substr(0, sep);
    if (l.scheme != "mqtt" && l.scheme != "mqtts" && l.scheme != "ws" && l.scheme != "wss") {
        throw std::invalid_argument(what + ": unsupported scheme '" + l.scheme +
                                    "' (supported: mqtt, mqtts, ws, wss)");
    }
    std::string rest = url.substr(sep + 3);
    std::string query;
    if (const auto q = rest.find('?'); q != std::string::npos) {
        query = rest.substr(q + 1);
        rest.resize(q);
    }
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
        l.path = rest.substr(slash);
        rest.resize(slash);
    }
    if (!l.path.empty() && !l.uses_websocket()) {
        throw std::invalid_argument(what + ": only ws:// and wss:// listeners take a path");
    }
    if (l.uses_websocket() && l.path.empty()) {
        l.path = "/mqtt";
    }
    std::tie(l.host, l.port) = parse_host_port(rest, what);

    // TLS options as a query: certfile=F&keyfile=F&cafile=F&require_client_cert=B&cn_as_username=B
    std::size_t pos = 0;
    while (pos < query.size()) {
        auto amp = query.find('&', pos);
        if (amp == std::string::npos) {
            amp = query.size();
        }
        const std::string item = query.substr(pos, amp - pos);
        pos = amp + 1;
        if (item.empty()) {
            continue;
        }
        const auto eq = item.find('=');
        const std::string key = item.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
        if (!l.uses_tls()) {
            throw std::invalid_argument(what + ": option '" + key +
                                        "' needs a TLS listener (mqtts, wss)");
        }
        if (key == "certfile") {
            l.tls.certfile = value;
        } else if (key == "keyfile") {
            l.tls.keyfile = value;
        } else if (key == "cafile") {
            l.tls.cafile = value;
        } else if (key == "require_client_cert") {
            l.tls.require_client_cert = parse_bool(value, what + " require_client_cert");
            l.require_client_cert_given = true;
        } else if (key == "cn_as_username") {
            l.tls.cn_as_username = parse_bool(value, what + " cn_as_username");
            l.cn_as_username_given = true;
        } else {
            throw std::invalid_argument(what + ": unknown option '" + key +
                                        "' (certfile, keyfile, cafile, require_client_cert, "
                                        "cn_as_username)");
        }
    }
    return l;
}

std::string listener_config::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + path;
}

} // namespace coromq::broker
