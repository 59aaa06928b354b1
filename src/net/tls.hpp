// TLS server contexts built from a listener's tls_config, and reloadable at run time.
#pragma once

#include <coromq/broker/config.hpp>

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

typedef struct ssl_st SSL;

namespace coromq::net {

/// Builds a server context: TLS 1.2 at least, OpenSSL's default ciphers, the certificate
/// chain and key (checked to match), and when a CA file is given, client certificates
/// verified against it (required when `require_client_cert`). Throws std::runtime_error with
/// a message naming the file and the problem.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const broker::tls_config& tls);

/// The context new connections of one listener use. Thread-safe. Connections keep the context
/// they started with, so a reload never disturbs them.
class tls_context_holder {
public:
    explicit tls_context_holder(broker::tls_config tls)
        : tls_(std::move(tls))
        , context_(make_server_context(tls_)) {}

    std::shared_ptr<boost::asio::ssl::context> current() const {
        std::lock_guard lock(mutex_);
        return context_;
    }

    /// Reads the files again. On failure throws (as make_server_context) and keeps the old one.
    void reload() {
        auto fresh = make_server_context(tls_);
        std::lock_guard lock(mutex_);
        context_ = std::move(fresh);
    }

    const broker::tls_config& config() const noexcept { return tls_; }

private:
    const broker::tls_config tls_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> context_;
};

/// The common name of the verified peer certificate, if there is one.
std::optional<std::string> peer_common_name(SSL* ssl);

} // namespace coromq::net
