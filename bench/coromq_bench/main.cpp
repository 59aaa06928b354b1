// coromq-bench: an MQTT load generator that verifies what it receives. The main thread sets
// the scenario up, posts commands to the workers (one io_context and thread each), watches
// their counters, and reports; the workers do all the I/O.
#include "options.hpp"
#include "report.hpp"
#include "worker.hpp"

#include <boost/asio/ip/address.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

namespace coromq::bench {
namespace {

std::atomic<bool> interrupted{false};

extern "C" void on_signal(int) {
    interrupted = true;
}

struct totals {
    std::uint64_t connected = 0, connect_failed = 0, subscribed = 0, subscribe_failed = 0;
    std::uint64_t published = 0, completed = 0, received = 0, publishers_done = 0;
    std::uint64_t lost_connections = 0, closed = 0, last_delivery_ns = 0;
};

totals sum(const std::vector<std::unique_ptr<worker>>& workers) {
    totals t;
    for (const auto& w : workers) {
        const auto& c = w->counters;
        t.connected += c.connected.get();
        t.connect_failed += c.connect_failed.get();
        t.subscribed += c.subscribed.get();
        t.subscribe_failed += c.subscribe_failed.get();
        t.published += c.published.get();
        t.completed += c.completed.get();
        t.received += c.received.get();
        t.publishers_done += c.publishers_done.get();
        t.lost_connections += c.lost_connections.get();
        t.closed += c.closed.get();
        t.last_delivery_ns =
            std::max(t.last_delivery_ns, c.last_delivery_ns.load(std::memory_order_relaxed));
    }
    return t;
}

std::string si(double v) {
    char buf[32];
    if (v >= 1e9) {
        std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
    } else if (v >= 1e6) {
        std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
    } else if (v >= 1e4) {
        std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
    } else {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    }
    return buf;
}

/// The live line: on a terminal only, rewritten in place.
class progress {
public:
    progress(const options& o, std::uint64_t clients)
        : clients_(clients)
        , out_(o.json ? stderr : stdout)
        , enabled_(!o.quiet && ::isatty(::fileno(o.json ? stderr : stdout))) {}

    void update(const char* phase, const totals& t, double elapsed) {
        if (!enabled_) {
            return;
        }
        const auto now = steady::now();
        if (now - last_ < std::chrono::milliseconds(500)) {
            return;
        }
        const double dt = std::chrono::duration<double>(now - last_).count();
        const bool first = last_ == steady::time_point{};
        last_ = now;
        const double pub_rate = first ? 0 : double(t.published - prev_.published) / dt;
        const double recv_rate = first ? 0 : double(t.received - prev_.received) / dt;
        prev_ = t;
        std::fprintf(out_,
                     "\r%-9s %6.1fs  conn %s/%s  pub %s/s  recv %s/s  published %s  received "
                     "%s\x1b[K",
                     phase, elapsed, si(double(t.connected)).c_str(), si(double(clients_)).c_str(),
                     si(pub_rate).c_str(), si(recv_rate).c_str(), si(double(t.published)).c_str(),
                     si(double(t.received)).c_str());
        std::fflush(out_);
        shown_ = true;
    }
    void finish() {
        if (shown_) {
            std::fprintf(out_, "\n");
            std::fflush(out_);
            shown_ = false;
        }
    }

private:
    std::uint64_t clients_;
    FILE* out_;
    bool enabled_;
    bool shown_ = false;
    steady::time_point last_{};
    totals prev_;
};

void raise_fd_limit(std::uint64_t needed) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= needed) {
        return;
    }
    if (rl.rlim_max < needed) {
        rlimit want{needed, needed};
        if (::setrlimit(RLIMIT_NOFILE, &want) == 0) {
            return;
        }
    }
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, needed);
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < needed) {
        std::fprintf(stderr,
                     "coromq-bench: warning: open files limited to %llu, %llu needed (raise "
                     "`ulimit -n`)\n",
                     static_cast<unsigned long long>(rl.rlim_cur),
                     static_cast<unsigned long long>(needed));
    }
}

double seconds_between(std::uint64_t from_ns, std::uint64_t to_ns) {
    return to_ns > from_ns ? double(to_ns - from_ns) / 1e9 : 0.0;
}

