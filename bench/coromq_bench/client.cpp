#include "client.hpp"
#include "worker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl.hpp> // WebSocket over ssl::stream
#include <boost/beast/websocket/stream.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <variant>

namespace coromq::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;

// No permessage-deflate (the `false`): the broker does not offer it, and the code is smaller.
using tls_stream = ssl::stream<tcp::socket>;
using ws_stream = websocket::stream<tcp::socket, false>;
using wss_stream = websocket::stream<tls_stream, false>;

struct layered_stream {
    template <class Stream, class... Args>
    explicit layered_stream(std::in_place_type_t<Stream> kind, Args&&... args)
        : stream(kind, std::forward<Args>(args)...) {}

    std::variant<tls_stream, ws_stream, wss_stream> stream;
};

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using boost::system::error_code;
using packet::packet_type;

/// Frames the broker sends us are small except PUBLISH; a payload up to 64 MiB fits.
constexpr std::uint32_t max_packet_size = 64 * 1024 * 1024 + 64 * 1024;
/// A publisher stops filling its output buffer above this many bytes until a write completes:
/// TCP's back-pressure reaches the publish loop, and a QoS 0 flood cannot grow without bound.
constexpr std::size_t out_high_water = 64 * 1024;
/// Messages one publisher encodes before it lets the other connections of its thread run.
constexpr std::uint64_t max_batch = 64;
constexpr std::uint64_t connack_timeout_ns = 15'000'000'000;

/// An acknowledgement packet (PUBACK, PUBREC, PUBREL, PUBCOMP) with success and no properties.
template <class Ack>
Ack ack_for(std::uint16_t id) {
    Ack a;
    a.packet_id = id;
    return a;
}

/// Filler after the stamp: the same bytes every time, appended without a per-message fill.
const std::string& filler(std::size_t n) {
    static std::string bytes;
    if (bytes.size() < n) {
        bytes.assign(n, 'x');
    }
    return bytes;
}

} // namespace

asio::awaitable<void> event::wait() {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) { handler_.emplace(std::move(handler)); }, asio::use_awaitable);
}

void event::notify() {
    if (!handler_) {
        return;
    }
    auto handler = std::move(*handler_);
    handler_.reset();
    asio::post(executor_, std::move(handler));
}

asio::mutable_buffer input_buffer::prepare(std::size_t want) {
    constexpr std::size_t initial = 256;
    if (begin_ > 0 && (end_ == storage_.size() || storage_.size() - begin_ < want)) {
        std::copy(storage_.begin() + std::ptrdiff_t(begin_),
                  storage_.begin() + std::ptrdiff_t(end_), storage_.begin());
        end_ -= begin_;
        begin_ = 0;
    }
    if (end_ == storage_.size() || storage_.size() < want) {
        storage_.resize(std::max({initial, storage_.size() * 2, want}));
    }
    return {storage_.data() + end_, storage_.size() - end_};
}

client::client(worker& w, role r, std::uint32_t index)
    : w_(w)
    , role_(r)
    , index_(index)
    , socket_(w.io())
    , wake_(w.io().get_executor()) {}

client::~client() = default;

tcp::socket& client::lowest_layer() noexcept {
    if (!layered_) {
        return socket_;
    }
    return std::visit([](auto& s) -> tcp::socket& { return beast::get_lowest_layer(s); },
                      layered_->stream);
}

asio::awaitable<void> client::connect(tcp::endpoint broker, const asio::ip::address* source) {
    state_ = state::connecting;
    started_ns_ = now_ns();
    error_code ec;
    socket_.open(broker.protocol(), ec);
    if (!ec && source) {
        // Many source addresses lift the ~28,000 ephemeral ports of one address pair; the port
        // is chosen at connect time, so the same port can serve every source address.
        const int one = 1;
        ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                     sizeof one);
        socket_.bind(tcp::endpoint(*source, 0), ec);
    }
    if (!ec) {
        std::tie(ec) = co_await socket_.async_connect(broker, use_tuple);
    }
    if (ec) {
        fail("connect: " + ec.message());
        co_return;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    if (w_.opt.transport != transport_kind::tcp) {
        const auto failed = co_await handshake();
        if (!failed.empty()) {
            fail(failed);
            co_return;
        }
    }
    packet::connect c;
    c.version = w_.version;
    c.clean_start = true;
    c.keep_alive = std::uint16_t(std::min(w_.opt.keepalive, 65535u));
    c.client_id = client_id;
    packet::encode(c, out_);
    kick();
    const auto ex = w_.io().get_executor();
    switch (w_.opt.transport) {
    case transport_kind::tcp:
        asio::co_spawn(ex, read_loop(socket_), log_exception);
        break;
    case transport_kind::tls:
        asio::co_spawn(ex, read_loop(std::get<tls_stream>(layered_->stream)), log_exception);
        break;
    case transport_kind::ws:
        asio::co_spawn(ex, read_loop(std::get<ws_stream>(layered_->stream)), log_exception);
        break;
    case transport_kind::wss:
        asio::co_spawn(ex, read_loop(std::get<wss_stream>(layered_->stream)), log_exception);
        break;
    }
    while (state_ == state::connecting) {
        co_await wake_.wait();
    }
}

