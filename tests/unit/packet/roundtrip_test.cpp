// Property-based round trip: random VALID packets of every type, for every protocol version that
// has them, from a fixed-seed generator. Each is encoded, framed and decoded, compared with the
// original, and re-encoded to the same bytes. PUBLISH also checks encode_publish_header +
// payload and encoded_size.
//
// The generator stays inside what the spec allows, conservatively: properties only in 5.0 and
// only those the packet may carry, single-occurrence properties at most once, values in range,
// strings well-formed UTF-8 without U+0000 (with some multi-byte characters), non-zero packet
// identifiers, reason codes the packet may carry, valid topic names and filters. So every
// failure here is a codec bug (or a generator bug: check the printed packet against the spec).
#include "codec_test_util.hpp"

#include <doctest/doctest.h>

#include <array>
#include <random>

using namespace coromq::packet;
using namespace coromq::packet::test;

namespace {

constexpr int iterations = 400; // per version, per packet type

class generator {
public:
    explicit generator(std::uint32_t seed)
        : rng_(seed) {}

    // Deterministic everywhere: no std::uniform_int_distribution (its output is unspecified).
    std::uint32_t between(std::uint32_t lo, std::uint32_t hi) {
        const std::uint64_t span = std::uint64_t{hi} - lo + 1;
        const std::uint64_t r = (std::uint64_t{rng_()} << 32) | rng_();
        return static_cast<std::uint32_t>(lo + r % span);
    }
    bool chance(int percent) { return between(0, 99) < static_cast<std::uint32_t>(percent); }

    template <class T, std::size_t N>
    T pick(const std::array<T, N>& a) {
        return a[between(0, N - 1)];
    }

    // Well-formed UTF-8, no U+0000, no control characters; some multi-byte characters.
    std::string text(std::size_t min_chars, std::size_t max_chars, bool allow_wildcards = true,
                     bool allow_slash = true) {
        static constexpr std::array<const char*, 7> multi = {
            "\xC3\xA9",         // é
            "\xC3\x9F",         // ß
            "\xE2\x82\xAC",     // €
            "\xE4\xB8\xAD",     // 中
            "\xF0\x9D\x84\x9E", // 𝄞 (U+1D11E, four bytes)
            "\xEF\xBF\xBD",     // U+FFFD
            "\xD0\xB6",         // ж
        };
        static constexpr std::string_view ascii =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:;$%&()=?!~";
        std::string s;
        const auto n =
            between(static_cast<std::uint32_t>(min_chars), static_cast<std::uint32_t>(max_chars));
        for (std::uint32_t i = 0; i < n; ++i) {
            const auto r = between(0, 99);
            if (r < 15) {
                s += pick(multi);
            } else if (r < 20 && allow_wildcards) {
                s += chance(50) ? '+' : '#';
            } else if (r < 25 && allow_slash) {
                s += '/';
            } else {
                s += ascii[between(0, ascii.size() - 1)];
            }
        }
        return s;
    }

    std::string alnum(std::size_t min_chars, std::size_t max_chars) {
        static constexpr std::string_view chars =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        std::string s;
        const auto n =
            between(static_cast<std::uint32_t>(min_chars), static_cast<std::uint32_t>(max_chars));
        for (std::uint32_t i = 0; i < n; ++i)
            s += chars[between(0, chars.size() - 1)];
        return s;
    }

    std::string binary(std::size_t min_len, std::size_t max_len) {
        std::string s;
        const auto n =
            between(static_cast<std::uint32_t>(min_len), static_cast<std::uint32_t>(max_len));
        for (std::uint32_t i = 0; i < n; ++i)
            s += static_cast<char>(between(0, 255));
        return s;
    }

    // A valid topic name: non-empty, no wildcards; levels may be empty ("a//b", "/").
    std::string topic_name() {
        std::string t;
        const auto levels = between(1, 4);
        for (std::uint32_t i = 0; i < levels; ++i) {
            if (i != 0)
                t += '/';
            t += text(0, 6, false, false);
        }
        if (t.empty())
            t = "t";
        return t;
    }

