// One client connection: read CONNECT under a deadline, attach to the router, then read
// until the connection ends (the reader is the connection's coroutine; the writer and the
// keep-alive watchdog are callbacks on its link), then detach. Written once for every
// transport: included only by the connection_*.cpp files that instantiate it.
//
// Ownership and lifetimes: the coroutine owns the socket; the router's session holds the
// client link (outbox) while the connection is attached; closures posted to the router
// strand hold the session and the link by shared_ptr, so neither dies under them.
#pragma once

#include "connection.hpp"
#include "transport.hpp"

#include "../broker/log.hpp"

#include <coromq/packet/codec.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <variant>

namespace coromq::net {
namespace detail {

using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;
using wall = std::chrono::system_clock;
using boost::system::error_code;
using packet::errc;
using packet::protocol_version;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// write_buffers (transport.hpp) with any completion token: completes with
/// (error_code, std::size_t).
template <class Stream, class Token>
auto async_write_buffers(Stream& stream, const std::vector<asio::const_buffer>& buffers,
                         Token&& token) {
    if constexpr (is_websocket<Stream>::value) {
        return stream.async_write(buffers, std::forward<Token>(token));
    } else {
        return asio::async_write(stream, buffers, std::forward<Token>(token));
    }
}

/// Received bytes. Frames are parsed in place; the buffer grows only as bytes actually
/// arrive (at most doubling), never to a length a peer merely declares.
class input_buffer {
public:
    packet::bytes_view data() const noexcept { return {storage_.get() + begin_, end_ - begin_}; }
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) {
            begin_ = end_ = 0;
        }
    }
    /// Room to read into, making sure there is some and that `want` bytes could eventually fit.
    asio::mutable_buffer prepare(std::size_t want) {
        if (begin_ > 0 && (end_ == size_ || size_ - begin_ < want)) {
            std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (end_ == size_) {
            // Doubling only when full, from initial_size: bounded by what arrived, never by a
            // declared length, and large enough to take several packets per read. Storage
            // given back comes again at the size it had (up to reuse_limit): a connection
            // that gets one 4 KiB packet per wake-up does not grow 1 -> 2 -> 4 -> 8 KiB,
            // copying, for each of them.
            const std::size_t grown =
                size_ == 0 ? std::max<std::size_t>(initial_size, last_size_) : size_ * 2;
            std::unique_ptr<std::uint8_t[]> bigger(new std::uint8_t[grown]);
            if (end_ > 0) {
                std::memcpy(bigger.get(), storage_.get(), end_);
            }
            storage_ = std::move(bigger);
            size_ = grown;
        }
        return {storage_.get() + end_, size_ - end_};
    }
    void commit(std::size_t n) noexcept { end_ += n; }
    /// Gives the storage back when nothing is buffered (before waiting on an idle socket).
    void release_if_empty() {
        if (begin_ == end_ && storage_) {
            last_size_ = std::uint32_t(std::min(size_, reuse_limit));
            storage_.reset();
            size_ = begin_ = end_ = 0;
        }
    }

private:
    static constexpr std::size_t initial_size = 1024;
    static constexpr std::size_t reuse_limit = 16 * 1024;
    std::unique_ptr<std::uint8_t[]> storage_;
    std::size_t size_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::uint32_t last_size_ = 0; ///< the size of the storage last given back
};

struct frame {
    packet::fixed_header header;
    packet::bytes_view body; ///< valid until the next read_frame
};

/// The next complete packet already in `in` (after consuming the `consumed` bytes of the
/// previous one), or nullopt with `want` set to how many bytes would make progress.
inline packet::result<std::optional<frame>> next_frame(input_buffer& in, std::size_t& consumed,
                                                       std::uint32_t max_size, std::size_t& want) {
    in.consume(consumed);
    consumed = 0;
    auto header = packet::parse_fixed_header(in.data(), max_size);
    if (!header) {
        return header.error();
    }
    if (*header && in.data().size() >= (*header)->packet_size()) {
        const auto& h = **header;
        consumed = h.packet_size();
        return std::optional<frame>(frame{h, in.data().subspan(h.size, h.remaining_length)});
    }
    want = *header ? (*header)->packet_size() : in.data().size() + 1;
    return std::optional<frame>();
}

/// Reads the next complete packet. Errors are network errors or codec framing errors. The
/// socket waits are bound to `slot`, which is cleared after each of them; none starts once
/// `stopped` is set (a cancellation emitted while a completion was queued would be lost).
template <class Stream>
asio::awaitable<packet::result<frame>>
read_frame(Stream& stream, input_buffer& in, std::size_t& consumed, std::uint32_t max_size,
           asio::cancellation_slot slot, const bool& stopped) {
    for (;;) {
        std::size_t want = 0;
        auto f = next_frame(in, consumed, max_size, want);
        if (!f) {
            co_return f.error();
        }
        if (*f) {
            co_return **f;
        }
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            if (in.data().empty() && !stopped) {
                // An idle connection waits without a buffer: readiness first, then read.
                // (Only plain TCP: TLS and WebSocket streams buffer data the socket no longer
                // shows.)
                in.release_if_empty();
                auto [wait_ec] = co_await stream.async_wait(
                    tcp::socket::wait_read, asio::bind_cancellation_slot(slot, use_tuple));
                slot.clear();
                if (wait_ec) {
                    co_return wait_ec;
                }
            }
        }
        if (stopped) {
            co_return error_code(asio::error::operation_aborted);
        }
        auto space = in.prepare(want);
        auto [ec, n] =
            co_await stream.async_read_some(space, asio::bind_cancellation_slot(slot, use_tuple));
        slot.clear();
        if (ec) {
            co_return ec;
        }
        if constexpr (is_websocket<Stream>::value) {
            if (stream.got_text()) {
                // [MQTT-6.0.0-1] MQTT travels in binary frames; a text frame closes.
                co_return boost::system::errc::make_error_code(boost::system::errc::protocol_error);
            }
        }
        in.commit(n);
    }
}

class connection_link;

