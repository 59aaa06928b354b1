// A minimal thread-safe logger: one line per call on standard error, with a UTC timestamp.
#pragma once

#include <exception>
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

/// A completion handler for a spawned coroutine (co_spawn): logs what escaped it, so that
/// nothing vanishes silently.
inline auto log_exception(const char* what) {
    return [what](const std::exception_ptr& e) {
        if (!e) {
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log("ERROR", what, ": ", ex.what());
        } catch (...) {
            log("ERROR", what, ": unknown exception");
        }
    };
}

} // namespace coromq::broker
