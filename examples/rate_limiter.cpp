// A connection rate limiter on on_accept: each remote IP address may open --burst connections
// at once and then --rate more per second (a token bucket per address). Connections over the
// limit are closed right after accept, before any TLS or WebSocket handshake is spent on them.
//
//   rate_limiter --listener mqtt://127.0.0.1:1883 [--rate 5] [--burst 10]
#include "example_main.hpp"

#include <coromq/broker/hooks.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <unordered_map>

using namespace coromq::broker;
using clock_type = std::chrono::steady_clock;

class rate_limiter final : public plugin {
public:
    rate_limiter(double per_second, double burst)
        : per_second_(per_second)
        , burst_(burst) {}

    std::string name() const override { return "rate_limiter"; }
    hook_set hooks() const override { return hook_accept; }

    boost::asio::awaitable<verdict> on_accept(const accept_info& conn) override {
        // Hooks of different connections run on different threads: the buckets are guarded
        // by a mutex, held for a few instructions and never across a co_await.
        const bool ok = take_token(address_of(conn.remote_address), clock_type::now());
        co_return ok ? verdict::pass : verdict::deny;
    }

private:
    struct bucket {
        double tokens;
        clock_type::time_point updated;
    };

    /// "1.2.3.4:5678" -> "1.2.3.4", "[::1]:5678" -> "[::1]".
    static std::string address_of(const std::string& remote) {
        return remote.substr(0, remote.rfind(':'));
    }

    bool take_token(const std::string& address, clock_type::time_point now) {
        std::lock_guard lock(mutex_);
        if (buckets_.size() > 100'000) {
            std::erase_if(buckets_,
                          [&](const auto& entry) { return refill(entry.second, now) >= burst_; });
        }
        auto& b = buckets_.try_emplace(address, bucket{burst_, now}).first->second;
        b.tokens = refill(b, now);
        b.updated = now;
        if (b.tokens < 1.0) {
            return false;
        }
        b.tokens -= 1.0;
        return true;
    }

    double refill(const bucket& b, clock_type::time_point now) const {
        const std::chrono::duration<double> elapsed = now - b.updated;
        return std::min(burst_, b.tokens + elapsed.count() * per_second_);
    }

    const double per_second_;
    const double burst_;
    std::mutex mutex_;
    std::unordered_map<std::string, bucket> buckets_;
};

int main(int argc, char* argv[]) {
    return example::run(argc, argv, [](server& s, const example::settings& args) {
        const auto rate = double(args.get("rate", 5L));
        const auto burst = double(args.get("burst", 10L));
        s.add_plugin(std::make_shared<rate_limiter>(rate, burst));
    });
}