/// Everything a connection's reader, writer and watchdog share; lives in serve_connection's
/// frame.
struct connection_context {
    std::shared_ptr<broker_state> state;
    std::shared_ptr<connection_link> link;
    std::shared_ptr<broker::session> session;
    /// The client as the hooks see it; set once CONNECT is read.
    std::shared_ptr<const broker::client_info> client;
    protocol_version version = protocol_version::v3_1_1;
    steady::time_point deadline = steady::time_point::max();
    /// Once the router closes the link, the writer gets this long to flush; a client that
    /// does not read cannot hold a take-over or a server stop hostage.
    steady::time_point flush_deadline = steady::time_point::max();
    std::chrono::milliseconds keep_alive_window{0};
    /// The watchdog's timer: cancelling it makes the watchdog look at the deadlines again.
    asio::steady_timer* watchdog_timer = nullptr;
    /// Closes the transport under a loop that cancellation cannot reach (a WebSocket read
    /// waiting for the peer to finish a close handshake); set for WebSocket streams only.
    std::function<void()> abort_transport;
    /// Wakes a read loop paused because the client does not read what it is sent.
    asio::steady_timer* drained = nullptr;
    bool clean_disconnect = false;
    /// Plain TCP: the next wait for bytes parks the connection without a coroutine (see
    /// quiet_wait). The first wait after CONNECT parks.
    bool park_when_idle = true;
    steady::time_point parked_at{};
    /// Router tasks handed over since the reader last waited for the router (read_loop).
    std::uint16_t posted_since_barrier = 0;
    std::string end_reason;

    /// The first reason given is the one logged (a cancelled loop reports "aborted" later).
    void end(std::string reason) {
        if (end_reason.empty()) {
            end_reason = std::move(reason);
        }
    }
    steady::time_point next_deadline() const { return std::min(deadline, flush_deadline); }
};

inline constexpr auto flush_grace = std::chrono::seconds(2);
/// A plain TCP connection whose last wait for bytes lasted this long is quiet: its next wait
/// parks it without a coroutine (park_tcp), which is ~1.4 KB less per idle connection. One
/// that is woken sooner is busy: it waits inside its reader coroutine, since starting a
/// coroutine for every wake-up would cost more CPU per message than the wait saves.
inline constexpr auto quiet_wait = std::chrono::seconds(1);
/// Packets waiting in a client's outbox beyond which its reader stops reading: a client that
/// sends requests (PINGREQ, QoS 1 PUBLISH...) without reading the answers is slowed to the
/// pace it reads at, instead of growing the broker.
inline constexpr std::size_t outbox_high_water = 1024;

/// The 5.0 reason code a codec error is reported with (DISCONNECT before closing).
inline packet::reason_code reason_for(errc e) {
    switch (e) {
    case errc::packet_too_large:
        return packet::reason_code::packet_too_large;
    case errc::topic_name_wildcard:
    case errc::topic_name_empty:
        return packet::reason_code::topic_name_invalid;
    case errc::invalid_topic_filter:
        return packet::reason_code::topic_filter_invalid;
    case errc::invalid_fixed_header_flags:
    case errc::invalid_qos:
    case errc::dup_with_qos0:
    case errc::reserved_packet_type:
        return packet::reason_code::protocol_error;
    default:
        return packet::reason_code::malformed_packet;
    }
}

inline std::string describe(const error_code& ec) {
    if (ec == asio::error::eof || ec == boost::beast::websocket::error::closed ||
        ec == asio::ssl::error::stream_truncated) {
        return "connection closed by peer";
    }
    if (ec.category() == packet::category()) {
        return std::string("protocol error: ") + packet::to_string(errc(ec.value()));
    }
    return "network error: " + ec.message();
}

