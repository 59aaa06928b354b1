#include "mqtt_test_client.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <sstream>
#include <type_traits>

namespace coromq::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using packet::any_packet;
using packet::protocol_version;
using packet::qos;

std::string describe(const any_packet& p) {
    std::ostringstream o;
    o << packet::to_string(packet::type_of(p));
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, packet::connack>) {
                o << "{session_present=" << x.session_present << " code=" << int(x.code) << "}";
            } else if constexpr (std::is_same_v<T, packet::publish>) {
                o << "{dup=" << x.dup << " qos=" << int(x.qos_level) << " retain=" << x.retain
                  << " id=" << x.packet_id << " topic=" << x.topic() << " payload=" << x.payload()
                  << "}";
            } else if constexpr (std::is_base_of_v<packet::ack, T>) {
                o << "{id=" << x.packet_id << " reason=" << int(x.reason) << "}";
            } else if constexpr (std::is_same_v<T, packet::suback> ||
                                 std::is_same_v<T, packet::unsuback>) {
                o << "{id=" << x.packet_id << " codes=[";
                for (auto c : x.codes) {
                    o << " " << int(c);
                }
                o << " ]}";
            } else if constexpr (std::is_same_v<T, packet::disconnect>) {
                o << "{reason=" << int(x.reason) << "}";
            }
        },
        p);
    return o.str();
}

/// The Asio part: its own io_context, run only inside this client's calls.
struct mqtt_test_client::io {
    asio::io_context ioc;
    tcp::socket socket{ioc};
    std::array<std::uint8_t, 4096> buffer{};
};

mqtt_test_client::mqtt_test_client(std::uint16_t port, protocol_version version,
                                   const std::string& host)
    : io_(std::make_unique<io>())
    , version_(version) {
    io_->socket.connect(tcp::endpoint(asio::ip::make_address(host), port));
    io_->socket.set_option(tcp::no_delay(true));
}

mqtt_test_client::~mqtt_test_client() {
    if (io_) {
        close();
    }
}

mqtt_test_client::mqtt_test_client(mqtt_test_client&&) noexcept = default;
mqtt_test_client& mqtt_test_client::operator=(mqtt_test_client&&) noexcept = default;

void mqtt_test_client::send(const any_packet& p) {
    std::string bytes;
    if (const auto* c = std::get_if<packet::connect>(&p)) {
        packet::encode(*c, bytes);
    } else {
        packet::encode(p, version_, bytes);
    }
    send_bytes(bytes);
}

void mqtt_test_client::send_bytes(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(io_->socket, asio::buffer(bytes.data(), bytes.size()), ec);
}

std::optional<any_packet> mqtt_test_client::read_packet(clock::time_point deadline) {
    for (;;) {
        // A whole packet already here?
        auto header = packet::parse_fixed_header(in_, packet::max_remaining_length);
        if (!header) {
            throw test_client_error("broker sent a malformed fixed header: " +
                                    header.error().message());
        }
        if (*header && in_.size() >= (*header)->packet_size()) {
            const auto h = **header;
            const packet::bytes_view body =
                packet::bytes_view{in_}.subspan(h.size, h.remaining_length);
            auto p = packet::decode(h, body, version_);
            in_.erase(in_.begin(), in_.begin() + std::ptrdiff_t(h.packet_size()));
            if (!p) {
                throw test_client_error(std::string("broker sent a malformed ") +
                                        packet::to_string(h.type) + ": " + p.error().message());
            }
            return std::move(*p);
        }
        if (closed_ || clock::now() >= deadline) {
            return std::nullopt;
        }

        // Read more, bounded by the deadline: run the client's own io_context until the read
        // completes or the deadline passes, then cancel and collect the handler.
        auto& ioc = io_->ioc;
        ioc.restart();
        boost::system::error_code ec;
        std::size_t n = 0;
        bool done = false;
        io_->socket.async_read_some(asio::buffer(io_->buffer),
                                    [&](const boost::system::error_code& e, std::size_t k) {
                                        ec = e;
                                        n = k;
                                        done = true;
                                    });
        ioc.run_until(deadline);
        if (!done) {
            boost::system::error_code ignored;
            io_->socket.cancel(ignored);
            ioc.restart();
            ioc.run(); // the handler runs now, with data or operation_aborted
        }
        in_.insert(in_.end(), io_->buffer.begin(), io_->buffer.begin() + std::ptrdiff_t(n));
        if (ec && ec != asio::error::operation_aborted) {
            closed_ = true; // eof, reset: the broker closed the connection
        }
    }
}

std::optional<any_packet> mqtt_test_client::recv(milliseconds timeout) {
    if (!kept_.empty()) {
        auto p = std::move(kept_.front());
        kept_.pop_front();
        return p;
    }
    return read_packet(clock::now() + timeout);
}

bool mqtt_test_client::wait_closed(milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (!closed_) {
        auto p = read_packet(deadline);
        if (p) {
            kept_.push_back(std::move(*p));
        } else if (!closed_) {
            return false; // deadline
        }
    }
    return true;
}