    // A valid topic filter: '+' as whole levels, '#' only as the whole last level, in 5.0
    // sometimes a shared subscription.
    std::string topic_filter(protocol_version v) {
        std::string f;
        const auto levels = between(1, 4);
        for (std::uint32_t i = 0; i < levels; ++i) {
            if (i != 0)
                f += '/';
            if (i + 1 == levels && chance(20))
                f += '#';
            else if (chance(20))
                f += '+';
            else
                f += text(0, 6, false, false);
        }
        if (f.empty())
            f = "+";
        if (v == protocol_version::v5 && chance(10))
            f = "$share/" + text(1, 5, false, false) + "/" + f;
        return f;
    }

    std::uint32_t u16_any() {
        static constexpr std::array<std::uint32_t, 5> edges = {0, 1, 255, 256, 65535};
        return chance(30) ? pick(edges) : between(0, 65535);
    }
    std::uint32_t u16_nonzero() {
        return chance(20) ? (chance(50) ? 1 : 65535) : between(1, 65535);
    }
    std::uint32_t u32_any() {
        static constexpr std::array<std::uint32_t, 6> edges = {0, 1, 127, 128, 65536, 0xFFFFFFFF};
        return chance(30) ? pick(edges) : between(0, 0xFFFFFFFF);
    }
    std::uint32_t varint_nonzero() {
        static constexpr std::array<std::uint32_t, 8> edges = {1,     127,     128,     16383,
                                                               16384, 2097151, 2097152, 268435455};
        return chance(40) ? pick(edges) : between(1, 268435455);
    }
    std::uint16_t packet_id() { return static_cast<std::uint16_t>(u16_nonzero()); }

    // One property of `id` with a valid value.
    property value_of(property_id id) {
        using pid = property_id;
        switch (id) {
        case pid::payload_format_indicator:
        case pid::request_problem_information:
        case pid::request_response_information:
        case pid::maximum_qos:
        case pid::retain_available:
        case pid::wildcard_subscription_available:
        case pid::subscription_identifier_available:
        case pid::shared_subscription_available:
            return num_prop(id, between(0, 1));
        case pid::server_keep_alive:
        case pid::topic_alias_maximum:
            return num_prop(id, u16_any());
        case pid::receive_maximum:
        case pid::topic_alias:
            return num_prop(id, u16_nonzero());
        case pid::message_expiry_interval:
        case pid::session_expiry_interval:
        case pid::will_delay_interval:
            return num_prop(id, u32_any());
        case pid::maximum_packet_size: {
            auto n = u32_any();
            return num_prop(id, n == 0 ? 1 : n);
        }
        case pid::subscription_identifier:
            return num_prop(id, varint_nonzero());
        case pid::response_topic:
            return str_prop(id, topic_name());
        case pid::content_type:
        case pid::assigned_client_identifier:
        case pid::authentication_method:
        case pid::response_information:
        case pid::server_reference:
        case pid::reason_string:
            return str_prop(id, text(0, 10));
        case pid::correlation_data:
        case pid::authentication_data:
            return str_prop(id, binary(0, 8));
        case pid::user_property:
            return user_prop(text(0, 6), text(0, 6));
        }
        FAIL("generator: unhandled property id");
        return {};
    }

    // Each of `allowed` (single-occurrence properties) at most once, some user properties,
    // `repeatable` (subscription identifier in PUBLISH) up to twice, in random order.
    // Authentication data only comes with an authentication method.
    properties props(std::initializer_list<property_id> allowed, bool user_properties = true,
                     std::optional<property_id> repeatable = std::nullopt) {
        properties out;
        bool has_method = false;
        for (auto id : allowed) {
            if (id == property_id::authentication_data)
                continue;
            if (chance(35)) {
                out.push_back(value_of(id));
                has_method |= id == property_id::authentication_method;
            }
        }
        if (has_method && chance(50))
            out.push_back(value_of(property_id::authentication_data));
        if (user_properties) {
            const auto n = chance(60) ? 0 : between(1, 3);
            for (std::uint32_t i = 0; i < n; ++i)
                out.push_back(value_of(property_id::user_property));
        }
        if (repeatable) {
            const auto n = between(0, 2);
            for (std::uint32_t i = 0; i < n; ++i)
                out.push_back(value_of(*repeatable));
        }
        // Fisher-Yates with our own generator: the wire order is what must survive.
        for (std::size_t i = out.size(); i > 1; --i)
            std::swap(out[i - 1], out[between(0, static_cast<std::uint32_t>(i - 1))]);
        return out;
    }

    qos any_qos() { return static_cast<qos>(between(0, 2)); }