/// The network side of a client link, and what runs a connection besides its reader: the
/// writer and the keep-alive watchdog. Neither is a coroutine: an idle connection holds one
/// pending timer wait here and nothing else.
///
/// - Writer: the router pushes from its strand; the push into an empty outbox posts one
///   `on_wake` to the connection's strand (an atomic flag, no channel); `write_some` takes
///   the whole outbox and writes it in one gather write, and its completion starts the next
///   one, until the outbox is empty. When the link is closed and everything queued before
///   `close()` is written, the writer stops the connection.
/// - Watchdog: a timer with a plain callback at `ctx.next_deadline()`; when it fires early
///   (the deadline moved) it re-arms; cancelling it brings a new deadline into effect.
/// - Stop: `stop()` (writer done or failed, deadline passed) ends the reader: its socket
///   waits are bound to `reader_slot()`, and the timers it parks on are cancelled.
///
/// Everything but `wake` and `on_closing` runs on the connection's strand. Handlers hold the
/// link by shared_ptr; once `finish` has run they touch neither the context nor the stream,
/// which live in serve_connection's frame.
class connection_link : public broker::client_link,
                        public std::enable_shared_from_this<connection_link> {
public:
    connection_link(const asio::any_io_executor& ex, protocol_version v, std::string remote)
        : client_link(v, std::move(remote))
        , watchdog_(ex) {}

    /// Starts the writer (it writes what was queued before, e.g. CONNACK) and the watchdog.
    void start(connection_context& ctx) {
        ctx_ = &ctx;
        started_ = true;
        ctx.watchdog_timer = &watchdog_;
        if (closing()) {
            bring_flush_deadline_forward();
        }
        arm_watchdog();
        if (!writing_) {
            write_some();
        }
    }

    /// Set once the reader must end; read_frame looks at it before each socket wait.
    const bool& stop_requested() const noexcept { return stop_requested_; }
    /// The reader binds its socket waits to this slot (and clears it after each).
    asio::cancellation_slot reader_slot() noexcept { return reader_cancel_.slot(); }

    /// Ends the reader: whatever it waits for completes with operation_aborted.
    void stop() {
        if (stop_requested_) {
            return;
        }
        stop_requested_ = true;
        reader_cancel_.emit(asio::cancellation_type::terminal);
        if (parked_) {
            parked_->cancel();
        }
    }

    /// Waits on `timer` (reader side) until it expires, is cancelled, or the link stops.
    asio::awaitable<void> park(asio::steady_timer& timer) {
        if (stop_requested_) {
            co_return;
        }
        parked_ = &timer;
        co_await timer.async_wait(use_tuple);
        parked_ = nullptr;
    }

    /// Until the writer or the watchdog stops the connection (no reader: a refused CONNECT).
    asio::awaitable<void> wait_stopped() {
        asio::steady_timer timer(executor(), steady::time_point::max());
        co_await park(timer);
    }

    /// The reader has ended: no more writes, no watchdog. A write in progress is cancelled
    /// (the transport is closed if it does not end within flush_grace); returns when no
    /// handler will touch the stream or the context any more.
    asio::awaitable<void> finish() {
        stop_requested_ = true;
        finished_ = true;
        watchdog_.cancel();
        if (ctx_) {
            ctx_->watchdog_timer = nullptr;
        }
        if (writing_) {
            cancel_write();
        }
        bool aborted = false;
        while (writing_) {
            asio::steady_timer timer(executor(), aborted ? steady::time_point::max()
                                                         : steady::now() + flush_grace);
            writer_idle_ = &timer;
            auto [ec] = co_await timer.async_wait(use_tuple);
            writer_idle_ = nullptr;
            if (!ec && writing_) {
                abort_write(); // e.g. a WebSocket write that does not hear cancellation
                aborted = true;
            }
        }
        ctx_ = nullptr;
    }

    /// For a serve_connection frame that ends without finish() (an exception): handlers still
    /// to come touch neither the context nor the stream.
    void abandon() noexcept {
        stop_requested_ = true;
        finished_ = true;
        ctx_ = nullptr;
        try {
            watchdog_.cancel();
        } catch (...) { // nothing more can be done here
        }
    }

protected:
    /// Thread-safe: at most one on_wake is posted at a time. Posted as a continuation: when
    /// the router runs on an I/O thread (it always does), the writer runs next on that same
    /// thread instead of waking another one for it.
    void wake() override {
        if (!wake_posted_.exchange(true, std::memory_order_acq_rel)) {
            const auto continuation =
                asio::prefer(executor(), asio::execution::relationship.continuation);
            asio::post(continuation, [self = shared_from_this()] {
                self->wake_posted_.store(false, std::memory_order_release);
                self->on_wake();
            });
        }
    }
    void on_closing() override {
        asio::post(executor(), [self = shared_from_this()] {
            if (self->started_ && !self->finished_) {
                self->bring_flush_deadline_forward();
            }
        });
    }

    /// Starts one write of `buffers_`; its completion calls on_written.
    virtual void start_write() = 0;
    /// Cancels the write in progress (called once the reader has ended).
    virtual void cancel_write() = 0;
    /// Closes the transport under a write that ignores cancellation.
    virtual void abort_write() = 0;

    void on_written(const error_code& ec) {
        writing_ = false;
        batch_.clear();
        if (finished_) {
            if (writer_idle_) {
                writer_idle_->cancel();
            }
            return;
        }
        if (ec) {
            ctx_->end(describe(ec));
            stop();
            return;
        }
        if (ctx_->drained) {
            ctx_->drained->cancel();
        }
        if (queued() == 0) {
            // Going idle: an idle connection holds no buffers (take_all hands this storage
            // to the outbox otherwise).
            std::vector<broker::outgoing>().swap(batch_);
        }
        write_some();
    }

    std::vector<asio::const_buffer> buffers_;

private:
    void on_wake() {
        if (started_ && !finished_ && !writing_) {
            write_some();
        }
    }

    void write_some() {
        take_all(batch_);
        if (batch_.empty()) {
            std::vector<broker::outgoing>().swap(batch_);
            std::vector<asio::const_buffer>().swap(buffers_);
            if (closing() && !stop_requested_) {
                // Everything queued before close() has been written.
                if (ctx_->abort_transport) {
                    ctx_->abort_transport(); // see connection_context::abort_transport
                }
                stop();
            }
            return;
        }
        // One gather write for everything queued: headers from the batch, payloads straight
        // from the shared message buffers.
        buffers_.clear();
        for (const auto& o : batch_) {
            const auto header = o.header();
            buffers_.emplace_back(header.data(), header.size());
            if (const auto payload = o.payload(); !payload.empty()) {
                buffers_.emplace_back(payload.data(), payload.size());
            }
        }
        writing_ = true;
        start_write();
    }

    void bring_flush_deadline_forward() {
        ctx_->flush_deadline = std::min(ctx_->flush_deadline, steady::now() + flush_grace);
        watchdog_.cancel(); // re-armed at the new deadline
    }

    void arm_watchdog() {
        watchdog_.expires_at(ctx_->next_deadline());
        watchdog_.async_wait(
            [self = shared_from_this()](const error_code&) { self->on_watchdog(); });
    }

    /// Ends the connection at the keep-alive (or flush) deadline; re-arms when it fired early
    /// or was cancelled to bring the deadline forward.
    void on_watchdog() {
        if (finished_ || stop_requested_) {
            return;
        }
        const auto now = steady::now();
        if (now >= ctx_->flush_deadline || now >= ctx_->deadline) {
            ctx_->end(now >= ctx_->flush_deadline ? "could not flush before closing"
                      : ctx_->session             ? "keep-alive timeout"
                                                  : "no CONNECT in time");
            if (ctx_->abort_transport) {
                ctx_->abort_transport(); // the reader may not hear its cancellation
            }
            stop();
            return;
        }
        arm_watchdog();
    }

    /// The connection's executor (its strand, or with one I/O thread the io_context's): the
    /// watchdog's, not kept twice.
    const asio::any_io_executor& executor() noexcept { return watchdog_.get_executor(); }

    asio::steady_timer watchdog_;
    asio::cancellation_signal reader_cancel_;
    connection_context* ctx_ = nullptr;
    asio::steady_timer* parked_ = nullptr;      ///< a reader wait that stop() ends
    asio::steady_timer* writer_idle_ = nullptr; ///< finish() waiting for a write to end
    std::vector<broker::outgoing> batch_;
    std::atomic<bool> wake_posted_{false};
    bool started_ = false;
    bool writing_ = false;
    bool stop_requested_ = false;
    bool finished_ = false;
};

/// The link of a connection over `Stream`: how to write, cancel and abort on it.
template <class Stream>
class stream_link final : public connection_link {
public:
    stream_link(Stream& stream, protocol_version v, std::string remote)
        : connection_link(stream.get_executor(), v, std::move(remote))
        , stream_(stream) {}

private:
    /// The write's completion continues the writer's chain: Asio queues it on the thread that
    /// started the write (a write that completes at once is the common case) without waking
    /// another thread for it.
    struct write_done {
        std::shared_ptr<connection_link> self;
        void operator()(const error_code& ec, std::size_t) const {
            static_cast<stream_link&>(*self).on_written(ec);
        }
        friend bool asio_handler_is_continuation(write_done*) { return true; }
    };
    void start_write() override {
        async_write_buffers(stream_, buffers_, write_done{shared_from_this()});
    }
    /// Through the socket: the reader has ended, so the write is the only operation left on
    /// it, and no cancellation slot (and its handler memory) is kept per connection for this.
    void cancel_write() override {
        boost::system::error_code ignored;
        raw_socket(stream_).cancel(ignored);
    }
    void abort_write() override { close_transport(stream_); }

