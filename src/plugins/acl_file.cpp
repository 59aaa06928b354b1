#include "acl_file.hpp"

#include <coromq/topic/topic.hpp>

#include <fstream>
#include <sstream>

namespace coromq::plugins {

namespace {

bool is_wildcard(std::string_view level) {
    return level == "+" || level == "#";
}

/// [MQTT-4.7.2-1] a filter starting with a wildcard matches no topic starting with '$'.
/// True when `a` and `b` can share no topic for that reason alone.
bool dollar_apart(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
    if (a.empty() || b.empty()) {
        return false;
    }
    return (is_wildcard(a[0]) && b[0].starts_with('$')) ||
           (is_wildcard(b[0]) && a[0].starts_with('$'));
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

/// Splits off the first space-separated word of `s`; `s` keeps the (trimmed) rest.
std::string_view take_word(std::string_view& s) {
    const auto end = s.find_first_of(" \t");
    const auto word = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
    return word;
}

std::optional<acl_access> parse_access(std::string_view word) {
    if (word == "read") {
        return acl_access::read;
    }
    if (word == "write") {
        return acl_access::write;
    }
    if (word == "readwrite") {
        return acl_access::readwrite;
    }
    if (word == "deny") {
        return acl_access::deny;
    }
    return std::nullopt;
}

bool fills_a_level(const std::optional<std::string>& value) {
    return value && !value->empty() && value->find_first_of("+#/") == std::string::npos;
}

/// The pattern with %c and %u levels filled in; nullopt when it does not apply to the client.
std::optional<std::string> fill(const acl_rule& rule, const std::optional<std::string>& username,
                                std::string_view client_id) {
    const bool deny = rule.access == acl_access::deny;
    std::string out;
    bool first = true;
    for (const auto level : topic::split(rule.topic)) {
        if (!first) {
            out += '/';
        }
        first = false;
        if (level == "%c" || level == "%u") {
            if (level == "%u" && !username) {
                return std::nullopt; // as in Mosquitto: %u patterns skip anonymous clients
            }
            const std::optional<std::string> value =
                level == "%u" ? username : std::optional<std::string>(client_id);
            if (fills_a_level(value)) {
                out += *value;
            } else if (deny) {
                out += '+'; // fail closed
            } else {
                return std::nullopt;
            }
        } else {
            out += level;
        }
    }
    return out;
}

bool may_read(acl_access a) {
    return a == acl_access::read || a == acl_access::readwrite;
}
bool may_write(acl_access a) {
    return a == acl_access::write || a == acl_access::readwrite;
}

} // namespace

bool filter_covers(std::string_view acl, std::string_view filter) {
    const auto a = topic::split(acl);
    const auto f = topic::split(filter);
    if (!a.empty() && !f.empty() && is_wildcard(a[0]) && f[0].starts_with('$')) {
        return false; // `filter` matches only $-topics, which `acl` never matches
    }
    for (std::size_t i = 0;; ++i) {
        if (i < a.size() && a[i] == "#") {
            return true; // "x/#" covers "x" too
        }
        if (i == f.size()) {
            return i == a.size();
        }
        if (i == a.size() || f[i] == "#") {
            return false;
        }
        if (a[i] == "+") {
            continue; // a literal level or '+' in the filter
        }
        if (f[i] == "+" || a[i] != f[i]) {
            return false;
        }
    }
}

bool filters_overlap(std::string_view a_text, std::string_view b_text) {
    const auto a = topic::split(a_text);
    const auto b = topic::split(b_text);
    if (dollar_apart(a, b)) {
        return false;
    }
    for (std::size_t i = 0;; ++i) {
        if ((i < a.size() && a[i] == "#") || (i < b.size() && b[i] == "#")) {
            return true;
        }
        if (i == a.size() || i == b.size()) {
            return i == a.size() && i == b.size();
        }
        if (a[i] != "+" && b[i] != "+" && a[i] != b[i]) {
            return false;
        }
    }
}

acl_db acl_db::parse(std::string_view text, const std::string& source) {
    acl_db db;
    std::vector<acl_rule>* current = &db.anonymous_;
    int number = 0;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        auto line = trim(text.substr(0, eol));
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        ++number;
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const std::string where = source + ":" + std::to_string(number) + ": ";
        const auto keyword = take_word(line);
        if (keyword == "user") {
            if (line.empty()) {
                throw file_error(where + "`user` without a user name");
            }
            current = &db.users_[std::string(line)];
            continue;
        }
        if (keyword != "topic" && keyword != "pattern") {
            throw file_error(where + "expected `user`, `topic` or `pattern`, got '" +
                             std::string(keyword) + "'");
        }
        acl_rule rule;
        rule.line = number;
        if (line.empty()) {
            throw file_error(where + "`" + std::string(keyword) + "` without a topic");
        }
        // As in Mosquitto: one word is the topic; with more, the first is the access.
        auto rest = line;
        const auto first = take_word(rest);
        if (rest.empty()) {
            rule.topic = std::string(first);
        } else if (const auto access = parse_access(first)) {
            rule.access = *access;
            rule.topic = std::string(rest);
        } else {
            throw file_error(where + "unknown access '" + std::string(first) +
                             "' (read, write, readwrite or deny)");
        }
        if (!topic::valid_filter(rule.topic)) {
            throw file_error(where + "'" + rule.topic + "' is not a valid topic filter");
        }
        (keyword == "pattern" ? db.patterns_ : *current).push_back(std::move(rule));
    }
    return db;
}

acl_db acl_db::load(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw file_error("cannot read ACL file '" + path + "'");
    }
    std::ostringstream text;
    text << file.rdbuf();
    return parse(text.str(), path);
}