namespace {

/// TLS client handshake; "" or what failed.
asio::awaitable<std::string> tls_handshake(tls_stream& s, const options& o) {
    if (!o.cafile.empty()) {
        // The context verifies the chain against --cafile; this checks that the certificate
        // names the address we connected to (an IP SAN for an IP literal).
        s.set_verify_callback(ssl::host_name_verification(o.host));
    }
    auto [ec] = co_await s.async_handshake(ssl::stream_base::client, use_tuple);
    co_return ec ? "TLS handshake: " + ec.message() : std::string();
}

/// WebSocket upgrade asking for the subprotocol `mqtt`; "" or what failed. MQTT then goes in
/// binary messages, one per write, unfragmented.
template <class Stream>
asio::awaitable<std::string> websocket_handshake(websocket::stream<Stream, false>& ws,
                                                 const options& o) {
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(beast::http::field::sec_websocket_protocol, "mqtt");
    }));
    ws.binary(true);
    ws.auto_fragment(false);
    ws.read_message_max(0); // no limit: frames are checked by the MQTT parser
    websocket::response_type response;
    const std::string host = o.host.find(':') != std::string::npos
                                 ? "[" + o.host + "]:" + std::to_string(o.port)
                                 : o.host + ":" + std::to_string(o.port);
    auto [ec] = co_await ws.async_handshake(response, host, o.ws_path, use_tuple);
    if (ec) {
        co_return "WebSocket upgrade: " + ec.message();
    }
    if (response[beast::http::field::sec_websocket_protocol] != "mqtt") {
        co_return "WebSocket upgrade: the broker did not accept the subprotocol mqtt";
    }
    co_return std::string();
}

} // namespace

asio::awaitable<std::string> client::handshake() {
    const auto& o = w_.opt;
    switch (o.transport) {
    case transport_kind::tcp:
        break;
    case transport_kind::tls: {
        layered_ = std::make_unique<layered_stream>(std::in_place_type<tls_stream>,
                                                    std::move(socket_), *w_.tls_context());
        auto& s = std::get<tls_stream>(layered_->stream);
        auto failed = co_await tls_handshake(s, o);
        co_return failed;
    }
    case transport_kind::ws: {
        layered_ =
            std::make_unique<layered_stream>(std::in_place_type<ws_stream>, std::move(socket_));
        auto& ws = std::get<ws_stream>(layered_->stream);
        auto failed = co_await websocket_handshake(ws, o);
        co_return failed;
    }
    case transport_kind::wss: {
        layered_ = std::make_unique<layered_stream>(std::in_place_type<wss_stream>,
                                                    std::move(socket_), *w_.tls_context());
        auto& ws = std::get<wss_stream>(layered_->stream);
        auto failed = co_await tls_handshake(ws.next_layer(), o);
        if (failed.empty()) {
            failed = co_await websocket_handshake(ws, o);
        }
        co_return failed;
    }
    }
    co_return std::string();
}

asio::awaitable<void> client::subscribe() {
    if (state_ != state::connected) {
        co_return;
    }
    packet::subscribe s;
    s.packet_id = 1;
    packet::subscription sub;
    sub.filter = topic;
    sub.max_qos = packet::qos(w_.opt.qos);
    s.subscriptions.push_back(std::move(sub));
    packet::encode(s, w_.version, out_);
    awaiting_suback_ = true;
    kick();
    while (awaiting_suback_ && state_ == state::connected) {
        co_await wake_.wait();
    }
    if (awaiting_suback_) {
        awaiting_suback_ = false;
        w_.counters.subscribe_failed.add(); // the connection ended first
    }
}