    Stream& stream_;
};

/// After a protocol error on a 5.0 connection: tell the client why, let the writer flush,
/// and give it a bounded time to do so. 3.x has no way to say why: just close.
inline asio::awaitable<void> close_with_reason(connection_context& ctx, packet::reason_code why) {
    if (ctx.version == protocol_version::v5) {
        ctx.link->push(broker::make_outgoing([&](std::string& out) {
            packet::encode(packet::disconnect{why, {}}, ctx.version, out);
        }));
        ctx.link->close(broker::close_reason::protocol_error);
        asio::steady_timer linger(co_await asio::this_coro::executor, std::chrono::seconds(5));
        co_await ctx.link->park(linger); // the writer stops the connection first
    }
}

/// Pauses the reader until the writer has brought the outbox below half the high water mark.
/// The keep-alive does not run meanwhile: the client's packets wait unread by our choice.
inline asio::awaitable<void> wait_until_drained(connection_context& ctx) {
    asio::steady_timer drained(co_await asio::this_coro::executor, steady::time_point::max());
    ctx.drained = &drained;
    const auto saved_deadline = ctx.deadline;
    ctx.deadline = steady::time_point::max();
    while (ctx.link->queued() >= outbox_high_water / 2 && !ctx.link->closing() &&
           !ctx.link->stop_requested()) {
        co_await ctx.link->park(drained); // the writer cancels it after each write
    }
    ctx.drained = nullptr;
    if (saved_deadline != steady::time_point::max()) {
        ctx.deadline = steady::now() + ctx.keep_alive_window;
    }
}

/// What the reader does after a packet.
struct step {
    enum kind_t : std::uint8_t {
        next,  ///< read the next packet
        end,   ///< the connection ends (DISCONNECT, a hook's verdict)
        close, ///< protocol error: close_with_reason(why)
        hooks, ///< the hooks see this packet first: handle_with_hooks
    };
    kind_t kind = next;
    packet::reason_code why{};
    bool posted = false; ///< something was posted to the router
};

/// Hands what a packet asks of the router to its strand, in arrival order. When the strand
/// is free the task runs right here, on the reading thread: no hand-off to another thread and
/// no wake-up of one, which at moderate rates costs more than the routing itself. When the
/// strand is busy (another thread routes), the task queues behind what is there. The reader
/// does not wait for a queued task (but see the barrier in read_loop).
template <class Task>
void post_to_router(connection_context& ctx, Task&& task) {
    asio::dispatch(ctx.state->strand, std::forward<Task>(task));
}

/// Handles one packet without suspending (a plain function, so that the reader's coroutine
/// frame holds only what crosses a co_await). PUBLISH, SUBSCRIBE and UNSUBSCRIBE that hooks
/// must see first are left to handle_with_hooks.
inline step handle_packet(connection_context& ctx, const frame& f) {
    broker_state& st = *ctx.state;
    using packet::packet_type;
    const auto type = f.header.type;
    if ((type == packet_type::publish && st.hooks.has(broker::hook_publish)) ||
        (type == packet_type::subscribe &&
         (st.hooks.has(broker::hook_subscribe) || st.hooks.has(broker::hook_subscribed))) ||
        (type == packet_type::unsubscribe &&
         (st.hooks.has(broker::hook_unsubscribe) || st.hooks.has(broker::hook_unsubscribed)))) {
        return {step::hooks};
    }
    auto decoded = packet::decode(f.header, f.body, ctx.version);
    if (!decoded) {
        ctx.end(describe(decoded.error()));
        return {step::close, reason_for(errc(decoded.error().value()))};
    }
    auto* link = ctx.link.get();
    auto& session = ctx.session;
    switch (type_of(*decoded)) {
    case packet_type::publish:
        post_to_router(ctx, [&st, session, link,
                             p = std::move(std::get<packet::publish>(*decoded))]() mutable {
            st.core.on_publish(*session, link, std::move(p), steady::now(), true);
        });
        return {step::next, {}, true};
    case packet_type::puback: {
        const auto id = std::get<packet::puback>(*decoded).packet_id;
        post_to_router(ctx, [&st, session, link, id] {
            st.core.on_puback(*session, link, id, steady::now());
        });
        return {step::next, {}, true};
    }
    case packet_type::pubrec: {
        const auto id = std::get<packet::pubrec>(*decoded).packet_id;
        post_to_router(ctx, [&st, session, link, id] {
            st.core.on_pubrec(*session, link, id, steady::now());
        });
        return {step::next, {}, true};
    }
    case packet_type::pubrel: {
        const auto id = std::get<packet::pubrel>(*decoded).packet_id;
        post_to_router(ctx, [&st, session, link, id] { st.core.on_pubrel(*session, link, id); });
        return {step::next, {}, true};
    }
    case packet_type::pubcomp: {
        const auto id = std::get<packet::pubcomp>(*decoded).packet_id;
        post_to_router(ctx, [&st, session, link, id] {
            st.core.on_pubcomp(*session, link, id, steady::now());
        });
        return {step::next, {}, true};
    }
    case packet_type::subscribe:
        post_to_router(ctx, [&st, session, link,
                             p = std::move(std::get<packet::subscribe>(*decoded))]() mutable {
            st.core.on_subscribe(*session, link, std::move(p), steady::now(), wall::now(), {});
        });
        return {step::next, {}, true};
    case packet_type::unsubscribe:
        post_to_router(ctx, [&st, session, link,
                             p = std::move(std::get<packet::unsubscribe>(*decoded))]() mutable {
            st.core.on_unsubscribe(*session, link, std::move(p), {});
        });
        return {step::next, {}, true};
    case packet_type::pingreq:
        ctx.link->push(broker::make_outgoing([&](std::string& out) {
            packet::encode(packet::pingresp{}, ctx.version, out); // [MQTT-3.12.4-1]
        }));
        return {step::next};
    case packet_type::disconnect:
        ctx.clean_disconnect = true; // [MQTT-3.14.4-3] the will is discarded
        if (ctx.version == protocol_version::v5 &&
            std::get<packet::disconnect>(*decoded).reason ==
                packet::reason_code::disconnect_with_will_message) {
            ctx.clean_disconnect = false;
        }
        ctx.end("client disconnected");
        return {step::end};
    case packet_type::connect:
        ctx.end("protocol error: second CONNECT"); // [MQTT-3.1.0-2]
        return {step::close, packet::reason_code::protocol_error};
    default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP, AUTH: only a server sends these.
        ctx.end(std::string("protocol error: unexpected ") + packet::to_string(type_of(*decoded)));
        return {step::close, packet::reason_code::protocol_error};
    }
}