std::size_t acl_db::rule_count() const noexcept {
    std::size_t n = anonymous_.size() + patterns_.size();
    for (const auto& [user, rules] : users_) {
        n += rules.size();
    }
    return n;
}

/// Calls `check(access, topic)` for every entry that applies to the client (its own entries,
/// then the patterns, filled in) until it returns false. No allocation but for patterns.
template <class Check>
void acl_db::for_each_rule(const std::optional<std::string>& username, std::string_view client_id,
                           Check check) const {
    const std::vector<acl_rule>* own = &anonymous_;
    if (username) {
        const auto it = users_.find(*username);
        own = it == users_.end() ? nullptr : &it->second;
    }
    if (own) {
        for (const auto& r : *own) {
            if (!check(r.access, std::string_view(r.topic))) {
                return;
            }
        }
    }
    for (const auto& p : patterns_) {
        if (p.topic.find('%') == std::string::npos) {
            if (!check(p.access, std::string_view(p.topic))) {
                return;
            }
        } else if (const auto filled = fill(p, username, client_id)) {
            if (!check(p.access, std::string_view(*filled))) {
                return;
            }
        }
    }
}

bool acl_db::may_subscribe(const std::optional<std::string>& username, std::string_view client_id,
                           std::string_view filter) const {
    if (const auto shared = topic::parse_shared(filter)) {
        filter = shared->filter;
    }
    bool denied = false;
    bool granted = false;
    for_each_rule(username, client_id, [&](acl_access access, std::string_view acl) {
        if (access == acl_access::deny) {
            denied = filters_overlap(acl, filter);
        } else if (!granted && may_read(access)) {
            granted = filter_covers(acl, filter);
        }
        return !denied;
    });
    return granted && !denied;
}

bool acl_db::may_publish(const std::optional<std::string>& username, std::string_view client_id,
                         std::string_view name) const {
    if (!topic::valid_name(name)) {
        return false; // e.g. an empty topic with a 5.0 topic alias: nothing to check against
    }
    bool denied = false;
    bool granted = false;
    for_each_rule(username, client_id, [&](acl_access access, std::string_view acl) {
        if (access == acl_access::deny) {
            denied = topic::matches(acl, name);
        } else if (!granted && may_write(access)) {
            granted = topic::matches(acl, name);
        }
        return !denied;
    });
    return granted && !denied;
}

} // namespace coromq::plugins
