#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace coromq::broker {

void log_line(std::string_view level, std::string_view message) {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto t = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "%s.%03dZ %.*s %.*s\n", stamp, int(ms), int(level.size()), level.data(),
                 int(message.size()), message.data());
    std::fflush(stderr);
}

} // namespace coromq::broker
