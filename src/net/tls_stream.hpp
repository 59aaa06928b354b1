// The server side of a TLS connection with OpenSSL reading and writing the socket itself.
//
// Why not asio::ssl::stream (which wss:// still uses, under Beast): it keeps four fixed
// 17 KB buffers per connection (its own input and output buffers and a BIO pair), copies every
// byte through them and sends each TLS record with its own send() (bench/RESULTS.md, "Over
// TLS": 84 KB per idle TLS connection against Mosquitto's 15 KB). Here OpenSSL works on the
// non-blocking socket through a small BIO (send with MSG_NOSIGNAL, recv), waits are plain
// readiness waits on the socket, SSL_MODE_RELEASE_BUFFERS gives OpenSSL's record buffers back
// while a connection is idle, and a gather write is coalesced into records of up to 16 KB.
//
// Meets AsyncReadStream and AsyncWriteStream, plus the handshake and native_handle() that the
// listener uses. Like any Asio stream, one read and one write may be outstanding at once (the
// connection's reader and writer); they run on one strand, so OpenSSL is never entered twice
// at the same time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace coromq::net {

class tls_stream {
public:
    using executor_type = boost::asio::ip::tcp::socket::executor_type;
    using lowest_layer_type = boost::asio::ip::tcp::socket;

    /// A stream over `socket` using `context` (kept alive as long as the stream). Throws
    /// std::bad_alloc when OpenSSL cannot make the connection's state.
    tls_stream(boost::asio::ip::tcp::socket socket,
               std::shared_ptr<boost::asio::ssl::context> context);
    ~tls_stream();
    tls_stream(tls_stream&& other) noexcept;
    tls_stream& operator=(tls_stream&&) = delete;
    tls_stream(const tls_stream&) = delete;
    tls_stream& operator=(const tls_stream&) = delete;

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }
    SSL* native_handle() noexcept { return ssl_; }

    /// The server handshake (`type` must be server). Completes with void(error_code).
    template <class Token>
    auto async_handshake(boost::asio::ssl::stream_base::handshake_type, Token&& token) {
        handshake_op op;
        op.self = this;
        return boost::asio::async_compose<Token, void(boost::system::error_code)>(std::move(op),
                                                                                  token, socket_);
    }

    /// Reads decrypted bytes into the first non-empty buffer of `buffers`.
    template <class MutableBufferSequence, class Token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
        boost::asio::mutable_buffer target;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            if (boost::asio::mutable_buffer b(*it); b.size() != 0) {
                target = b;
                break;
            }
        }
        io_op op;
        op.self = this;
        op.data = target.data();
        op.size = target.size();
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            std::move(op), token, socket_);
    }

    /// Writes at most one TLS record's worth (16 KB) of `buffers`: small buffers are copied
    /// into one record, a large first buffer is written from where it is.
    template <class ConstBufferSequence, class Token>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
        auto first = boost::asio::buffer_sequence_begin(buffers);
        const auto last = boost::asio::buffer_sequence_end(buffers);
        while (first != last && boost::asio::const_buffer(*first).size() == 0) {
            ++first;
        }
        const void* data = nullptr;
        std::size_t size = 0;
        if (first != last) {
            const boost::asio::const_buffer head(*first);
            if (head.size() >= direct_write_size) {
                data = head.data();
                size = std::min(head.size(), max_record);
            } else {
                size = coalesce(first, last);
                data = write_scratch_.get();
            }
        }
        io_op op;
        op.self = this;
        op.data = const_cast<void*>(data); // only read: OpenSSL's SSL_write takes const
        op.size = size;
        op.write = true;
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            std::move(op), token, socket_);
    }

private:
    /// The largest plaintext of one TLS record.
    static constexpr std::size_t max_record = 16 * 1024;
    /// A first buffer at least this large is written without a copy.
    static constexpr std::size_t direct_write_size = 4 * 1024;

    template <class Iterator>
    std::size_t coalesce(Iterator it, Iterator last) {
        if (!write_scratch_) {
            write_scratch_ = std::make_unique<char[]>(max_record);
        }
        std::size_t size = 0;
        for (; it != last && size < max_record; ++it) {
            const boost::asio::const_buffer b(*it);
            const auto n = std::min(b.size(), max_record - size);
            std::memcpy(write_scratch_.get() + size, b.data(), n);
            size += n;
        }
        return size;
    }

    /// One OpenSSL call, repeated after each readiness wait it asks for.
    enum class step_result { done, wait_read, wait_write };
    step_result step_handshake(boost::system::error_code& ec);
    /// What an OpenSSL call's `result` (1: success) asks for next; sets `ec` on failure.
    step_result after_call(int result, boost::system::error_code& ec);
    step_result step_io(void* data, std::size_t size, bool write, boost::system::error_code& ec,
                        std::size_t& transferred);
    /// After an operation: the coalescing buffer is freed so that an idle stream holds none.
    void release_scratch() noexcept { write_scratch_.reset(); }

    /// The operations' common shape: one OpenSSL step per invocation until it is done, a
    /// readiness wait between steps, and a completion that is never inline (a result at hand at
    /// once is posted, as Asio's own sockets do).
    template <class Derived>
    struct op_base {
        tls_stream* self;
        bool started = false;
        bool finished = false;
        boost::system::error_code result;
        std::size_t transferred = 0;

        template <class Self>
        void operator()(Self& op, boost::system::error_code ec = {}) {
            if (!finished) {
                const bool first = !started;
                started = true;
                if (!ec) {
                    switch (static_cast<Derived*>(this)->step(ec)) {
                    case step_result::wait_read:
                        return self->socket_.async_wait(boost::asio::ip::tcp::socket::wait_read,
                                                        std::move(op));
                    case step_result::wait_write:
                        return self->socket_.async_wait(boost::asio::ip::tcp::socket::wait_write,
                                                        std::move(op));
                    case step_result::done:
                        break;
                    }
                }
                result = ec;
                finished = true;
                static_cast<Derived*>(this)->finish();
                if (first) {
                    return boost::asio::post(self->socket_.get_executor(), std::move(op));
                }
            }
            Derived::complete(op, result, transferred);
        }
    };

    struct handshake_op : op_base<handshake_op> {
        step_result step(boost::system::error_code& ec) { return self->step_handshake(ec); }
        void finish() {}
        template <class Self>
        static void complete(Self& op, boost::system::error_code ec, std::size_t) {
            op.complete(ec);
        }
    };

    struct io_op : op_base<io_op> {
        void* data = nullptr;
        std::size_t size = 0;
        bool write = false;
        step_result step(boost::system::error_code& ec) {
            return size == 0 ? step_result::done
                             : self->step_io(data, size, write, ec, transferred);
        }
        void finish() {
            if (write) {
                self->release_scratch();
            }
        }
        template <class Self>
        static void complete(Self& op, boost::system::error_code ec, std::size_t n) {
            op.complete(ec, n);
        }
    };

    boost::asio::ip::tcp::socket socket_;
    std::shared_ptr<boost::asio::ssl::context> context_;
    SSL* ssl_ = nullptr;
    std::unique_ptr<char[]> write_scratch_;
};

} // namespace coromq::net
