// A minimal thread-safe logger: one line per call on standard error, with a UTC timestamp.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace coromq::broker {

/// Writes "2026-11-26T12:00:00.123Z LEVEL message" to stderr in one write.
void log_line(std::string_view level, std::string_view message);

/// Streams its arguments into one log line.
template <class... Args>
void log(std::string_view level, const Args&... args) {
    std::ostringstream line;
    (line << ... << args);
    log_line(level, line.str());
}

} // namespace coromq::broker