int run(const options& o) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);

    boost::system::error_code ec;
    const auto address = asio::ip::make_address(o.host, ec);
    if (ec) {
        std::fprintf(stderr, "coromq-bench: --host must be an IP address, got '%s'\n",
                     o.host.c_str());
        return 2;
    }
    const tcp::endpoint broker(address, o.port);
    const std::uint64_t total_clients =
        o.run_mode == mode::conn ? o.clients : std::uint64_t(o.publishers) + o.subscribers;
    raise_fd_limit(total_clients / o.threads * o.threads + o.threads * 64 + 256);

    // Source addresses: one loopback address pair offers ~28,000 ephemeral ports.
    std::vector<asio::ip::address> sources;
    unsigned n_sources = o.source_addresses;
    if (n_sources == 0 && address.is_v4() && address.is_loopback() && total_clients > 25'000) {
        n_sources = unsigned((total_clients + 24'999) / 25'000);
    }
    for (unsigned i = 0; i < n_sources && i < 250; ++i) {
        sources.push_back(asio::ip::make_address_v4("127.1.0." + std::to_string(i + 1)));
    }

    // The scenario: subscribers first, then publishers, dealt round robin to the workers.
    std::vector<std::unique_ptr<worker>> workers;
    for (unsigned i = 0; i < o.threads; ++i) {
        workers.push_back(std::make_unique<worker>(o, i));
    }
    const std::string prefix = o.run_mode == mode::pub || o.run_mode == mode::sub
                                   ? o.topic
                                   : o.topic + "/" + std::to_string(::getpid());
    const std::string tag = "cb" + std::to_string(::getpid()) + "-";
    std::uint32_t index = 0;
    auto add = [&](role r) -> client& {
        auto& w = *workers[index % workers.size()];
        w.clients.push_back(std::make_unique<client>(w, r, index));
        ++index;
        return *w.clients.back();
    };
    if (o.run_mode == mode::conn) {
        for (unsigned i = 0; i < o.clients; ++i) {
            add(role::idle).client_id = tag + "c" + std::to_string(i);
        }
    }
    for (unsigned i = 0; i < o.subscribers; ++i) {
        auto& c = add(role::subscriber);
        c.client_id = tag + "s" + std::to_string(i);
        switch (o.run_mode) {
        case mode::sub:
        case mode::fanin:
            c.topic = prefix + "/#";
            c.expect_from = o.run_mode == mode::sub ? -2 : -1;
            break;
        case mode::fanout:
            c.topic = prefix + "/0";
            c.expect_from = -1;
            break;
        default:
            c.topic = prefix + "/" + std::to_string(o.id_base + i);
            c.expect_from = std::int64_t(o.id_base + i);
            break;
        }
    }
    for (unsigned i = 0; i < o.publishers; ++i) {
        auto& c = add(role::publisher);
        c.client_id = tag + "p" + std::to_string(i);
        c.publisher_id = o.id_base + i;
        c.topic = prefix + "/" + std::to_string(o.run_mode == mode::fanout ? 0 : o.id_base + i);
    }
    for (auto& w : workers) {
        w->start();
    }

    report r;
    r.opt = &o;
    r.total_clients = total_clients;
    r.sources = unsigned(sources.size());
    progress line(o, total_clients);
    const auto run_start = now_ns();
    auto elapsed = [&] { return seconds_between(run_start, now_ns()); };
    auto tick = std::chrono::milliseconds(10);
    const auto self_before_connect = sample_self();
    const auto broker_before_connect = sample_process(o.broker_pid);

    // Connect a role on every worker and wait until every client of it is connected (and
    // subscribed) or has failed; false when interrupted.
    auto connect_phase = [&](role which, std::uint64_t n, const char* phase) {
        if (n == 0) {
            return true;
        }
        const double rate = o.run_mode == mode::conn ? o.rate : o.connect_rate;
        const auto base = sum(workers); // before the command: a fast client must count
        for (auto& w : workers) {
            w->connect_role(which, broker, sources, rate / double(workers.size()),
                            std::max(1u, o.connect_concurrency / unsigned(workers.size())));
        }
        for (;;) {
            const auto t = sum(workers);
            const auto done = which == role::subscriber
                                  ? (t.subscribed + t.subscribe_failed) -
                                        (base.subscribed + base.subscribe_failed)
                                  : t.connected - base.connected;
            const auto failed = t.connect_failed - base.connect_failed;
            if (done + failed >= n) { // a subscriber that failed to connect never subscribes
                break;
            }
            if (interrupted) {
                return false;
            }
            line.update(phase, t, elapsed());
            std::this_thread::sleep_for(tick);
        }
        return true;
    };

    bool ok = true;
    if (o.run_mode == mode::conn) {
        ok = connect_phase(role::idle, o.clients, "connect");
    } else {
        ok = connect_phase(role::subscriber, o.subscribers, "subscribe") &&
             connect_phase(role::publisher, o.publishers, "connect");
    }
    auto t = sum(workers);
    r.connect_elapsed_s = elapsed();
    r.connected = t.connected;
    r.connect_failed = t.connect_failed;
    r.subscribe_failed = t.subscribe_failed;
    if (!o.ready_file.empty()) {
        std::ofstream(o.ready_file) << t.connected << "\n";
    }
    const bool setup_failed = t.connect_failed > 0 || t.subscribe_failed > 0;
    if (setup_failed && o.run_mode != mode::conn) {
        ok = false;
    }

    if (ok && o.run_mode == mode::conn) {
        // Let the broker settle, measure, hold.
        const auto self_connected = sample_self();
        r.conn_cpu_s = self_connected.cpu_s() - self_before_connect.cpu_s();
        r.broker_connect_cpu_s =
            sample_process(o.broker_pid).cpu_s() - broker_before_connect.cpu_s();
        const auto hold_start = now_ns();
        bool sampled = false;
        while (!interrupted && seconds_between(hold_start, now_ns()) < o.duration) {
            if (!sampled && seconds_between(hold_start, now_ns()) >= std::min(1.0, o.duration)) {
                r.broker_rss_before_kib = broker_before_connect.rss_kib;
                r.broker_rss_after_kib = sample_process(o.broker_pid).rss_kib;
                sampled = true;
            }
            line.update("hold", sum(workers), elapsed());
            std::this_thread::sleep_for(tick);
        }
        if (!sampled) {
            r.broker_rss_before_kib = broker_before_connect.rss_kib;
            r.broker_rss_after_kib = sample_process(o.broker_pid).rss_kib;
        }
        r.hold_s = seconds_between(hold_start, now_ns());
        r.lost_connections = sum(workers).lost_connections;
    } else if (ok) {
        // The measured phase: from the first publish to the last delivery.
        const auto self_start = sample_self();
        const auto broker_start = sample_process(o.broker_pid);
        const auto t0 = now_ns();
        const double per_publisher = o.publishers ? o.rate / double(o.publishers) : 0.0;
        for (auto& w : workers) {
            w->start_publishing(o.count, per_publisher, t0);
        }
        const std::uint64_t fan = o.run_mode == mode::fanout ? o.subscribers : 1;
        const bool delivers = o.run_mode != mode::pub;
        bool stop_sent = false;
        std::uint64_t stop_ns = 0;
        std::uint64_t publish_end_ns = 0;
        std::uint64_t last_activity = t0;
        totals prev;
        for (;;) {
            const auto now = now_ns();
            t = sum(workers);
            if (t.published != prev.published || t.completed != prev.completed ||
                t.received != prev.received) {
                last_activity = now;
            }
            prev = t;
            const bool duration_over =
                (o.count == 0 || o.run_mode == mode::sub) && seconds_between(t0, now) >= o.duration;
            if (!stop_sent && (duration_over || interrupted)) {
                for (auto& w : workers) {
                    w->stop_publishing();
                }
                stop_sent = true;
                stop_ns = now;
            }
            if (o.run_mode == mode::sub) {
                if (stop_sent) {
                    break;
                }
            } else {
                if (publish_end_ns == 0 && t.publishers_done >= o.publishers) {
                    publish_end_ns = now;
                }
                const bool all_in = !delivers || t.received >= t.published * fan;
                if (publish_end_ns && all_in) {
                    break;
                }
                const bool publishing_over = publish_end_ns || stop_sent;
                if (publishing_over && seconds_between(last_activity, now) > o.drain_timeout) {
                    r.drain_timed_out = true;
                    break;
                }
                if (interrupted && seconds_between(stop_ns, now) > 1.0) {
                    break;
                }
            }
            line.update(stop_sent || publish_end_ns ? "drain" : "publish", t, elapsed());
            std::this_thread::sleep_for(tick);
        }
        const auto end = now_ns();
        const auto self_end = sample_self();
        const auto broker_end = sample_process(o.broker_pid);
        t = sum(workers);
        r.published = t.published;
        r.completed = t.completed;
        r.received = t.received;
        r.lost_connections = t.lost_connections;
        r.publish_elapsed_s =
            seconds_between(t0, publish_end_ns ? publish_end_ns : (stop_ns ? stop_ns : end));
        if (o.count == 0 && o.run_mode != mode::sub) {
            r.publish_elapsed_s =
                std::min(r.publish_elapsed_s, seconds_between(t0, stop_ns ? stop_ns : end));
        }
        r.delivery_elapsed_s =
            t.received ? seconds_between(t0, std::max(t.last_delivery_ns, t0)) : 0.0;
        if (o.run_mode == mode::sub) {
            r.delivery_elapsed_s = seconds_between(t0, end);
        }
        r.measured_s = seconds_between(t0, end);
        r.self_cpu_user_s = self_end.user_s - self_start.user_s;
        r.self_cpu_sys_s = self_end.sys_s - self_start.sys_s;
        if (o.broker_pid) {
            r.broker_cpu_user_s = broker_end.user_s - broker_start.user_s;
            r.broker_cpu_sys_s = broker_end.sys_s - broker_start.sys_s;
            r.broker_rss_after_kib = broker_end.rss_kib;
            r.broker_rss_before_kib = broker_before_connect.rss_kib;
        }
    }
    line.finish();
    r.interrupted = interrupted;
    r.setup_failed = !ok;

    // Results from every worker, copied on its own thread; then say goodbye.
    for (auto& w : workers) {
        r.add(w->snapshot().get());
    }
    for (auto& w : workers) {
        w->close_all();
    }
    const auto close_deadline = steady::now() + std::chrono::seconds(3);
    while (sum(workers).closed < total_clients && steady::now() < close_deadline) {
        std::this_thread::sleep_for(tick);
    }
    for (auto& w : workers) {
        w->stop(std::chrono::milliseconds(200));
    }
    r.self_max_rss_kib = sample_self().max_rss_kib;
    return r.print();
}

} // namespace
} // namespace coromq::bench

int main(int argc, char** argv) {
    const auto o = coromq::bench::parse_options(argc, argv);
    try {
        return coromq::bench::run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "coromq-bench: %s\n", e.what());
        return 1;
    }
}
