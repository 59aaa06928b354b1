#include "tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <stdexcept>

namespace coromq::net {
namespace ssl = boost::asio::ssl;

namespace {

void require_readable(const std::string& path, const char* what) {
    if (path.empty()) {
        throw std::runtime_error(std::string("no ") + what + " file given");
    }
    std::ifstream file(path);
    if (!file) {
        throw std::runtime_error(std::string("cannot read ") + what + " file '" + path + "'");
    }
}

std::string openssl_error(const boost::system::error_code& ec) {
    std::string text = ec.message();
    if (const auto reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) {
        text = reason;
    }
    return text;
}

} // namespace

std::shared_ptr<ssl::context> make_server_context(const broker::tls_config& tls) {
    require_readable(tls.certfile, "certificate");
    require_readable(tls.keyfile, "private key");
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    // No renegotiation (TLS 1.2): a client could use it to make the server work, and a write
    // that must first read would wait for data the reading side may have taken.
    SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION);

    boost::system::error_code ec;
    ctx->use_certificate_chain_file(tls.certfile, ec);
    if (ec) {
        throw std::runtime_error("certificate file '" + tls.certfile + "': " + openssl_error(ec));
    }
    ctx->use_private_key_file(tls.keyfile, ssl::context::pem, ec);
    if (ec) {
        throw std::runtime_error("private key file '" + tls.keyfile + "': " + openssl_error(ec));
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        throw std::runtime_error("private key '" + tls.keyfile + "' does not match certificate '" +
                                 tls.certfile + "'");
    }
    if (!tls.cafile.empty()) {
        require_readable(tls.cafile, "CA");
        ctx->load_verify_file(tls.cafile, ec);
        if (ec) {
            throw std::runtime_error("CA file '" + tls.cafile + "': " + openssl_error(ec));
        }
        ctx->set_verify_mode(
            ssl::verify_peer |
            (tls.require_client_cert ? ssl::verify_fail_if_no_peer_cert : ssl::verify_none));
    } else if (tls.require_client_cert) {
        throw std::runtime_error("requiring client certificates needs a CA file to verify them");
    }
    return ctx;
}

std::optional<std::string> peer_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) {
        return std::nullopt;
    }
    std::optional<std::string> cn;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        char buffer[256];
        const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buffer,
                                                sizeof buffer);
        if (n > 0) {
            cn.emplace(buffer, std::size_t(n));
        }
    }
    X509_free(cert);
    return cn;
}

} // namespace coromq::net