    template <std::size_t N>
    reason_code reason(const std::array<std::uint8_t, N>& allowed) {
        return static_cast<reason_code>(pick(allowed));
    }

private:
    std::mt19937 rng_;
};

using pid = property_id;

// Reason codes each 5.0 packet may carry (5.0 section 2.4 and each packet's section).
constexpr std::array<std::uint8_t, 22> connack_codes = {
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr std::array<std::uint8_t, 9> puback_codes = {0x00, 0x10, 0x80, 0x83, 0x87,
                                                      0x90, 0x91, 0x97, 0x99};
constexpr std::array<std::uint8_t, 2> pubrel_codes = {0x00, 0x92};
constexpr std::array<std::uint8_t, 12> suback_codes = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                                       0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr std::array<std::uint8_t, 7> unsuback_codes = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr std::array<std::uint8_t, 29> disconnect_codes = {
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr std::array<std::uint8_t, 3> auth_codes = {0x00, 0x18, 0x19};

constexpr std::array<protocol_version, 3> all_versions = {
    protocol_version::v3_1, protocol_version::v3_1_1, protocol_version::v5};

// ----- packet generators ---------------------------------------------------------------------

connect gen_connect(generator& g, protocol_version v) {
    const bool v5_ = v == protocol_version::v5;
    const bool v31_ = v == protocol_version::v3_1;
    connect c;
    c.version = v;
    c.clean_start = g.chance(50);
    c.keep_alive = static_cast<std::uint16_t>(g.u16_any());
    // 3.1: 1..23 characters; later: may be empty, then with clean start [MQTT-3.1.3-7]
    c.client_id = g.alnum(v31_ ? 1 : 0, 23);
    if (c.client_id.empty())
        c.clean_start = true;
    if (g.chance(50)) {
        will w;
        // 3.1 will message and password are strings, later binary
        w.message = message_buffer(g.topic_name(), v31_ ? g.text(0, 10) : g.binary(0, 12));
        w.qos_level = g.any_qos();
        w.retain = g.chance(50);
        if (v5_)
            w.props = g.props({pid::will_delay_interval, pid::payload_format_indicator,
                               pid::message_expiry_interval, pid::content_type, pid::response_topic,
                               pid::correlation_data});
        c.last_will = std::move(w);
    }
    if (g.chance(50))
        c.username = g.text(0, 10);
    // before 5.0 a password needs a user name [MQTT-3.1.2-22]
    if ((c.username || v5_) && g.chance(50))
        c.password = v31_ ? g.text(0, 10) : g.binary(0, 10);
    if (v5_)
        c.props = g.props({pid::session_expiry_interval, pid::receive_maximum,
                           pid::maximum_packet_size, pid::topic_alias_maximum,
                           pid::request_response_information, pid::request_problem_information,
                           pid::authentication_method, pid::authentication_data});
    return c;
}

connack gen_connack(generator& g, protocol_version v) {
    connack c;
    if (v == protocol_version::v5) {
        c.code = static_cast<std::uint8_t>(g.reason(connack_codes));
        c.props = g.props(
            {pid::session_expiry_interval, pid::receive_maximum, pid::maximum_qos,
             pid::retain_available, pid::maximum_packet_size, pid::assigned_client_identifier,
             pid::topic_alias_maximum, pid::reason_string, pid::wildcard_subscription_available,
             pid::subscription_identifier_available, pid::shared_subscription_available,
             pid::server_keep_alive, pid::response_information, pid::server_reference,
             pid::authentication_method, pid::authentication_data});
    } else {
        c.code = static_cast<std::uint8_t>(g.between(0, 5));
    }
    // no session present before 3.1.1, nor with a failure code [MQTT-3.2.2-4] [MQTT-3.2.2-6]
    c.session_present = v != protocol_version::v3_1 && c.code == 0 && g.chance(50);
    return c;
}

publish gen_publish(generator& g, protocol_version v) {
    publish p;
    p.qos_level = g.any_qos();
    p.dup = p.qos_level != qos::at_most_once && g.chance(30);
    p.retain = g.chance(30);
    if (p.qos_level != qos::at_most_once)
        p.packet_id = g.packet_id();
    // mostly small payloads, sometimes ones that need a 2- or 3-byte remaining length
    const std::size_t payload_max = g.chance(3) ? 20000 : 40;
    p.message = message_buffer(g.topic_name(), g.binary(0, payload_max));
    if (v == protocol_version::v5)
        p.props =
            g.props({pid::payload_format_indicator, pid::message_expiry_interval, pid::topic_alias,
                     pid::response_topic, pid::correlation_data, pid::content_type},
                    true, pid::subscription_identifier);
    return p;
}

template <class T, std::size_t N>
T gen_ack(generator& g, protocol_version v, const std::array<std::uint8_t, N>& codes) {
    T a;
    a.packet_id = g.packet_id();
    if (v == protocol_version::v5) {
        a.reason = g.chance(50) ? reason_code::success : g.reason(codes);
        if (g.chance(50))
            a.props = g.props({pid::reason_string});
    }
    return a;
}

subscribe gen_subscribe(generator& g, protocol_version v) {
    subscribe s;
    s.packet_id = g.packet_id();
    const auto n = g.between(1, 4);
    for (std::uint32_t i = 0; i < n; ++i) {
        subscription sub;
        sub.filter = g.topic_filter(v);
        sub.max_qos = g.any_qos();
        if (v == protocol_version::v5) {
            // no local on a shared subscription is a protocol error [MQTT-3.8.3-4]
            sub.no_local = sub.filter.rfind("$share/", 0) != 0 && g.chance(50);
            sub.retain_as_published = g.chance(50);
            sub.retain_policy = static_cast<retain_handling>(g.between(0, 2));
        }
        s.subscriptions.push_back(std::move(sub));
    }
    if (v == protocol_version::v5)
        s.props = g.props({pid::subscription_identifier});
    return s;
}

suback gen_suback(generator& g, protocol_version v) {
    static constexpr std::array<std::uint8_t, 3> v31_codes = {0x00, 0x01, 0x02};
    static constexpr std::array<std::uint8_t, 4> v311_codes = {0x00, 0x01, 0x02, 0x80};
    suback s;
    s.packet_id = g.packet_id();
    const auto n = g.between(1, 5);
    for (std::uint32_t i = 0; i < n; ++i) {
        if (v == protocol_version::v3_1)
            s.codes.push_back(g.reason(v31_codes));
        else if (v == protocol_version::v3_1_1)
            s.codes.push_back(g.reason(v311_codes));
        else
            s.codes.push_back(g.reason(suback_codes));
    }
    if (v == protocol_version::v5)
        s.props = g.props({pid::reason_string});
    return s;
}

unsubscribe gen_unsubscribe(generator& g, protocol_version v) {
    unsubscribe u;
    u.packet_id = g.packet_id();
    const auto n = g.between(1, 4);
    for (std::uint32_t i = 0; i < n; ++i)
        u.filters.push_back(g.topic_filter(v));
    if (v == protocol_version::v5)
        u.props = g.props({});
    return u;
}

unsuback gen_unsuback(generator& g, protocol_version v) {
    unsuback u;
    u.packet_id = g.packet_id();
    if (v == protocol_version::v5) {
        const auto n = g.between(1, 4);
        for (std::uint32_t i = 0; i < n; ++i)
            u.codes.push_back(g.reason(unsuback_codes));
        u.props = g.props({pid::reason_string});
    }
    return u;
}

disconnect gen_disconnect(generator& g, protocol_version v) {
    disconnect d;
    if (v == protocol_version::v5) {
        d.reason = g.chance(30) ? reason_code::success : g.reason(disconnect_codes);
        if (g.chance(60))
            d.props =
                g.props({pid::session_expiry_interval, pid::reason_string, pid::server_reference});
    }
    return d;
}

auth gen_auth(generator& g) {
    auth a;
    a.reason = g.reason(auth_codes);
    if (g.chance(70))
        a.props =
            g.props({pid::authentication_method, pid::authentication_data, pid::reason_string});
    return a;
}

// ----- the property ---------------------------------------------------------------------------

class round_tripper {
public:
    void check(const any_packet& p, protocol_version v) {
        ++cases_;
        std::string problem;
        const std::string wire = encode_typed(p, v);
        std::string generic;
        encode(p, v, generic);
        if (generic != wire)
            problem += "encode(any_packet) differs from the typed encode: " + hex(generic) + "\n";

        const byte_vector bytes(wire.begin(), wire.end());
        auto header = parse_fixed_header(bytes, test_max_packet_size);
        if (!header || !*header || (*header)->packet_size() != bytes.size()) {
            problem += "fixed header of the encoding is not a whole packet\n";
        } else {
            auto out = decode_wire(bytes, v);
            if (out.error != errc::ok) {
                problem += std::string("decode failed: ") + to_string(out.error) + "\n";
            } else if (!(*out.packet == p)) {
                problem += "decoded: " + describe(*out.packet) + "\n";
            } else {
                const std::string again = encode_typed(*out.packet, v);
                if (again != wire)
                    problem += "re-encoded: " + hex(again) + "\n";
            }
        }
        if (const auto* pub = std::get_if<publish>(&p)) {
            std::string header_only;
            encode_publish_header(*pub, v, header_only);
            if (header_only + std::string(pub->payload()) != wire)
                problem += "encode_publish_header + payload: " + hex(header_only) + " + payload\n";
            const auto size = encoded_size(*pub, v);
            if (size != wire.size())
                problem += "encoded_size " + std::to_string(size) +
                           " != " + std::to_string(wire.size()) + "\n";
        }
        if (!problem.empty()) {
            ++failures_;
            if (failures_ <= 5) {
                const std::string packet = describe(p);
                const std::string wire_hex = hex(wire.size() > 400 ? wire.substr(0, 400) : wire);
                FAIL_CHECK("round trip failed, version " << int(v) << "\n  packet: " << packet
                                                         << "\n  wire: " << wire_hex << "\n  "
                                                         << problem);
            }
        }
    }

    ~round_tripper() {
        CHECK(failures_ == 0);
        CHECK(cases_ > 0);
        MESSAGE(cases_ << " random packets, " << failures_ << " failed");
    }

private:
    int cases_ = 0;
    int failures_ = 0;
};

// Decodes mutated bytes. A mutated packet may be rejected with any error; what it must never
// do is crash (run under -Db_sanitize=address,undefined) or decode to something that does not
// survive its own round trip: decode(encode(decode(x))) == decode(x).
class mutation_checker {
public:
    void check(const byte_vector& wire, protocol_version v) {
        ++cases_;
        auto header = parse_fixed_header(wire, test_max_packet_size);
        if (!header || !*header || (*header)->packet_size() != wire.size())
            return;
        const fixed_header h = **header;
        bytes_view body = bytes_view{wire}.subspan(h.size);
        std::optional<any_packet> first;
        if (h.type == packet_type::connect) {
            if (auto r = decode_connect(h, body))
                first.emplace(std::in_place_type<connect>, std::move(*r));
        } else if (auto r = decode(h, body, v)) {
            first = std::move(*r);
        }
        if (!first)
            return;
        ++accepted_;
        const std::string again = encode_typed(*first, v);
        const byte_vector again_bytes(again.begin(), again.end());
        auto second = decode_wire(again_bytes, v);
        if (second.error == errc::ok && second.packet && *second.packet == *first)
            return;
        ++failures_;
        if (failures_ <= 5) {
            const std::string input = hex(wire);
            const std::string decoded = describe(*first);
            const std::string reencoded = hex(again);
            FAIL_CHECK("accepted input does not survive a round trip, version "
                       << int(v) << "\n  input: " << input << "\n  decoded: " << decoded
                       << "\n  re-encoded: " << reencoded
                       << "\n  second decode: " << to_string(second.error));
        }
    }

    ~mutation_checker() {
        CHECK(failures_ == 0);
        MESSAGE(cases_ << " mutated packets, " << accepted_ << " accepted, " << failures_
                       << " failed the round trip");
    }

private:
    int cases_ = 0;
    int accepted_ = 0;
    int failures_ = 0;
};

// A few random edits of the body (and sometimes of the first byte), re-framed so that the
// remaining length matches: the decoder sees well-framed but otherwise arbitrary bodies.
byte_vector mutate(generator& g, const std::string& encoded) {
    const byte_vector bytes(encoded.begin(), encoded.end());
    auto header = parse_fixed_header(bytes, test_max_packet_size);
    REQUIRE(header.has_value());
    REQUIRE(header->has_value());
    std::uint8_t first = bytes[0];
    byte_vector body(bytes.begin() + (*header)->size, bytes.end());
    const auto edits = g.between(1, 3);
    for (std::uint32_t i = 0; i < edits; ++i) {
        const auto kind = g.between(0, 5);
        if (kind == 0 || body.empty()) {
            body.insert(body.begin() + g.between(0, static_cast<std::uint32_t>(body.size())),
                        static_cast<std::uint8_t>(g.between(0, 255)));
        } else if (kind == 1) {
            body.erase(body.begin() + g.between(0, static_cast<std::uint32_t>(body.size() - 1)));
        } else if (kind == 2) {
            body.resize(g.between(0, static_cast<std::uint32_t>(body.size() - 1)));
        } else if (kind == 3) {
            first ^= static_cast<std::uint8_t>(1u << g.between(0, 3));
        } else {
            body[g.between(0, static_cast<std::uint32_t>(body.size() - 1))] ^=
                static_cast<std::uint8_t>(1u << g.between(0, 7));
        }
    }
    return frame(first, body);
}

} // namespace

TEST_CASE("round trip: random valid CONNECT, versions 3.1, 3.1.1, 5.0") {
    generator g(0xC0'01);
    round_tripper rt;
    for (int i = 0; i < iterations; ++i)
        for (auto v : all_versions)
            rt.check(gen_connect(g, v), v);
}

TEST_CASE("round trip: random valid CONNACK, versions 3.1, 3.1.1, 5.0") {
    generator g(0xC0'02);
    round_tripper rt;
    for (int i = 0; i < iterations; ++i)
        for (auto v : all_versions)
            rt.check(gen_connack(g, v), v);
}

TEST_CASE("round trip: random valid PUBLISH, versions 3.1, 3.1.1, 5.0") {
    generator g(0xC0'03);
    round_tripper rt;
    for (int i = 0; i < iterations; ++i)
        for (auto v : all_versions)
            rt.check(gen_publish(g, v), v);
}

TEST_CASE("round trip: random valid PUBACK, PUBREC, PUBREL, PUBCOMP, versions 3.1, 3.1.1, 5.0") {
    generator g(0xC0'04);
    round_tripper rt;
    for (int i = 0; i < iterations; ++i) {
        for (auto v : all_versions) {
            rt.check(gen_ack<puback>(g, v, puback_codes), v);
            rt.check(gen_ack<pubrec>(g, v, puback_codes), v);
            rt.check(gen_ack<pubrel>(g, v, pubrel_codes), v);
            rt.check(gen_ack<pubcomp>(g, v, pubrel_codes), v);
        }
    }
}

TEST_CASE("round trip: random valid SUBSCRIBE and SUBACK, versions 3.1, 3.1.1, 5.0") {
    generator g(0xC0'05);
    round_tripper rt;
    for (int i = 0; i < iterations; ++i) {
        for (auto v : all_versions) {
            rt.check(gen_subscribe(g, v), v);
            rt.check(gen_suback(g, v), v);
        }
    }
}

TEST_CASE("round trip: random valid UNSUBSCRIBE and UNSUBACK, versions 3.1, 3.1.1, 5.0") {
    generator g(0xC0'06);
    round_tripper rt;
    for (int i = 0; i < iterations; ++i) {
        for (auto v : all_versions) {
            rt.check(gen_unsubscribe(g, v), v);
            rt.check(gen_unsuback(g, v), v);
        }
    }
}

TEST_CASE("round trip: PINGREQ, PINGRESP, random valid DISCONNECT (all versions) and AUTH (5.0)") {
    generator g(0xC0'07);
    round_tripper rt;
    for (auto v : all_versions) {
        rt.check(pingreq{}, v);
        rt.check(pingresp{}, v);
    }
    for (int i = 0; i < iterations; ++i) {
        for (auto v : all_versions)
            rt.check(gen_disconnect(g, v), v);
        rt.check(gen_auth(g), protocol_version::v5);
    }
}

TEST_CASE("mutated valid packets never crash the decoder and accepted ones round trip") {
    generator g(0xC0'08);
    mutation_checker mc;
    for (int i = 0; i < iterations / 4; ++i) {
        for (auto v : all_versions) {
            std::vector<any_packet> packets{
                gen_connect(g, v),
                gen_connack(g, v),
                gen_publish(g, v),
                gen_ack<puback>(g, v, puback_codes),
                gen_ack<pubrel>(g, v, pubrel_codes),
                gen_subscribe(g, v),
                gen_suback(g, v),
                gen_unsubscribe(g, v),
                gen_unsuback(g, v),
                gen_disconnect(g, v),
            };
            if (v == protocol_version::v5)
                packets.push_back(gen_auth(g));
            for (const auto& p : packets) {
                const std::string encoded = encode_typed(p, v);
                for (int m = 0; m < 4; ++m)
                    mc.check(mutate(g, encoded), v);
            }
        }
    }
}
