// A worker: one thread running one io_context that drives its share of the connections.
// The main thread only posts commands to it and reads its counters; results are copied out
// by a snapshot taken on the worker's own thread.
#pragma once

#include "client.hpp"
#include "options.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace coromq::bench {

/// What the main thread watches while a run goes on.
struct worker_counters {
    counter connected;
    counter connect_failed;
    counter subscribed;
    counter subscribe_failed;
    counter published;
    counter completed; ///< QoS 1/2 publishes acknowledged (PUBACK, PUBCOMP)
    counter received;  ///< PUBLISH packets delivered to subscribers, duplicates included
    counter publishers_done;
    counter lost_connections; ///< closed by the broker or the network after CONNACK
    counter closed;
    std::atomic<std::uint64_t> last_delivery_ns{0};
};

/// Results of one worker, copied on its thread.
struct worker_snapshot {
    histogram latency;
    histogram connect_time;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> sent_by_publisher;
    std::uint64_t subscribers_expecting_all = 0;
    std::vector<std::uint32_t> subscribers_expecting_one; ///< the publisher each one expects
    std::uint64_t unique_expected = 0; ///< distinct messages from expected publishers
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;
    std::uint64_t gaps = 0;
    std::uint64_t foreign = 0; ///< from publishers a subscriber did not expect
    std::uint64_t unstamped = 0;
    std::uint64_t qos2_resends = 0;   ///< QoS 2 PUBLISH resent with DUP before PUBREL
    std::uint64_t qos2_id_reuses = 0; ///< QoS 2 PUBLISH on an id awaiting PUBREL, no DUP
    std::string first_error;
};

class worker {
public:
    worker(const options& o, unsigned id);
    ~worker();

    const options& opt;
    const unsigned id;
    const packet::protocol_version version;
    worker_counters counters;
    /// End-to-end latency and connect time; touched on this worker's thread only.
    histogram latency;
    histogram connect_time;
    std::vector<std::unique_ptr<client>> clients;

    asio::io_context& io() noexcept { return io_; }
    /// TLS client settings of this worker's connections (transports tls, wss), else null.
    asio::ssl::context* tls_context() noexcept { return tls_context_.get(); }
    void start();
    /// Lets the io_context run out of work, waits at most `grace`, then stops and joins.
    void stop(std::chrono::milliseconds grace);

    // Commands posted by the main thread.
    void connect_role(role which, tcp::endpoint broker, std::vector<asio::ip::address> sources,
                      double rate, unsigned concurrency);
    void start_publishing(std::uint64_t count, double rate_per_publisher, std::uint64_t start_ns);
    void stop_publishing();
    void close_all();
    std::future<worker_snapshot> snapshot();

    bool publishing_stopped() const noexcept { return publishing_stopped_; }
    bool closing() const noexcept { return closing_; }
    void note_error(const std::string& what);

private:
    asio::awaitable<void> connector(std::vector<client*>& list, std::size_t& next,
                                    std::uint64_t& next_slot, tcp::endpoint broker,
                                    const std::vector<asio::ip::address>& sources,
                                    double interval_ns);
    asio::awaitable<void> housekeeping();

    asio::io_context io_{1};
    std::unique_ptr<asio::ssl::context> tls_context_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
    bool publishing_stopped_ = false;
    bool closing_ = false;
    std::string first_error_;
    asio::steady_timer* housekeeping_timer_ = nullptr;

    // The connect phase in progress (one at a time).
    std::vector<client*> connect_list_;
    std::size_t connect_next_ = 0;
    std::uint64_t connect_slot_ = 0;
    std::vector<asio::ip::address> sources_;
};

/// Logs what escaped a coroutine: nothing may vanish silently.
void log_exception(std::exception_ptr e);

} // namespace coromq::bench