void mqtt_test_client::close() {
    boost::system::error_code ignored;
    io_->socket.close(ignored);
}

template <class T>
T mqtt_test_client::wait_for(std::uint16_t id, milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
        auto p = read_packet(deadline);
        if (!p) {
            throw test_client_error(std::string("waiting for ") + name_of<T>() + " id " +
                                    std::to_string(id) + ": " +
                                    (closed_ ? "end of connection" : "timeout"));
        }
        if (auto* x = std::get_if<T>(&*p); x && x->packet_id == id) {
            return std::move(*x);
        }
        kept_.push_back(std::move(*p));
    }
}

template <class T>
T mqtt_test_client::wait_for(milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
        auto p = read_packet(deadline);
        if (!p) {
            throw test_client_error(std::string("waiting for ") + name_of<T>() + ": " +
                                    (closed_ ? "end of connection" : "timeout"));
        }
        if (auto* x = std::get_if<T>(&*p)) {
            return std::move(*x);
        }
        kept_.push_back(std::move(*p));
    }
}

packet::connack mqtt_test_client::connect(const packet::connect& c, milliseconds timeout) {
    send(c);
    auto p = read_packet(clock::now() + timeout);
    if (!p) {
        throw test_client_error(std::string("waiting for CONNACK: ") +
                                (closed_ ? "end of connection" : "timeout"));
    }
    if (!std::holds_alternative<packet::connack>(*p)) {
        throw test_client_error("expected CONNACK, got " + describe(*p));
    }
    return std::get<packet::connack>(std::move(*p));
}

packet::connack mqtt_test_client::connect(std::string client_id, bool clean,
                                          std::uint16_t keep_alive) {
    packet::connect c;
    c.version = version_;
    c.client_id = std::move(client_id);
    c.clean_start = clean;
    c.keep_alive = keep_alive;
    if (version_ == protocol_version::v5 && !clean) {
        c.props.push_back({packet::property_id::session_expiry_interval, 3600, {}, {}});
    }
    return connect(c);
}

std::uint16_t mqtt_test_client::next_packet_id() {
    const auto id = next_id_++;
    if (next_id_ == 0) {
        next_id_ = 1;
    }
    return id;
}

std::uint16_t mqtt_test_client::publish(std::string_view topic, std::string_view payload, qos q,
                                        bool retain, packet::properties props) {
    packet::publish p;
    p.qos_level = q;
    p.retain = retain;
    p.packet_id = q == qos::at_most_once ? 0 : next_packet_id();
    p.message = packet::message_buffer(topic, payload);
    p.props = std::move(props);
    send(p);
    if (q == qos::at_least_once) {
        wait_for<packet::puback>(p.packet_id, default_timeout);
    } else if (q == qos::exactly_once) {
        wait_for<packet::pubrec>(p.packet_id, default_timeout);
        send(packet::pubrel{{p.packet_id, packet::reason_code::success, {}}});
        wait_for<packet::pubcomp>(p.packet_id, default_timeout);
    }
    return p.packet_id;
}

packet::suback mqtt_test_client::subscribe(std::vector<packet::subscription> subs,
                                           packet::properties props) {
    packet::subscribe s;
    s.packet_id = next_packet_id();
    s.subscriptions = std::move(subs);
    s.props = std::move(props);
    send(s);
    return wait_for<packet::suback>(s.packet_id, default_timeout);
}

packet::suback mqtt_test_client::subscribe(std::string filter, qos q) {
    packet::subscription s;
    s.filter = std::move(filter);
    s.max_qos = q;
    return subscribe(std::vector<packet::subscription>{s});
}

packet::unsuback mqtt_test_client::unsubscribe(std::vector<std::string> filters) {
    packet::unsubscribe u;
    u.packet_id = next_packet_id();
    u.filters = std::move(filters);
    send(u);
    return wait_for<packet::unsuback>(u.packet_id, default_timeout);
}

void mqtt_test_client::ack(const packet::publish& p) {
    if (p.qos_level == qos::at_least_once) {
        send(packet::puback{{p.packet_id, packet::reason_code::success, {}}});
    } else if (p.qos_level == qos::exactly_once) {
        send(packet::pubrec{{p.packet_id, packet::reason_code::success, {}}});
        wait_for<packet::pubrel>(p.packet_id, default_timeout);
        send(packet::pubcomp{{p.packet_id, packet::reason_code::success, {}}});
    }
}

packet::publish mqtt_test_client::receive(milliseconds timeout) {
    auto p = expect<packet::publish>(timeout);
    ack(p);
    return p;
}

void mqtt_test_client::ping() {
    send(packet::pingreq{});
    wait_for<packet::pingresp>(default_timeout);
}

void mqtt_test_client::disconnect() {
    send(packet::disconnect{});
    close();
}

} // namespace coromq::test