/// PUBLISH, SUBSCRIBE and UNSUBSCRIBE when hooks must see them first. The reader waits for
/// the hooks: the next packet is not read before they have answered, so order is kept.
inline asio::awaitable<step> handle_with_hooks(connection_context& ctx, const frame& f) {
    broker_state& st = *ctx.state;
    auto decoded = packet::decode(f.header, f.body, ctx.version);
    if (!decoded) {
        ctx.end(describe(decoded.error()));
        co_return step{step::close, reason_for(errc(decoded.error().value()))};
    }
    auto* link = ctx.link.get();
    auto session = ctx.session;
    switch (type_of(*decoded)) {
    case packet::packet_type::publish: {
        auto& publish = std::get<packet::publish>(*decoded);
        const auto v = co_await st.hooks.publish(*ctx.client, publish);
        if (v == broker::publish_verdict::disconnect) {
            ctx.end("disconnected by an on_publish hook"); // [MQTT-3.3.5-2]
            co_return step{step::end};
        }
        const bool deliver = v != broker::publish_verdict::drop;
        auto task = [&st, session, link, deliver, p = std::move(publish)]() mutable {
            st.core.on_publish(*session, link, std::move(p), steady::now(), deliver);
        };
        post_to_router(ctx, std::move(task));
        co_return step{step::next, {}, true};
    }
    case packet::packet_type::subscribe: {
        auto& subscribe = std::get<packet::subscribe>(*decoded);
        // Access control first.
        std::vector<std::optional<packet::qos>> grants;
        if (st.hooks.has(broker::hook_subscribe)) {
            for (const auto& sub : subscribe.subscriptions) {
                const auto v = co_await st.hooks.subscribe(*ctx.client, sub);
                grants.push_back(v.decision == broker::verdict::deny
                                     ? std::nullopt
                                     : std::optional<packet::qos>(v.max_qos));
            }
        }
        std::vector<packet::subscription> made;
        if (st.hooks.has(broker::hook_subscribed)) {
            for (std::size_t i = 0; i < subscribe.subscriptions.size(); ++i) {
                if (grants.empty() || grants[i]) {
                    made.push_back(subscribe.subscriptions[i]);
                    if (!grants.empty()) {
                        made.back().max_qos = std::min(made.back().max_qos, *grants[i]);
                    }
                }
            }
        }
        auto task = [&st, session, link, grants, p = std::move(subscribe)]() mutable {
            st.core.on_subscribe(*session, link, std::move(p), steady::now(), wall::now(),
                                 std::move(grants));
        };
        post_to_router(ctx, std::move(task));
        for (const auto& sub : made) {
            co_await st.hooks.subscribed(*ctx.client, sub);
        }
        co_return step{step::next, {}, true};
    }
    case packet::packet_type::unsubscribe: {
        auto& unsubscribe = std::get<packet::unsubscribe>(*decoded);
        std::vector<bool> kept;
        if (st.hooks.has(broker::hook_unsubscribe)) {
            for (const auto& filter : unsubscribe.filters) {
                kept.push_back(co_await st.hooks.unsubscribe(*ctx.client, filter) ==
                               broker::verdict::deny);
            }
        }
        std::vector<std::string> removed;
        if (st.hooks.has(broker::hook_unsubscribed)) {
            for (std::size_t i = 0; i < unsubscribe.filters.size(); ++i) {
                if (kept.empty() || !kept[i]) {
                    removed.push_back(unsubscribe.filters[i]);
                }
            }
        }
        auto task = [&st, session, link, kept, p = std::move(unsubscribe)]() mutable {
            st.core.on_unsubscribe(*session, link, std::move(p), std::move(kept));
        };
        post_to_router(ctx, std::move(task));
        for (const auto& filter : removed) {
            co_await st.hooks.unsubscribed(*ctx.client, filter);
        }
        co_return step{step::next, {}, true};
    }
    default:
        co_return step{step::next}; // not reached: handle_packet handles the others
    }
}

/// How read_loop ended.
enum class reader_exit : std::uint8_t {
    ended, ///< the connection ends: finish the link, detach
    idle,  ///< plain TCP, nothing buffered: the caller parks the connection (serve_tcp)
};

