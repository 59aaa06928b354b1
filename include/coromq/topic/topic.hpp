// Topic names and topic filters (MQTT 3.1.1 section 4.7, 5.0 section 4.7 and 4.8.2).
// Pure functions; no allocation except `split`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coromq::topic {

/// True when `name` may be used as the topic of a PUBLISH: at least one character, no '+'
/// or '#' [MQTT-3.3.2-2] [MQTT-4.7.3-1]. UTF-8 well-formedness is the codec's business.
bool valid_name(std::string_view name) noexcept;

/// True when `filter` is a valid topic filter: at least one character [MQTT-4.7.3-1], '#'
/// only as the whole last level [MQTT-4.7.1-2], '+' only as a whole level [MQTT-4.7.1-3].
bool valid_filter(std::string_view filter) noexcept;

/// True when the topic name `name` matches the filter `filter`. A filter starting with a
/// wildcard does not match a name starting with '$' [MQTT-4.7.2-1]; "sport/#" matches "sport".
bool matches(std::string_view filter, std::string_view name) noexcept;

/// The levels of a name or filter ("a//b" -> {"a", "", "b"}).
std::vector<std::string_view> split(std::string_view topic);

/// A shared subscription "$share/{group}/{filter}" taken apart (MQTT 5.0 section 4.8.2).
struct shared_filter {
    std::string_view group;
    std::string_view filter;
};

/// The group and filter of a "$share/..." filter; nullopt when `filter` is not one, or when the
/// group is empty or holds '+' or '#', or the filter part is missing [MQTT-4.8.2-1/2].
std::optional<shared_filter> parse_shared(std::string_view filter) noexcept;

} // namespace coromq::topic
