#include "report.hpp"

#include <boost/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace coromq::bench {

process_sample sample_self() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    process_sample s;
    s.user_s = double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6;
    s.sys_s = double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) / 1e6;
    s.max_rss_kib = std::uint64_t(ru.ru_maxrss);
    return s;
}

process_sample sample_process(int pid) {
    process_sample s;
    if (pid <= 0) {
        return s;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren != std::string::npos) {
        // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
        std::istringstream fields(text.substr(paren + 2));
        std::string field;
        double ticks = double(::sysconf(_SC_CLK_TCK));
        for (int i = 3; fields >> field; ++i) {
            if (i == 14) {
                s.user_s = std::stod(field) / ticks;
            } else if (i == 15) {
                s.sys_s = std::stod(field) / ticks;
                break;
            }
        }
    }
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            s.rss_kib = std::stoull(line.substr(6));
        } else if (line.rfind("VmHWM:", 0) == 0) {
            s.max_rss_kib = std::stoull(line.substr(6));
        }
    }
    return s;
}

void report::add(const worker_snapshot& s) {
    latency.merge(s.latency);
    connect_time.merge(s.connect_time);
    for (const auto& [id, sent] : s.sent_by_publisher) {
        sent_by_publisher[id] += sent;
    }
    subscribers_expecting_all += s.subscribers_expecting_all;
    subscribers_expecting_one.insert(subscribers_expecting_one.end(),
                                     s.subscribers_expecting_one.begin(),
                                     s.subscribers_expecting_one.end());
    unique_expected += s.unique_expected;
    duplicates += s.duplicates;
    reordered += s.reordered;
    gaps += s.gaps;
    foreign += s.foreign;
    unstamped += s.unstamped;
    qos2_resends += s.qos2_resends;
    qos2_id_reuses += s.qos2_id_reuses;
    if (first_error.empty()) {
        first_error = s.first_error;
    }
}

