#include <coromq/broker/config.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>

namespace coromq::broker {

listener_config listener_config::parse(const std::string& url) {
    listener_config l;
    const auto sep = url.find("://");
    if (sep == std::string::npos) {
        throw std::invalid_argument("listener '" + url + "': expected SCHEME://HOST:PORT");
    }
    l.scheme = url.substr(0, sep);
    if (l.scheme != "mqtt") {
        throw std::invalid_argument("listener '" + url + "': unsupported scheme '" + l.scheme +
                                    "' (supported: mqtt)");
    }
    std::string rest = url.substr(sep + 3);
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
        l.path = rest.substr(slash);
        rest.resize(slash);
    }
    // "[::1]:1883", "0.0.0.0:1883", ":1883" (all addresses, as Gmqtt writes it)
    std::string host;
    std::string port;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
            throw std::invalid_argument("listener '" + url + "': bad IPv6 address");
        }
        host = rest.substr(1, close - 1);
        port = rest.substr(close + 2);
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string::npos) {
            throw std::invalid_argument("listener '" + url + "': missing port");
        }
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    l.host = host.empty() ? "0.0.0.0" : host;
    in6_addr scratch{};
    if (inet_pton(AF_INET, l.host.c_str(), &scratch) != 1 &&
        inet_pton(AF_INET6, l.host.c_str(), &scratch) != 1) {
        throw std::invalid_argument("listener '" + url + "': '" + l.host +
                                    "' is not an IPv4 or IPv6 address");
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value > 65535 || port.empty()) {
        throw std::invalid_argument("listener '" + url + "': bad port '" + port + "'");
    }
    l.port = std::uint16_t(value);
    return l;
}

std::string listener_config::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + path;
}

} // namespace coromq::broker
