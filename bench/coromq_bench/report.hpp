// What a run measured, and how it is printed: a human summary, or JSON for scripts.
#pragma once

#include "histogram.hpp"
#include "options.hpp"
#include "worker.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace coromq::bench {

/// CPU time and memory of a process.
struct process_sample {
    double user_s = 0;
    double sys_s = 0;
    std::uint64_t rss_kib = 0;
    std::uint64_t max_rss_kib = 0;
    double cpu_s() const noexcept { return user_s + sys_s; }
};

/// This process (getrusage: every thread).
process_sample sample_self();
/// Another process, from /proc/PID/stat and /proc/PID/status; zeros for pid 0 or when gone.
process_sample sample_process(int pid);

struct report {
    const options* opt = nullptr;
    std::uint64_t total_clients = 0;
    unsigned sources = 0;

    // set-up
    double connect_elapsed_s = 0;
    std::uint64_t connected = 0;
    std::uint64_t connect_failed = 0;
    std::uint64_t subscribe_failed = 0;
    std::uint64_t lost_connections = 0;

    // conn mode
    double conn_cpu_s = 0;
    double broker_connect_cpu_s = 0;
    double hold_s = 0;
    std::uint64_t broker_rss_before_kib = 0;
    std::uint64_t broker_rss_after_kib = 0;

    // the measured phase
    std::uint64_t published = 0;
    std::uint64_t completed = 0;
    std::uint64_t received = 0;
    double publish_elapsed_s = 0;
    double delivery_elapsed_s = 0;
    double measured_s = 0;
    double self_cpu_user_s = 0;
    double self_cpu_sys_s = 0;
    double broker_cpu_user_s = 0;
    double broker_cpu_sys_s = 0;
    std::uint64_t self_max_rss_kib = 0;
    bool drain_timed_out = false;
    bool interrupted = false;
    bool setup_failed = false;

    // merged from the workers
    histogram latency;
    histogram connect_time;
    std::unordered_map<std::uint32_t, std::uint64_t> sent_by_publisher;
    std::uint64_t subscribers_expecting_all = 0;
    std::vector<std::uint32_t> subscribers_expecting_one;
    std::uint64_t unique_expected = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;
    std::uint64_t gaps = 0;
    std::uint64_t foreign = 0;
    std::uint64_t unstamped = 0;
    std::uint64_t qos2_resends = 0;
    std::uint64_t qos2_id_reuses = 0;
    std::string first_error;

    void add(const worker_snapshot& s);
    /// Prints the summary (JSON with --json); returns the exit code: 0, 1 when the set-up
    /// failed, 3 when verification failed (QoS 1/2 loss, any duplicate or reordering, a
    /// connection lost mid-run).
    int print() const;
};

} // namespace coromq::bench
