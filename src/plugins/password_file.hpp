// Mosquitto password files, as `mosquitto_passwd` writes them:
//
//   user:$7$ITERATIONS$SALT_B64$HASH_B64   PBKDF2-HMAC-SHA512 (Mosquitto 2.0's default)
//   user:$6$SALT_B64$HASH_B64              SHA-512 of password followed by salt (1.6 and before)
//
// HASH is 64 bytes; SALT is whatever the file holds (mosquitto_passwd writes 12 bytes). Blank
// lines and lines starting with '#' are skipped. Pure: no I/O but `load`, no Asio.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace coromq::plugins {

/// A password or ACL file that cannot be used; the message names FILE:LINE where it can.
struct file_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// One user's hash.
struct password_hash {
    enum class kind : std::uint8_t { sha512, pbkdf2_sha512 };
    kind method = kind::pbkdf2_sha512;
    int iterations = 0; ///< PBKDF2 only
    std::string salt;   ///< decoded bytes
    std::string hash;   ///< decoded bytes, 64 of them
};

/// Strict standard base64 (RFC 4648 alphabet, '=' padding, no whitespace). False on bad
/// input.
bool base64_decode(std::string_view in, std::string& out);
std::string base64_encode(std::string_view in);

/// Parses one hash as written after "user:"; throws file_error (without a location).
password_hash parse_password_hash(std::string_view text);

/// True when `password` hashes to `h`. Compares in constant time (CRYPTO_memcmp). PBKDF2 with
/// many iterations is slow on purpose: call it off the I/O threads.
bool verify_password(const password_hash& h, std::string_view password);

/// A `$7$` line's hash part for `password`, as mosquitto_passwd would write it (tests, tools).
std::string make_pbkdf2_hash(std::string_view password, std::string_view salt, int iterations);

/// A parsed password file. Immutable once built; share it by pointer between threads.
class password_db {
public:
    /// Parses the text of a file; `source` names it in errors ("FILE:LINE: ...").
    static password_db parse(std::string_view text, const std::string& source);
    /// Reads and parses `path`; throws file_error naming it.
    static password_db load(const std::string& path);

    /// The user's hash, or nullptr.
    const password_hash* find(std::string_view user) const;
    /// True when `user` exists and `password` is right. An unknown user costs the same PBKDF2
    /// as a known one, so timing does not tell which user names exist.
    bool verify(std::string_view user, std::string_view password) const;
    std::size_t size() const noexcept { return users_.size(); }

private:
    std::map<std::string, password_hash, std::less<>> users_;
};

} // namespace coromq::plugins
