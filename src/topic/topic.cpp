// Topic names and filters (MQTT 3.1.1 section 4.7, 5.0 sections 4.7 and 4.8.2).
//
// valid_name, valid_filter and matches run for every PUBLISH and SUBSCRIBE, so they are
// single forward passes over the bytes with no allocation and no search for '/' ahead of
// the cursor. UTF-8 well-formedness and U+0000 [MQTT-4.7.3-2] are checked by the codec when
// the string is decoded, and the 65,535 byte limit [MQTT-4.7.3-3] is the wire format's own.
#include <coromq/topic/topic.hpp>

namespace coromq::topic {

namespace {

constexpr char separator = '/';
constexpr char single_level = '+';
constexpr char multi_level = '#';

constexpr std::string_view share_prefix = "$share/";

} // namespace

bool valid_name(std::string_view name) noexcept {
    if (name.empty()) { // [MQTT-4.7.3-1]
        return false;
    }
    for (const char c : name) {
        if (c == single_level || c == multi_level) { // [MQTT-4.7.1-1] [MQTT-3.3.2-2]
            return false;
        }
    }
    return true;
}

bool valid_filter(std::string_view filter) noexcept {
    if (filter.empty()) { // [MQTT-4.7.3-1]
        return false;
    }
    const std::size_t size = filter.size();
    for (std::size_t i = 0; i < size; ++i) {
        const char c = filter[i];
        if (c != single_level && c != multi_level) {
            continue;
        }
        const bool starts_level = i == 0 || filter[i - 1] == separator;
        if (!starts_level) {
            return false; // "sport+", "sport/tennis#"
        }
        if (c == multi_level) {
            // [MQTT-4.7.1-2] on its own or after a separator, and the last character.
            if (i + 1 != size) {
                return false;
            }
        } else if (i + 1 != size && filter[i + 1] != separator) {
            return false; // [MQTT-4.7.1-3] '+' occupies an entire level.
        }
    }
    return true;
}

bool matches(std::string_view filter, std::string_view name) noexcept {
    if (filter.empty() || name.empty()) { // [MQTT-4.7.3-1]: neither can match anything
        return false;
    }
    // [MQTT-4.7.2-1] "$SYS/..." and the like are reachable only by filters that spell out
    // their first level: "#" and "+/monitor/Clients" do not match "$SYS/monitor/Clients".
    if (name.front() == '$' && (filter.front() == single_level || filter.front() == multi_level)) {
        return false;
    }

    const char* f = filter.data();
    const char* const f_end = f + filter.size();
    const char* n = name.data();
    const char* const n_end = n + name.size();

    // Invariant at the top of the loop: f and n are at the start of a level (possibly empty,
    // possibly at the end: "a/" has an empty last level).
    while (f != f_end) {
        if (*f == multi_level) {
            // '#' matches this level and every level below it. Only valid as the last
            // character; an invalid "#/x" matches nothing rather than everything.
            return f + 1 == f_end;
        }
        if (*f == single_level) {
            // '+' matches exactly one level, which may be empty ("+/+" matches "/").
            while (n != n_end && *n != separator) {
                ++n;
            }
            ++f;
            if (f != f_end && *f != separator) {
                return false; // "+x" is not a valid filter
            }
        } else {
            // A literal level: byte-for-byte, no normalisation [MQTT-4.7.3-4].
            while (f != f_end && *f != separator) {
                if (n == n_end || *n != *f) {
                    return false;
                }
                ++f;
                ++n;
            }
            if (n != n_end && *n != separator) {
                return false; // the name's level is longer: "sport" vs "sports"
            }
        }

        // Both are now at a separator or at their end.
        if (f == f_end) {
            return n == n_end; // "sport/tennis/+" does not match "sport/tennis/player1/x"
        }
        ++f; // past the filter's '/'
        if (n == n_end) {
            // The name has no more levels. Only a trailing "/#" still matches, because '#'
            // includes the parent level: "sport/#" matches "sport". "sport/+" does not.
            return f_end - f == 1 && *f == multi_level;
        }
        ++n; // past the name's '/'
    }
    // The filter ended with '/', so its last level is empty ("a/" matches only "a/").
    return n == n_end;
}

std::vector<std::string_view> split(std::string_view topic) {
    std::vector<std::string_view> levels;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = topic.find(separator, start);
        if (end == std::string_view::npos) {
            levels.push_back(topic.substr(start));
            return levels;
        }
        levels.push_back(topic.substr(start, end - start));
        start = end + 1;
    }
}

std::optional<shared_filter> parse_shared(std::string_view filter) noexcept {
    // The prefix is case sensitive: "$SHARE/g/x" is an ordinary filter.
    if (!filter.starts_with(share_prefix)) {
        return std::nullopt;
    }
    const std::string_view rest = filter.substr(share_prefix.size());
    const std::size_t slash = rest.find(separator);
    if (slash == std::string_view::npos) {
        return std::nullopt; // [MQTT-4.8.2-2] the ShareName must be followed by '/'
    }
    const std::string_view group = rest.substr(0, slash);
    if (group.empty()) {
        return std::nullopt; // [MQTT-4.8.2-1] at least one character
    }
    if (group.find_first_of("+#") != std::string_view::npos) {
        return std::nullopt; // [MQTT-4.8.2-2] no '/', '+' or '#' in the ShareName
    }
    const std::string_view inner = rest.substr(slash + 1);
    if (inner.empty()) {
        return std::nullopt; // [MQTT-4.8.2-2] '/' must be followed by a topic filter
    }
    // The inner filter is returned as is; the caller checks it with valid_filter.
    return shared_filter{group, inner};
}

} // namespace coromq::topic
