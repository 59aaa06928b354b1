#include "password_file.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <climits>
#include <fstream>
#include <sstream>
#include <vector>

namespace coromq::plugins {

namespace {

constexpr std::size_t hash_size = 64; // SHA-512
constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
    const auto at = alphabet.find(c);
    return at == std::string_view::npos ? -1 : int(at);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

std::string sha512(std::string_view a, std::string_view b) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int n = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) == 1 &&
                    EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
                    EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, out.data(), &n) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(out.data()), n);
}

std::string pbkdf2(std::string_view password, std::string_view salt, int iterations) {
    std::string out(hash_size, '\0');
    const int ok = PKCS5_PBKDF2_HMAC(password.data(), int(password.size()),
                                     reinterpret_cast<const unsigned char*>(salt.data()),
                                     int(salt.size()), iterations, EVP_sha512(), int(out.size()),
                                     reinterpret_cast<unsigned char*>(out.data()));
    return ok == 1 ? out : std::string{};
}

/// What an unknown user's password is checked against, so that it costs what a real one does.
const password_hash& decoy() {
    static const password_hash h{password_hash::kind::pbkdf2_sha512, 101, std::string(12, '\x5a'),
                                 std::string(hash_size, '\0')};
    return h;
}

} // namespace

bool base64_decode(std::string_view in, std::string& out) {
    out.clear();
    if (in.size() % 4 != 0) {
        return false;
    }
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = in[i + k];
            if (c == '=' && last && k >= 2) {
                v[k] = 0;
                ++pad;
                continue;
            }
            if (pad > 0) {
                return false; // data after padding
            }
            v[k] = sextet(c);
            if (v[k] < 0) {
                return false;
            }
        }
        const std::uint32_t n = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                                (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
        out.push_back(char((n >> 16) & 0xFF));
        if (pad < 2) {
            out.push_back(char((n >> 8) & 0xFF));
        }
        if (pad < 1) {
            out.push_back(char(n & 0xFF));
        }
    }
    return true;
}

std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const std::size_t left = in.size() - i;
        std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
        if (left > 1) {
            n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        }
        if (left > 2) {
            n |= std::uint32_t(std::uint8_t(in[i + 2]));
        }
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(left > 1 ? alphabet[(n >> 6) & 63] : '=');
        out.push_back(left > 2 ? alphabet[n & 63] : '=');
    }
    return out;
}

password_hash parse_password_hash(std::string_view text) {
    // "$7$ITER$SALT$HASH" or "$6$SALT$HASH"
    std::vector<std::string_view> parts;
    while (true) {
        const auto dollar = text.find('$');
        parts.push_back(text.substr(0, dollar));
        if (dollar == std::string_view::npos) {
            break;
        }
        text.remove_prefix(dollar + 1);
    }
    password_hash h;
    std::string_view salt;
    std::string_view hash;
    if (parts.size() == 5 && parts[0].empty() && parts[1] == "7") {
        h.method = password_hash::kind::pbkdf2_sha512;
        const auto iter = parts[2];
        const auto [end, ec] =
            std::from_chars(iter.data(), iter.data() + iter.size(), h.iterations);
        if (ec != std::errc{} || end != iter.data() + iter.size() || h.iterations < 1) {
            throw file_error("bad iteration count '" + std::string(iter) + "'");
        }
        salt = parts[3];
        hash = parts[4];
    } else if (parts.size() == 4 && parts[0].empty() && parts[1] == "6") {
        h.method = password_hash::kind::sha512;
        salt = parts[2];
        hash = parts[3];
    } else {
        throw file_error("not a mosquitto_passwd hash ($7$ITERATIONS$SALT$HASH or "
                         "$6$SALT$HASH); plain-text passwords are not accepted");
    }
    if (!base64_decode(salt, h.salt) || h.salt.empty()) {
        throw file_error("bad base64 salt");
    }
    if (!base64_decode(hash, h.hash)) {
        throw file_error("bad base64 hash");
    }
    if (h.hash.size() != hash_size) {
        throw file_error("hash is " + std::to_string(h.hash.size()) + " bytes, expected 64");
    }
    return h;
}

bool verify_password(const password_hash& h, std::string_view password) {
    const std::string computed = h.method == password_hash::kind::sha512
                                     ? sha512(password, h.salt)
                                     : pbkdf2(password, h.salt, h.iterations);
    return computed.size() == h.hash.size() &&
           CRYPTO_memcmp(computed.data(), h.hash.data(), h.hash.size()) == 0;
}

std::string make_pbkdf2_hash(std::string_view password, std::string_view salt, int iterations) {
    return "$7$" + std::to_string(iterations) + "$" + base64_encode(salt) + "$" +
           base64_encode(pbkdf2(password, salt, iterations));
}

password_db password_db::parse(std::string_view text, const std::string& source) {
    password_db db;
    int number = 0;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        const auto raw = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        ++number;
        const auto line = trim(raw);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const std::string where = source + ":" + std::to_string(number) + ": ";
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            throw file_error(where + "expected USER:HASH");
        }
        try {
            // A user listed twice: the later line wins, as in Mosquitto.
            db.users_[std::string(line.substr(0, colon))] =
                parse_password_hash(line.substr(colon + 1));
        } catch (const file_error& e) {
            throw file_error(where + "user '" + std::string(line.substr(0, colon)) +
                             "': " + e.what());
        }
    }
    return db;
}

password_db password_db::load(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw file_error("cannot read password file '" + path + "'");
    }
    std::ostringstream text;
    text << file.rdbuf();
    return parse(text.str(), path);
}

const password_hash* password_db::find(std::string_view user) const {
    const auto it = users_.find(user);
    return it == users_.end() ? nullptr : &it->second;
}

bool password_db::verify(std::string_view user, std::string_view password) const {
    const auto* h = find(user);
    if (!h) {
        verify_password(decoy(), password); // same cost, result ignored
        return false;
    }
    return verify_password(*h, password);
}

} // namespace coromq::plugins