/// The reader: this frame holds only what crosses a co_await (the packet switch is in
/// handle_packet), and the socket I/O is inline (read_frame's, minus a coroutine frame per
/// packet). On a plain socket it does not wait for the next packet itself: with nothing
/// buffered it returns `idle`, and the connection waits for readiness without a coroutine.
/// `readable`: the socket was just seen readable (the parked wait completed), so read first.
template <class Stream>
asio::awaitable<reader_exit> read_loop(Stream& stream, input_buffer& in, connection_context& ctx,
                                       bool readable = false) {
    broker_state& st = *ctx.state;
    const bool& stopped = ctx.link->stop_requested();
    std::size_t consumed = 0;
    for (;;) {
        std::size_t want = 0;
        auto f = next_frame(in, consumed, st.config.max_packet_size, want);
        if (f && !*f) {
            // Not a whole packet yet: read more. Waits are bound to the link's reader slot
            // and none starts once the link has stopped (see read_frame). On a plain socket the
            // slot keeps its handler between waits (it names only the socket's reactor state,
            // alive as long as the socket is open, so a late emit finds nothing to cancel), and
            // the next wait reuses its memory; layered streams' handlers are cleared after each.
            constexpr bool plain_socket = std::is_same_v<Stream, tcp::socket>;
            error_code ec;
            auto slot = ctx.link->reader_slot();
            if constexpr (plain_socket) {
                if (in.data().empty() && !stopped && !readable) {
                    // An idle connection waits without a buffer: readiness first, then read.
                    in.release_if_empty();
                    if (ctx.park_when_idle) {
                        co_return reader_exit::idle; // and without this coroutine (park_tcp)
                    }
                    const auto waiting_since = steady::now();
                    auto [wait_ec] = co_await stream.async_wait(
                        tcp::socket::wait_read, asio::bind_cancellation_slot(slot, use_tuple));
                    ec = wait_ec;
                    ctx.park_when_idle = steady::now() - waiting_since >= quiet_wait;
                }
                readable = false;
            }
            if (!ec && stopped) {
                ec = asio::error::operation_aborted;
            }
            if (!ec) {
                auto space = in.prepare(want);
                auto [read_ec, n] = co_await stream.async_read_some(
                    space, asio::bind_cancellation_slot(slot, use_tuple));
                if constexpr (!plain_socket) {
                    slot.clear();
                }
                ec = read_ec;
                if constexpr (is_websocket<Stream>::value) {
                    if (!ec && stream.got_text()) {
                        // [MQTT-6.0.0-1] MQTT travels in binary frames; a text frame closes.
                        ec = boost::system::errc::make_error_code(
                            boost::system::errc::protocol_error);
                    }
                }
                if (!ec) {
                    in.commit(n);
                    continue;
                }
            }
            f = ec;
        }
        if (!f) {
            ctx.end(describe(f.error()));
            if (f.error().category() == packet::category()) {
                co_await close_with_reason(ctx, reason_for(errc(f.error().value())));
            }
            co_return reader_exit::ended;
        }
        if (ctx.keep_alive_window.count() > 0) {
            ctx.deadline = steady::now() + ctx.keep_alive_window; // [MQTT-3.1.2-24]
        }
        const frame& received = **f;
        auto next = handle_packet(ctx, received);
        if (next.kind == step::hooks) {
            next = co_await handle_with_hooks(ctx, received);
        }
        if (next.kind == step::end) {
            co_return reader_exit::ended;
        }
        if (next.kind == step::close) {
            co_await close_with_reason(ctx, next.why);
            co_return reader_exit::ended;
        }
        // Every so often the reader waits for the router, so that a fast publisher cannot
        // pile up unbounded work in front of it (tasks queue when another thread routes).
        if (next.posted && ++ctx.posted_since_barrier >= 128) {
            ctx.posted_since_barrier = 0;
            co_await on_router(st, [](broker::router&) {}); // the router has caught up
        }
        if (ctx.link->queued() >= outbox_high_water) {
            co_await wait_until_drained(ctx);
        }
    }
}

/// Before CONNECT: ends the connection at the CONNECT deadline (raced against read_connect).
/// The deadlines move; the timer is re-armed when it fires early, or when something cancels
/// it to bring the deadline forward.
inline asio::awaitable<void> watchdog(connection_context& ctx) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    ctx.watchdog_timer = &timer;
    for (;;) {
        timer.expires_at(ctx.next_deadline());
        co_await timer.async_wait(use_tuple);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) {
            break; // another loop ended first
        }
        const auto now = steady::now();
        if (now >= ctx.flush_deadline || now >= ctx.deadline) {
            ctx.end(now >= ctx.flush_deadline ? "could not flush before closing"
                    : ctx.session             ? "keep-alive timeout"
                                              : "no CONNECT in time");
            if (ctx.abort_transport) {
                ctx.abort_transport(); // the other loops may not hear their cancellation
            }
            break;
        }
    }
    ctx.watchdog_timer = nullptr;
}

/// A CONNACK refusal code spelled as in 3.1.1, for `version` (5.0 has reason codes).
inline std::uint8_t connack_code(packet::connect_return_code code, protocol_version version) {
    if (version != protocol_version::v5) {
        return std::uint8_t(code);
    }
    using rc = packet::reason_code;
    switch (code) {
    case packet::connect_return_code::unacceptable_protocol_version:
        return std::uint8_t(rc::unsupported_protocol_version);
    case packet::connect_return_code::identifier_rejected:
        return std::uint8_t(rc::client_identifier_not_valid);
    case packet::connect_return_code::server_unavailable:
        return std::uint8_t(rc::server_unavailable);
    case packet::connect_return_code::bad_user_name_or_password:
        return std::uint8_t(rc::bad_user_name_or_password);
    default:
        return std::uint8_t(rc::not_authorized);
    }
}

/// Runs a will through the will hooks, then publishes what is left of it.
inline asio::awaitable<void> publish_will(broker_state& st, const broker::client_info& client,
                                          packet::will will, const broker::session* publisher) {
    std::optional<packet::will> kept(std::move(will));
    if (st.hooks.has(broker::hook_will_publish)) {
        kept = co_await st.hooks.will_publish(client, std::move(*kept));
    }
    if (!kept) {
        co_return;
    }
    auto task = [&st, w = std::move(*kept), publisher] {
        st.core.publish_will(w, publisher, steady::now());
    };
    asio::post(st.strand, std::move(task));
}

/// Writes a CONNACK refusing the connection (before any session exists).
template <class Stream>
asio::awaitable<void> refuse(Stream& stream, protocol_version v, std::uint8_t code) {
    std::string bytes;
    packet::encode(packet::connack{false, code, {}}, v, bytes);
    const std::vector<asio::const_buffer> buffers{asio::buffer(bytes)};
    co_await write_buffers(stream, buffers);
}

/// Reads and checks CONNECT. Returns nullopt when the connection must close.
template <class Stream>
asio::awaitable<std::optional<packet::connect>> read_connect(Stream& stream, input_buffer& in,
                                                             connection_context& ctx) {
    std::size_t consumed = 0;
    // Raced against the watchdog with ||: the coroutine's own cancellation slot.
    const auto cs = co_await asio::this_coro::cancellation_state;
    const bool never = false;
    auto f = co_await read_frame(stream, in, consumed, ctx.state->config.max_packet_size, cs.slot(),
                                 never);
    if (!f) {
        ctx.end(describe(f.error()));
        co_return std::nullopt;
    }
    if (f->header.type != packet::packet_type::connect) {
        ctx.end("protocol error: first packet is not CONNECT"); // [MQTT-3.1.0-1]
        co_return std::nullopt;
    }
    auto c = packet::decode_connect(f->header, f->body);
    in.consume(consumed);
    if (!c) {
        ctx.end(describe(c.error()));
        const auto e = errc(c.error().value());
        if (e == errc::unsupported_protocol_version) {
            // [MQTT-3.1.2-2] CONNACK 0x01, then close. The client may not speak 5.0, so the
            // 3.1.1 layout is used.
            co_await refuse(
                stream, protocol_version::v3_1_1,
                std::uint8_t(packet::connect_return_code::unacceptable_protocol_version));
        } else if (e == errc::invalid_client_id) {
            co_await refuse(stream, protocol_version::v3_1,
                            std::uint8_t(packet::connect_return_code::identifier_rejected));
        }
        co_return std::nullopt;
    }
    co_return std::move(*c);
}

