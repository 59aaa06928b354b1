#include "tls_stream.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <cerrno>
#include <new>
#include <sys/socket.h>

namespace coromq::net {
namespace {

// A socket BIO of our own: OpenSSL's BIO_s_socket writes with write(2), which raises SIGPIPE
// on a connection the peer has closed, and an embedding program may not ignore SIGPIPE.
// The file descriptor is the BIO's data; the BIO never closes it (the tcp::socket does).

int fd_of(BIO* bio) {
    return int(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int bio_write(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    const auto n = ::send(fd_of(bio), data, std::size_t(size), MSG_NOSIGNAL);
    if (n < 0 && would_block(errno)) {
        BIO_set_retry_write(bio);
    }
    return int(n);
}

int bio_read(BIO* bio, char* out, int size) {
    BIO_clear_retry_flags(bio);
    const auto n = ::recv(fd_of(bio), out, std::size_t(size), 0);
    if (n < 0 && would_block(errno)) {
        BIO_set_retry_read(bio);
    }
    return int(n); // 0: the peer closed
}

long bio_ctrl(BIO*, int command, long, void*) {
    // OpenSSL flushes after writing a handshake flight; the socket has no buffer to flush.
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

BIO_METHOD* socket_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "coromq socket");
        if (!m || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
            !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
            throw std::bad_alloc();
        }
        return m;
    }();
    return method;
}

/// The error an OpenSSL failure stands for. An unexpected end of the connection (no
/// close_notify) is stream_truncated, as with asio::ssl::stream, so the connection treats it
/// as the peer going away.
boost::system::error_code ssl_failure(int ssl_error, int saved_errno) {
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
        return boost::asio::error::eof; // close_notify
    }
    if (ssl_error == SSL_ERROR_SYSCALL) {
        ERR_clear_error();
        return saved_errno != 0
                   ? boost::system::error_code(saved_errno, boost::system::system_category())
                   : boost::asio::ssl::error::stream_truncated;
    }
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) {
        return boost::asio::ssl::error::stream_truncated;
    }
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return boost::asio::ssl::error::stream_truncated;
    }
    return {int(e), boost::asio::error::get_ssl_category()};
}

} // namespace

tls_stream::tls_stream(boost::asio::ip::tcp::socket socket,
                       std::shared_ptr<boost::asio::ssl::context> context)
    : socket_(std::move(socket))
    , context_(std::move(context))
    , ssl_(SSL_new(context_->native_handle())) {
    BIO* bio = ssl_ ? BIO_new(socket_method()) : nullptr;
    if (!bio) {
        SSL_free(ssl_);
        throw std::bad_alloc();
    }
    BIO_set_data(bio, reinterpret_cast<void*>(std::intptr_t(socket_.native_handle())));
    SSL_set_bio(ssl_, bio, bio); // the SSL owns the BIO
    // Partial writes: a write completes per record written, as a socket write may complete
    // with part of its bytes. Moving buffer: a retried write may come from another address.
    // Release buffers: OpenSSL frees its record buffers while the connection is idle.
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                           SSL_MODE_RELEASE_BUFFERS);
    SSL_set_accept_state(ssl_);
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored); // OpenSSL calls send and recv on it directly
}

tls_stream::~tls_stream() {
    SSL_free(ssl_);
}

tls_stream::tls_stream(tls_stream&& other) noexcept
    : socket_(std::move(other.socket_))
    , context_(std::move(other.context_))
    , ssl_(other.ssl_)
    , write_scratch_(std::move(other.write_scratch_)) {
    other.ssl_ = nullptr; // the BIO keeps the file descriptor, which the move did not change
}

tls_stream::step_result tls_stream::after_call(int result, boost::system::error_code& ec) {
    if (result == 1) {
        return step_result::done;
    }
    const int saved_errno = errno;
    // A read may need to write (a TLS 1.3 key update answered) and a write may need to read
    // (a handshake message first): wait for what OpenSSL asks, whichever the operation.
    switch (const int error = SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
        return step_result::wait_read;
    case SSL_ERROR_WANT_WRITE:
        return step_result::wait_write;
    default:
        ec = ssl_failure(error, saved_errno);
        return step_result::done;
    }
}

tls_stream::step_result tls_stream::step_handshake(boost::system::error_code& ec) {
    ERR_clear_error();
    return after_call(SSL_do_handshake(ssl_), ec);
}

tls_stream::step_result tls_stream::step_io(void* data, std::size_t size, bool write,
                                            boost::system::error_code& ec,
                                            std::size_t& transferred) {
    ERR_clear_error();
    const int r = write ? SSL_write_ex(ssl_, data, size, &transferred)
                        : SSL_read_ex(ssl_, data, size, &transferred);
    if (r != 1) {
        transferred = 0;
    }
    return after_call(r, ec);
}

} // namespace coromq::net