void client::prepare_publish() {
    // The encoded PUBLISH header is the same for every message of this publisher but for the
    // packet id: encode it once with the codec and patch the id in place per message.
    packet::publish p;
    p.qos_level = packet::qos(w_.opt.qos);
    p.packet_id = p.qos_level == packet::qos::at_most_once ? 0 : 0x1234;
    p.message = packet::message_buffer(topic, std::string(w_.opt.size, 'x'));
    publish_header_.clear();
    packet::encode_publish_header(p, w_.version, publish_header_);
    if (p.packet_id != 0) {
        // 3.1.1: the id ends the header; 5.0: a zero property length follows it.
        packet_id_offset_ =
            publish_header_.size() - 2 - (w_.version == packet::protocol_version::v5 ? 1 : 0);
        if (std::uint8_t(publish_header_[packet_id_offset_]) != 0x12 ||
            std::uint8_t(publish_header_[packet_id_offset_ + 1]) != 0x34) {
            throw std::logic_error("unexpected PUBLISH header layout");
        }
        in_flight_.assign(65536, false);
    }
}

std::uint16_t client::next_packet_id() {
    for (;;) {
        last_packet_id_ = std::uint16_t(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
        if (!in_flight_[last_packet_id_]) {
            return last_packet_id_;
        }
    }
}

void client::emit(std::uint64_t stamp_ns) {
    const std::size_t base = out_.size();
    out_.append(publish_header_);
    if (!in_flight_.empty()) {
        const auto id = next_packet_id();
        out_[base + packet_id_offset_] = char(id >> 8);
        out_[base + packet_id_offset_ + 1] = char(id & 0xff);
        in_flight_[id] = true;
        ++in_flight_count_;
    }
    char stamp_bytes[stamp_size];
    write_stamp(stamp_bytes, stamp{publisher_id, std::uint32_t(sent_), stamp_ns});
    out_.append(stamp_bytes, stamp_size);
    out_.append(filler(w_.opt.size - stamp_size).data(), w_.opt.size - stamp_size);
    ++sent_;
}

asio::awaitable<void> client::publish_loop(std::uint64_t count, double rate,
                                           std::uint64_t start_ns) {
    prepare_publish();
    const auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    rate_timer_ = &timer;
    const double interval_ns = rate > 0 ? 1e9 / rate : 0;
    const std::uint64_t window = w_.opt.qos > 0 ? w_.opt.inflight : ~std::uint64_t{0};
    for (;;) {
        if (state_ != state::connected || w_.publishing_stopped() || (count && sent_ >= count)) {
            break;
        }
        std::uint64_t can = std::min<std::uint64_t>(max_batch, window - in_flight_count_);
        if (count) {
            can = std::min(can, count - sent_);
        }
        if (out_.size() >= out_high_water) {
            can = 0;
        }
        if (can > 0 && interval_ns > 0) {
            const auto now = now_ns();
            const auto due =
                now >= start_ns ? std::uint64_t(double(now - start_ns) / interval_ns) + 1 : 0;
            if (due <= sent_) {
                const auto at = start_ns + std::uint64_t(double(sent_) * interval_ns);
                timer.expires_at(steady::time_point(std::chrono::nanoseconds(at)));
                co_await timer.async_wait(use_tuple);
                continue;
            }
            can = std::min(can, due - sent_);
        }
        if (can == 0) {
            publisher_waiting_ = true;
            co_await wake_.wait(); // an acknowledgement, a finished write or the stop
            publisher_waiting_ = false;
            continue;
        }
        const auto stamp_ns = now_ns(); // one clock read per batch
        for (std::uint64_t i = 0; i < can; ++i) {
            emit(stamp_ns);
        }
        w_.counters.published.add(can);
        kick();
        co_await asio::post(ex, asio::use_awaitable); // let the thread's other connections run
    }
    // QoS 1/2: the run is over for this publisher once its window has emptied.
    while (in_flight_count_ > 0 && state_ == state::connected && !w_.closing()) {
        publisher_waiting_ = true;
        co_await wake_.wait();
        publisher_waiting_ = false;
    }
    rate_timer_ = nullptr;
    w_.counters.publishers_done.add();
}

void client::interrupt() {
    if (rate_timer_) {
        rate_timer_->cancel();
    }
    wake_.notify();
}

template <class Stream>
asio::awaitable<void> client::read_loop(Stream& stream) {
    std::size_t want = 0; // the size of a frame whose header has arrived but not its body
    for (;;) {
        auto space = in_.prepare(want);
        // A WebSocket read returns bytes of binary messages: MQTT is a byte stream in them.
        auto [ec, n] = co_await stream.async_read_some(space, use_tuple);
        if (ec) {
            if (state_ == state::closing || state_ == state::closed) {
                finish_close();
            } else {
                fail(ec == asio::error::eof ? "closed by the broker" : "read: " + ec.message());
            }
            co_return;
        }
        in_.commit(n);
        if (!on_read(want)) {
            co_return;
        }
        kick(); // acknowledgements of everything this read brought, in one write
    }
}

bool client::on_read(std::size_t& want) {
    const auto now = now_ns(); // one clock read per read: these bytes arrived together
    for (;;) {
        auto header = packet::parse_fixed_header(in_.data(), max_packet_size);
        if (!header) {
            fail(std::string("protocol error from broker: ") +
                 packet::to_string(packet::errc(header.error().value())));
            return false;
        }
        if (!*header || in_.data().size() < (*header)->packet_size()) {
            want = *header ? (*header)->packet_size() : 0;
            return true;
        }
        const auto h = **header;
        if (!on_frame(h, in_.data().subspan(h.size, h.remaining_length), now)) {
            return false;
        }
        in_.consume(h.packet_size());
    }
}

bool client::on_frame(const packet::fixed_header& h, packet::bytes_view body, std::uint64_t now) {
    auto decoded = packet::decode(h, body, w_.version);
    if (!decoded) {
        fail(std::string("undecodable ") + packet::to_string(h.type) +
             " from broker: " + packet::to_string(packet::errc(decoded.error().value())));
        return false;
    }
    switch (h.type) {
    case packet_type::publish:
        on_publish(std::get<packet::publish>(*decoded), now);
        return true;
    case packet_type::puback:
        on_ack(h.type, std::get<packet::puback>(*decoded).packet_id);
        return true;
    case packet_type::pubrec:
        on_ack(h.type, std::get<packet::pubrec>(*decoded).packet_id);
        return true;
    case packet_type::pubcomp:
        on_ack(h.type, std::get<packet::pubcomp>(*decoded).packet_id);
        return true;
    case packet_type::pubrel: {
        const auto id = std::get<packet::pubrel>(*decoded).packet_id;
        if (!awaiting_pubrel_.empty()) {
            awaiting_pubrel_[id] = false;
        }
        packet::encode(ack_for<packet::pubcomp>(id), w_.version, out_);
        return true;
    }
    case packet_type::connack: {
        const auto& c = std::get<packet::connack>(*decoded);
        if (state_ != state::connecting) {
            fail("unexpected CONNACK");
            return false;
        }
        if (c.code != 0) {
            fail("CONNACK refused, code " + std::to_string(c.code));
            return false;
        }
        state_ = state::connected;
        w_.counters.connected.add();
        w_.connect_time.record(now - started_ns_);
        wake_.notify();
        return true;
    }
    case packet_type::suback: {
        const auto& s = std::get<packet::suback>(*decoded);
        const bool ok = !s.codes.empty() && std::uint8_t(s.codes.front()) < 0x80;
        (ok ? w_.counters.subscribed : w_.counters.subscribe_failed).add();
        if (!ok) {
            w_.note_error("SUBSCRIBE to '" + topic + "' refused");
        }
        awaiting_suback_ = false;
        wake_.notify();
        return true;
    }
    case packet_type::pingresp:
        return true;
    case packet_type::disconnect:
        fail("DISCONNECT from broker");
        return false;
    default:
        fail(std::string("unexpected ") + packet::to_string(h.type) + " from broker");
        return false;
    }
}

void client::on_publish(const packet::publish& p, std::uint64_t now) {
    if (p.qos_level == packet::qos::exactly_once) {
        // [MQTT-4.3.3] a repeat before PUBREL is the same message, resent with DUP set
        // [MQTT-3.3.1-1]: acknowledge it again without delivering it twice. Without DUP it is a
        // new message on an id whose flow has not finished, which the broker may not send
        // [MQTT-2.3.1-2]: count the violation and deliver it (the sequence check then tells a
        // real duplicate from a new message).
        if (awaiting_pubrel_.empty()) {
            awaiting_pubrel_.assign(65536, false);
        }
        packet::encode(ack_for<packet::pubrec>(p.packet_id), w_.version, out_);
        if (awaiting_pubrel_[p.packet_id]) {
            if (p.dup) {
                ++qos2_resends_;
                return;
            }
            ++qos2_id_reuses_;
        }
        awaiting_pubrel_[p.packet_id] = true;
    } else if (p.qos_level == packet::qos::at_least_once) {
        packet::encode(ack_for<packet::puback>(p.packet_id), w_.version, out_);
    }
    w_.counters.received.add();
    w_.counters.last_delivery_ns.store(now, std::memory_order_relaxed);
    stamp s;
    if (!read_stamp(p.payload(), s)) {
        ++unstamped_;
        return;
    }
    if (!last_check_ || s.publisher != last_publisher_) {
        last_publisher_ = s.publisher;
        last_check_ = &checks_[s.publisher];
    }
    last_check_->on(s.sequence);
    if (now >= s.sent_ns) {
        w_.latency.record(now - s.sent_ns);
    }
}

void client::on_ack(packet::packet_type type, std::uint16_t id) {
    if (in_flight_.empty() || !in_flight_[id]) {
        w_.note_error(std::string("unexpected ") + packet::to_string(type) + " for packet id " +
                      std::to_string(id));
        return;
    }
    if (type == packet_type::pubrec) {
        packet::encode(ack_for<packet::pubrel>(id), w_.version, out_); // the id stays in flight
        return;
    }
    in_flight_[id] = false;
    --in_flight_count_;
    w_.counters.completed.add();
    if (publisher_waiting_) {
        wake_.notify();
    }
}

void client::kick() {
    if (writing_ || out_.empty() || state_ == state::closed || state_ == state::idle) {
        return;
    }
    writing_ = true;
    std::swap(out_, writing_buffer_);
    out_.clear();
    last_write_ns_ = now_ns();
    auto done = [this](const error_code& ec, std::size_t) { on_written(ec); };
    const auto bytes = asio::buffer(writing_buffer_);
    switch (w_.opt.transport) {
    case transport_kind::tcp:
        asio::async_write(socket_, bytes, std::move(done));
        break;
    case transport_kind::tls:
        asio::async_write(std::get<tls_stream>(layered_->stream), bytes, std::move(done));
        break;
    case transport_kind::ws: // one binary message per batch
        std::get<ws_stream>(layered_->stream).async_write(bytes, std::move(done));
        break;
    case transport_kind::wss:
        std::get<wss_stream>(layered_->stream).async_write(bytes, std::move(done));
        break;
    }
}

void client::on_written(const error_code& ec) {
    writing_ = false;
    writing_buffer_.clear();
    if (ec) {
        if (state_ == state::closing) {
            finish_close();
        } else if (state_ != state::closed) {
            fail("write: " + ec.message());
        }
        return;
    }
    if (!out_.empty()) {
        kick();
    } else if (state_ == state::closing) {
        // The broker closes after DISCONNECT and the read ends; no TLS close_notify or
        // WebSocket close frame is needed for that.
        error_code ignored;
        lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
    }
    if (publisher_waiting_ && out_.size() < out_high_water) {
        wake_.notify();
    }
}

void client::fail(const std::string& why) {
    if (state_ == state::closed) {
        return;
    }
    if (state_ == state::connecting) {
        w_.counters.connect_failed.add();
    } else if (state_ == state::connected) {
        w_.counters.lost_connections.add();
    }
    w_.note_error(why);
    finish_close();
}

void client::finish_close() {
    if (state_ == state::closed) {
        return;
    }
    state_ = state::closed;
    error_code ignored;
    lowest_layer().close(ignored);
    w_.counters.closed.add();
    if (rate_timer_) {
        rate_timer_->cancel();
    }
    wake_.notify();
}

void client::close() {
    if (state_ == state::connected) {
        state_ = state::closing;
        packet::encode(packet::disconnect{}, w_.version, out_);
        kick();
    } else if (state_ != state::closing) {
        finish_close();
    }
}

void client::tick(std::uint64_t now) {
    if (state_ == state::connecting && now - started_ns_ > connack_timeout_ns) {
        fail("no CONNACK within 15 s");
        return;
    }
    const auto keepalive_ns = std::uint64_t(w_.opt.keepalive) * 1'000'000'000;
    if (state_ == state::connected && keepalive_ns && now - last_write_ns_ > keepalive_ns / 2) {
        packet::encode(packet::pingreq{}, w_.version, out_);
        kick();
    }
}

} // namespace coromq::bench