/// Phase 1: CONNECT within connect_timeout seconds (or until the server stops), the connect
/// hooks, attach to the router. Returns true when there is a session to serve; false when
/// the connection was refused (the CONNACK saying so is written). Its own coroutine, so that
/// the CONNECT packet and what attaching needs do not stay in the frame of a connection for
/// as long as it lives.
template <class Stream>
asio::awaitable<bool> open_session(Stream& stream, input_buffer& in, connection_context& ctx,
                                   const connection_info& info) {
    broker_state& st = *ctx.state;
    const std::string& remote = info.remote_address;
    ctx.deadline = steady::now() + std::chrono::seconds(st.config.connect_timeout);
    auto first = co_await (read_connect(stream, in, ctx) || watchdog(ctx) || wait_for_stop(st));
    if (first.index() != 0 || !std::get<0>(first)) {
        if (first.index() == 2) {
            ctx.end("server stopping");
        }
        if (st.config.logging) {
            broker::log("INFO", "refused remote=", remote, " reason=", ctx.end_reason,
                        info.log_suffix());
        }
        co_return false;
    }
    packet::connect connect = std::move(*std::get<0>(first));
    if (info.username_from_certificate) {
        connect.username = info.certificate_username; // the certificate wins over CONNECT
    }
    ctx.version = connect.version;
    auto client = std::make_shared<broker::client_info>();
    client->client_id = connect.client_id;
    client->username = connect.username;
    client->username_from_certificate =
        info.username_from_certificate && info.certificate_username.has_value();
    client->remote_address = remote;
    client->transport = info.transport;
    client->version = connect.version;
    client->clean_session = connect.clean_start;
    client->keep_alive = connect.keep_alive;
    ctx.client = client;
    if (st.hooks.has(broker::hook_connect)) {
        // Authentication: the plugins may take their time (bounded by hook_timeout_ms).
        const auto v = co_await st.hooks.connect(*client, connect.password);
        if (v.decision == broker::verdict::deny) {
            if (st.config.logging) {
                broker::log("INFO", "refused client_id=", connect.client_id, " remote=", remote,
                            " reason=denied by an on_connect hook (code ", int(v.code), ")",
                            info.log_suffix());
            }
            co_await refuse(stream, connect.version, connack_code(v.code, connect.version));
            co_return false;
        }
    }
    ctx.link = std::make_shared<stream_link<Stream>>(stream, connect.version, remote);

    broker::attach_result attached;
    co_await on_router(st, [&](broker::router& r) {
        attached = r.attach(connect, ctx.link, steady::now(), wall::now());
    });
    if (st.stopping) {
        // Attached after the stop closed every link: close this one too.
        ctx.link->close(broker::close_reason::server_stopping);
    }
    ctx.session = attached.attached;
    if (!attached.assigned_client_id.empty()) {
        client->client_id = attached.assigned_client_id;
    }
    const std::string& client_id = client->client_id;
    if (attached.taken_over_will) {
        // The connection this one took over ended without DISCONNECT [MQTT-3.1.2-8].
        co_await publish_will(st, *client, std::move(*attached.taken_over_will), nullptr);
    }
    if (attached.previous_session_ended && st.hooks.has(broker::hook_session_terminated)) {
        co_await st.hooks.session_terminated(client_id, broker::session_end::taken_over);
    }
    if (!ctx.session) {
        // Refused by the router (e.g. empty client id with clean session 0): flush the
        // CONNACK it queued, then close.
        ctx.deadline = steady::now() + std::chrono::seconds(5);
        ctx.link->start(ctx);
        co_await ctx.link->wait_stopped();
        co_await ctx.link->finish();
        if (st.config.logging) {
            broker::log("INFO", "refused client_id=", client_id, " remote=", remote,
                        " reason=identifier rejected");
        }
        co_return false;
    }
    if (st.hooks.has(broker::hook_connected)) {
        co_await st.hooks.connected(*client);
    }
    if (attached.session_present && st.hooks.has(broker::hook_session_resumed)) {
        co_await st.hooks.session_resumed(*client);
    } else if (!attached.session_present && st.hooks.has(broker::hook_session_created)) {
        co_await st.hooks.session_created(*client);
    }
    if (st.config.logging) {
        broker::log("INFO", "connected client_id=", client_id, " remote=", remote,
                    " version=", int(connect.version), " clean_session=", connect.clean_start,
                    " keep_alive=", connect.keep_alive,
                    " session_present=", attached.session_present, info.log_suffix());
    }
    // A keep-alive of 0 switches the mechanism off [MQTT-3.1.2-24].
    ctx.keep_alive_window = std::chrono::milliseconds(connect.keep_alive * 1500);
    ctx.deadline =
        connect.keep_alive ? steady::now() + ctx.keep_alive_window : steady::time_point::max();
    co_return true;
}