namespace {

double us(std::uint64_t ns) {
    return double(ns) / 1e3;
}

double per(double value, std::uint64_t n) {
    return n ? value / double(n) : 0.0;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string thousands(std::uint64_t v) {
    std::string s = std::to_string(v);
    for (int i = int(s.size()) - 3; i > 0; i -= 3) {
        s.insert(std::size_t(i), ",");
    }
    return s;
}

/// Latency in the unit that reads best.
std::string duration_text(std::uint64_t ns) {
    if (ns >= 10'000'000) {
        return fmt("%.1f ms", double(ns) / 1e6);
    }
    if (ns >= 1'000'000) {
        return fmt("%.2f ms", double(ns) / 1e6);
    }
    return fmt("%.0f us", double(ns) / 1e3);
}

boost::json::object percentiles_us(const histogram& h) {
    return {{"count", h.count()},
            {"min", us(h.min())},
            {"mean", h.mean() / 1e3},
            {"p50", us(h.percentile(0.50))},
            {"p90", us(h.percentile(0.90))},
            {"p99", us(h.percentile(0.99))},
            {"p999", us(h.percentile(0.999))},
            {"max", us(h.max())}};
}

std::string percentiles_text(const histogram& h) {
    return "p50 " + duration_text(h.percentile(0.5)) + "  p90 " + duration_text(h.percentile(0.9)) +
           "  p99 " + duration_text(h.percentile(0.99)) + "  p99.9 " +
           duration_text(h.percentile(0.999)) + "  max " + duration_text(h.max());
}

} // namespace

int report::print() const {
    const options& o = *opt;
    const bool conn = o.run_mode == mode::conn;
    const bool sub_only = o.run_mode == mode::sub;

    std::uint64_t sent_total = 0;
    for (const auto& [id, sent] : sent_by_publisher) {
        sent_total += sent;
    }
    std::uint64_t expected = subscribers_expecting_all * sent_total;
    for (auto id : subscribers_expecting_one) {
        const auto it = sent_by_publisher.find(id);
        expected += it == sent_by_publisher.end() ? 0 : it->second;
    }
    if (sub_only) {
        expected = unique_expected; // the publishers are elsewhere: nothing to compare with
    }
    const std::uint64_t delivered = unique_expected;
    const std::uint64_t lost = expected > delivered ? expected - delivered : 0;
    const double delivery_rate =
        per(double(delivered), 1) / (delivery_elapsed_s > 0 ? delivery_elapsed_s : 1);
    const double publish_rate = double(published) / (publish_elapsed_s > 0 ? publish_elapsed_s : 1);
    // CPU per message: per delivered message, or per published one when nothing subscribes.
    const std::uint64_t per_messages = o.run_mode == mode::pub ? published : delivered;
    const double self_cpu = self_cpu_user_s + self_cpu_sys_s;
    const double broker_cpu = broker_cpu_user_s + broker_cpu_sys_s;
    const std::uint64_t rss_delta = broker_rss_after_kib > broker_rss_before_kib
                                        ? broker_rss_after_kib - broker_rss_before_kib
                                        : 0;
    const double rss_per_conn = per(double(rss_delta) * 1024.0, connected);

    bool verified = !setup_failed && lost_connections == 0 && duplicates == 0 && reordered == 0 &&
                    unstamped == 0 && foreign == 0 && qos2_id_reuses == 0;
    if (!conn && o.qos > 0 && lost > 0) {
        verified = false;
    }
    if (conn && (connect_failed > 0 || connected < total_clients)) {
        verified = false; // holding every connection is what conn mode checks
    }
    const int exit_code = setup_failed ? 1 : (verified ? 0 : 3);

    if (o.json) {
        boost::json::object j;
        j["mode"] = to_string(o.run_mode);
        j["host"] = o.host;
        j["port"] = o.port;
        j["transport"] = to_string(o.transport);
        j["server_verified"] = uses_tls(o.transport) && !o.cafile.empty();
        j["qos"] = o.qos;
        j["size"] = o.size;
        j["inflight"] = o.inflight;
        j["mqtt_version"] = o.mqtt_version;
        j["threads"] = o.threads;
        j["publishers"] = o.publishers;
        j["subscribers"] = o.subscribers;
        j["rate"] = o.rate;
        j["count"] = o.count;
        j["duration"] = o.duration;
        j["connections"] = {
            {"requested", total_clients},       {"connected", connected},
            {"connect_failed", connect_failed}, {"subscribe_failed", subscribe_failed},
            {"lost", lost_connections},         {"source_addresses", sources},
            {"elapsed_s", connect_elapsed_s},   {"connect_us", percentiles_us(connect_time)}};
        if (conn) {
            j["hold_s"] = hold_s;
            j["bench_connect_cpu_s"] = conn_cpu_s;
        } else {
            j["published"] = published;
            j["completed"] = completed;
            j["received"] = received;
            j["expected"] = expected;
            j["delivered"] = delivered;
            j["lost"] = lost;
            j["duplicates"] = duplicates;
            j["reordered"] = reordered;
            j["gaps"] = gaps;
            j["foreign"] = foreign;
            j["unstamped"] = unstamped;
            j["qos2_resends"] = qos2_resends;
            j["qos2_packet_id_reuses"] = qos2_id_reuses;
            j["drain_timed_out"] = drain_timed_out;
            j["publish_elapsed_s"] = publish_elapsed_s;
            j["delivery_elapsed_s"] = delivery_elapsed_s;
            j["measured_s"] = measured_s;
            j["publish_rate"] = publish_rate;
            j["delivery_rate"] = delivery_rate;
            j["latency_us"] = percentiles_us(latency);
            j["bench_cpu"] = {{"user_s", self_cpu_user_s},
                              {"sys_s", self_cpu_sys_s},
                              {"utilisation", per(self_cpu, 1) / (measured_s > 0 ? measured_s : 1)},
                              {"per_message_us", per(self_cpu * 1e6, per_messages)}};
        }
        j["bench_max_rss_kib"] = self_max_rss_kib;
        if (o.broker_pid) {
            boost::json::object b{{"pid", o.broker_pid},
                                  {"rss_before_kib", broker_rss_before_kib},
                                  {"rss_after_kib", broker_rss_after_kib}};
            if (conn) {
                b["rss_per_connection_bytes"] = rss_per_conn;
                b["connect_cpu_s"] = broker_connect_cpu_s;
            } else {
                b["cpu_user_s"] = broker_cpu_user_s;
                b["cpu_sys_s"] = broker_cpu_sys_s;
                b["cpu_s"] = broker_cpu;
                b["cpu_per_message_us"] = per(broker_cpu * 1e6, per_messages);
            }
            j["broker"] = std::move(b);
        }
        j["verified"] = verified;
        j["interrupted"] = interrupted;
        j["setup_failed"] = setup_failed;
        j["first_error"] = first_error;
        std::cout << boost::json::serialize(j) << std::endl;
        return exit_code;
    }

    auto& out = std::cout;
    const bool v6 = o.host.find(':') != std::string::npos;
    out << "coromq-bench " << to_string(o.run_mode) << " -> " << to_string(o.transport) << "://"
        << (v6 ? "[" + o.host + "]" : o.host) << ":" << o.port
        << (uses_websocket(o.transport) ? o.ws_path : std::string()) << "  (MQTT "
        << (o.mqtt_version == 5 ? "5.0" : "3.1.1") << ", " << o.threads
        << (o.threads == 1 ? " thread" : " threads");
    if (uses_tls(o.transport)) {
        out << (o.cafile.empty() ? ", server certificate not verified"
                                 : ", server certificate verified");
    }
    out << ")\n";
    if (conn) {
        out << "  connections   " << thousands(connected) << " of " << thousands(total_clients)
            << " in " << fmt("%.2f s", connect_elapsed_s) << ", " << connect_failed << " failed, "
            << lost_connections << " lost while held " << fmt("%.1f s", hold_s) << "\n";
        out << "  connect time  " << percentiles_text(connect_time) << "\n";
        out << "  bench         " << fmt("%.2f s CPU to connect", conn_cpu_s) << ", max RSS "
            << thousands(self_max_rss_kib) << " KiB\n";
        if (o.broker_pid) {
            out << "  broker        RSS " << thousands(broker_rss_before_kib) << " -> "
                << thousands(broker_rss_after_kib)
                << " KiB: " << fmt("%.0f bytes per connection", rss_per_conn) << ", "
                << fmt("%.2f s CPU to accept", broker_connect_cpu_s) << "\n";
        }
    } else {
        out << "  scenario      " << o.publishers << " publishers, " << o.subscribers
            << " subscribers, QoS " << o.qos << ", " << o.size << " B payload";
        if (o.qos > 0) {
            out << ", window " << o.inflight;
        }
        if (o.rate > 0) {
            out << ", " << fmt("%.0f msg/s", o.rate);
        }
        out << "\n";
        out << "  published     " << thousands(published) << " in "
            << fmt("%.2f s", publish_elapsed_s) << " = " << fmt("%.0f msg/s", publish_rate);
        if (o.qos > 0) {
            out << ", " << thousands(completed) << " acknowledged";
        }
        out << "\n";
        if (o.run_mode != mode::pub) {
            out << "  delivered     " << thousands(delivered) << " of " << thousands(expected)
                << " in " << fmt("%.2f s", delivery_elapsed_s) << " = "
                << fmt("%.0f msg/s", delivery_rate) << "\n";
            out << "  verified      " << (o.qos == 0 ? "dropped " : "lost ") << thousands(lost)
                << ", duplicates " << duplicates << ", reordered " << reordered;
            if (unstamped || foreign) {
                out << ", unstamped " << unstamped << ", unexpected publisher " << foreign;
            }
            if (qos2_id_reuses) {
                out << ", QoS 2 packet id reused before PUBREL " << qos2_id_reuses;
            }
            if (drain_timed_out) {
                out << fmt(" (gave up after %.1f s without a delivery)", o.drain_timeout);
            }
            out << "\n";
            out << "  latency       " << percentiles_text(latency) << "\n";
        }
        out << "  bench CPU     " << fmt("%.2f s user + ", self_cpu_user_s)
            << fmt("%.2f s sys", self_cpu_sys_s) << " = "
            << fmt("%.0f%% of a core", 100 * self_cpu / (measured_s > 0 ? measured_s : 1)) << ", "
            << fmt("%.2f us/msg", per(self_cpu * 1e6, per_messages)) << "\n";
        if (o.broker_pid) {
            out << "  broker CPU    " << fmt("%.2f s user + ", broker_cpu_user_s)
                << fmt("%.2f s sys", broker_cpu_sys_s) << " = "
                << fmt("%.0f%% of a core", 100 * broker_cpu / (measured_s > 0 ? measured_s : 1))
                << ", " << fmt("%.2f us/msg", per(broker_cpu * 1e6, per_messages)) << "; RSS "
                << thousands(broker_rss_after_kib) << " KiB\n";
        }
    }
    if (connect_failed || subscribe_failed || lost_connections || !first_error.empty()) {
        out << "  errors        " << connect_failed << " connects and " << subscribe_failed
            << " subscribes failed, " << lost_connections << " connections lost"
            << (first_error.empty() ? "" : "; first: " + first_error) << "\n";
    }
    out << "  result        "
        << (verified       ? "ok"
            : setup_failed ? "SET-UP FAILED"
                           : "FAILED")
        << (interrupted ? " (interrupted)" : "") << "\n";
    return exit_code;
}

} // namespace coromq::bench
