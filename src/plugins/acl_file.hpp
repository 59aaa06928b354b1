// Mosquitto ACL files (mosquitto.conf(5), "acl_file"):
//
//   # comment
//   topic [read|write|readwrite|deny] TOPIC     before the first `user`: anonymous clients
//   user NAME                                   the `topic` lines below are NAME's
//   topic [read|write|readwrite|deny] TOPIC
//   pattern [read|write|readwrite|deny] PATTERN  every client; a level that is exactly %c or
//                                                %u is the client id or the user name
//
// With no access word, access is readwrite; as in Mosquitto, `topic read` alone is the topic
// "read". TOPIC may hold the wildcards + and #, and spaces.
//
// Decisions (where Mosquitto has none, or where we do better than it):
// - Subscriptions are checked when they are made, not at each delivery: a filter is allowed
//   when a read (or readwrite) entry *covers* it, i.e. matches every topic the filter can
//   match (`sensors/#` covers `sensors/+/temp`; `sensors/+` does not cover `sensors/#`).
// - Deny entries win: a filter that could receive a topic some deny entry matches is refused;
//   a topic name a deny entry matches may not be published to.
// - A pattern with %u does not apply to a client without a user name (as in Mosquitto). A
//   client id or user name that is empty or holds '+', '#' or '/' fills in nothing: such a
//   pattern grants nothing, and as a deny entry it applies with '+' at that level, so an odd
//   client id never slips past a deny pattern.
// - `$share/GROUP/FILTER` is checked as FILTER.
#pragma once

#include "password_file.hpp" // file_error

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coromq::plugins {

/// True when every topic name `filter` can match is matched by `acl` (both valid filters).
bool filter_covers(std::string_view acl, std::string_view filter);
/// True when some topic name is matched by both filters.
bool filters_overlap(std::string_view a, std::string_view b);

enum class acl_access : std::uint8_t { read = 1, write = 2, readwrite = 3, deny = 4 };

struct acl_rule {
    acl_access access = acl_access::readwrite;
    std::string topic;
    int line = 0;
};

/// A parsed ACL file. Immutable once built; share it by pointer between threads.
class acl_db {
public:
    /// Parses the text of a file; `source` names it in errors ("FILE:LINE: ...").
    static acl_db parse(std::string_view text, const std::string& source);
    /// Reads and parses `path`; throws file_error naming it.
    static acl_db load(const std::string& path);

    /// May this client subscribe to `filter` (a valid filter, maybe "$share/...")?
    bool may_subscribe(const std::optional<std::string>& username, std::string_view client_id,
                       std::string_view filter) const;
    /// May this client publish to the topic name `topic`?
    bool may_publish(const std::optional<std::string>& username, std::string_view client_id,
                     std::string_view topic) const;

    /// Entries, for tests and logs.
    std::size_t rule_count() const noexcept;

private:
    template <class Check>
    void for_each_rule(const std::optional<std::string>& username, std::string_view client_id,
                       Check check) const;

    std::vector<acl_rule> anonymous_;
    std::map<std::string, std::vector<acl_rule>, std::less<>> users_;
    std::vector<acl_rule> patterns_;
};

} // namespace coromq::plugins