/// Phase 3: detach from the router (the will, the session's end), the close hooks.
inline asio::awaitable<void> close_session(connection_context& ctx) {
    broker_state& st = *ctx.state;
    const auto why = ctx.link->reason();
    if (why == broker::close_reason::taken_over) {
        ctx.end_reason = "taken over";
    } else if (why == broker::close_reason::server_stopping) {
        ctx.end_reason = "server stopping";
    } else if (why == broker::close_reason::kicked) {
        ctx.end_reason = "disconnected by operator";
    } else if (ctx.end_reason.empty()) {
        ctx.end_reason = "connection closed";
    }
    ctx.link->close(broker::close_reason::none); // no more pushes
    // [MQTT-3.1.2-8] the will goes out unless the client said DISCONNECT.
    const bool with_will = !ctx.clean_disconnect && why != broker::close_reason::server_stopping;
    auto session = ctx.session;
    auto* link = ctx.link.get();
    broker::detach_result ended;
    co_await on_router(st, [&](broker::router& r) {
        ended = r.detach(session, link, with_will, steady::now(), wall::now());
    });
    const auto& client = *ctx.client;
    if (ended.will) {
        co_await publish_will(st, client, std::move(*ended.will), session.get());
    }
    if (ended.session_ended && st.hooks.has(broker::hook_session_terminated)) {
        co_await st.hooks.session_terminated(client.client_id, broker::session_end::normal);
    }
    if (st.config.logging) {
        broker::log("INFO", "disconnected client_id=", client.client_id,
                    " remote=", client.remote_address, " reason=", ctx.end_reason,
                    transport_log_suffix(client.transport));
    }
    if (st.hooks.has(broker::hook_close)) {
        co_await st.hooks.closed(client, ctx.end_reason);
    }
}

/// A plain TCP connection. Its state lives here, on the heap, instead of in a coroutine
/// frame: a quiet connection is parked as a readiness wait with a plain callback (park_tcp),
/// and no coroutine exists for it; the frames of a connection coroutine, its co_spawn state
/// and the pending coroutine wait would cost an idle connection about 1.4 KB. A busy one keeps
/// its reader coroutine between packets (see quiet_wait). Held by whatever runs for the
/// connection: the reader coroutine, or the parked wait.
struct tcp_connection {
    tcp_connection(tcp::socket socket, std::shared_ptr<broker_state> state)
        : stream(std::move(socket)) {
        ctx.state = std::move(state);
    }
    tcp_connection(const tcp_connection&) = delete;
    tcp_connection& operator=(const tcp_connection&) = delete;
    /// Normally finish() has run by now; if an exception ended the reader, the link's handlers
    /// still to come must not touch ctx or the stream.
    ~tcp_connection() {
        if (ctx.link) {
            ctx.link->abandon();
        }
    }

    tcp::socket stream;
    connection_context ctx;
    input_buffer in;
};

inline asio::awaitable<void> read_tcp(std::shared_ptr<tcp_connection> conn, bool readable);

/// Waits for the next bytes with no coroutine: a plain callback starts a reader coroutine when
/// they come. stop() cancels the wait through the link's reader slot; the reader then sees the
/// link stopped and ends the connection.
inline void park_tcp(std::shared_ptr<tcp_connection> conn) {
    auto& stream = conn->stream;
    auto slot = conn->ctx.link->reader_slot();
    conn->ctx.parked_at = steady::now();
    auto on_ready = [conn = std::move(conn)](const error_code&) mutable {
        conn->ctx.park_when_idle = steady::now() - conn->ctx.parked_at >= quiet_wait;
        auto executor = conn->stream.get_executor();
        asio::co_spawn(executor, read_tcp(std::move(conn), true),
                       broker::log_exception("connection"));
    };
    stream.async_wait(tcp::socket::wait_read,
                      asio::bind_cancellation_slot(slot, std::move(on_ready)));
}

/// Reads until nothing is buffered (then parks) or the connection ends (then detaches).
inline asio::awaitable<void> read_tcp(std::shared_ptr<tcp_connection> conn, bool readable) {
    const reader_exit exit = co_await read_loop(conn->stream, conn->in, conn->ctx, readable);
    if (exit == reader_exit::idle) {
        park_tcp(std::move(conn));
        co_return;
    }
    co_await conn->ctx.link->finish();
    co_await close_session(conn->ctx);
    close_transport(conn->stream);
}

/// `info` is needed only until the session is open: it stays in this frame, which ends once
/// the connection first parks or ends.
inline asio::awaitable<void> serve_tcp(tcp::socket socket, std::shared_ptr<broker_state> state,
                                       connection_info info) {
    auto conn = std::make_shared<tcp_connection>(std::move(socket), std::move(state));
    if (!co_await open_session(conn->stream, conn->in, conn->ctx, info)) {
        close_transport(conn->stream);
        co_return;
    }
    conn->ctx.link->start(conn->ctx);
    co_await read_tcp(std::move(conn), false);
}

/// TLS and WebSocket connections: their streams buffer what the socket no longer shows, so
/// their readers wait inside the coroutine, whose frame holds the connection's state.
template <class Stream>
asio::awaitable<void> serve_stream(Stream stream, std::shared_ptr<broker_state> state,
                                   connection_info info) {
    connection_context ctx;
    ctx.state = std::move(state);
    input_buffer in;
    // Normally finish() has run when the frame ends; if an exception ends it, the link's
    // handlers still to come must not touch ctx or the stream.
    struct abandon_link {
        connection_context& ctx;
        ~abandon_link() {
            if (ctx.link) {
                ctx.link->abandon();
            }
        }
    } guard{ctx};

    if constexpr (is_websocket<Stream>::value) {
        ctx.abort_transport = [&stream] { close_transport(stream); };
        // A peer's close frame starts Beast's close handshake, which waits for the peer to
        // close TCP and ignores cancellation: bound it like a flush.
        stream.control_callback([&ctx](websocket::frame_type kind, beast::string_view) {
            if (kind == websocket::frame_type::close) {
                ctx.flush_deadline = std::min(ctx.flush_deadline, steady::now() + flush_grace);
                if (ctx.watchdog_timer) {
                    ctx.watchdog_timer->cancel();
                }
            }
        });
    }

    if (co_await open_session(stream, in, ctx, info)) {
        // Phase 2: serve. The reader is this coroutine; the writer and the watchdog are
        // callbacks on the link (see connection_link). Whichever ends the connection first
        // stops the others.
        ctx.link->start(ctx);
        co_await read_loop(stream, in, ctx); // never `idle`: only a plain socket parks
        co_await ctx.link->finish();
        co_await close_session(ctx);
    }
    close_transport(stream);
}

} // namespace detail

// Not a coroutine: picks the connection's shape by transport.
template <class Stream>
asio::awaitable<void> serve_connection(Stream stream, std::shared_ptr<broker_state> state,
                                       connection_info info) {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
        return detail::serve_tcp(std::move(stream), std::move(state), std::move(info));
    } else {
        return detail::serve_stream(std::move(stream), std::move(state), std::move(info));
    }
}

} // namespace coromq::net
