// The broker under test, in this process: started on 127.0.0.1 with a port the system picks,
// served on a thread of its own, stopped gracefully (stop, then join) when the fixture ends.
#pragma once

#include "../support/mqtt_test_client.hpp"

#include <coromq/broker/config.hpp>
#include <coromq/broker/server.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace coromq::test {

using namespace std::chrono_literals;

/// The configuration every test starts from: one TCP listener on 127.0.0.1, port 0.
inline broker::broker_config test_config() {
    broker::broker_config c;
    c.listeners = {broker::listener_config::parse("mqtt://127.0.0.1:0")};
    c.threads = 2; // more than one, so that the strands matter, and no more than CI has
    return c;
}

class running_broker {
public:
    explicit running_broker(broker::broker_config config = test_config(),
                            std::vector<std::shared_ptr<broker::plugin>> plugins = {})
        : server_(std::move(config)) {
        for (auto& p : plugins) {
            server_.add_plugin(std::move(p));
        }
        server_.start();
        port_ = server_.bound_ports().at(0);
        thread_ = std::thread([this] {
            try {
                server_.run();
            } catch (...) {
                run_error_ = std::current_exception();
            }
        });
    }

    ~running_broker() { stop(); }

    running_broker(const running_broker&) = delete;
    running_broker& operator=(const running_broker&) = delete;

    /// Graceful stop: returns once `run` has returned on the broker's thread.
    void stop() {
        if (!thread_.joinable()) {
            return;
        }
        server_.stop();
        thread_.join();
        CHECK_MESSAGE(!run_error_, "server::run threw");
    }

    std::uint16_t port() const noexcept { return port_; }
    broker::server& server() noexcept { return server_; }

    /// A TCP connection to the broker; no CONNECT sent yet.
    mqtt_test_client client(packet::protocol_version v = packet::protocol_version::v3_1_1) {
        return mqtt_test_client(port_, v);
    }

    /// Waits until the broker has finished with all but `n` connections (their close
    /// handling, will and session detach included). False on timeout.
    bool wait_connections(std::size_t n, std::chrono::milliseconds timeout = 2s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (server_.connection_count() != n) {
            if (std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

private:
    broker::server server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::exception_ptr run_error_;
};

/// A subscription with only a filter and a maximum QoS.
inline packet::subscription sub(std::string filter, packet::qos q) {
    packet::subscription s;
    s.filter = std::move(filter);
    s.max_qos = q;
    return s;
}

inline constexpr packet::qos q0 = packet::qos::at_most_once;
inline constexpr packet::qos q1 = packet::qos::at_least_once;
inline constexpr packet::qos q2 = packet::qos::exactly_once;
inline constexpr packet::protocol_version v311 = packet::protocol_version::v3_1_1;
inline constexpr packet::protocol_version v5 = packet::protocol_version::v5;

} // namespace coromq::test
