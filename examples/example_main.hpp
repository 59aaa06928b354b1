// What every hook example shares, so that each example file shows only its hook: the command
// line, starting the server, the start-up line, and a graceful stop on SIGINT/SIGTERM.
// (gmqtt_server.cpp does all of this by hand, as the Go example it translates does.)
//
//   EXAMPLE [--listener URL]... [--threads N] [--logging] [--KEY VALUE]...
//
// --listener defaults to mqtt://0.0.0.0:1883; port 0 picks a free port. Other --KEY VALUE
// pairs are the example's own settings (repeatable ones collect every value). The start-up
// line names the bound ports as the coromq binary's does: "started on mqtt://127.0.0.1:40123".
#pragma once

#include <coromq/broker/server.hpp>

#include <csignal>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <pthread.h>
#include <string>
#include <thread>
#include <vector>

namespace example {

/// The example's own --KEY VALUE settings.
class settings {
public:
    std::string get(const std::string& key, const std::string& fallback) const {
        const auto it = values_.find(key);
        return it == values_.end() ? fallback : it->second.back();
    }
    long get(const std::string& key, long fallback) const {
        const auto it = values_.find(key);
        return it == values_.end() ? fallback : std::stol(it->second.back());
    }
    std::vector<std::string> all(const std::string& key) const {
        const auto it = values_.find(key);
        return it == values_.end() ? std::vector<std::string>{} : it->second;
    }
    std::map<std::string, std::vector<std::string>> values_;
};

/// Parses the command line, lets `setup` add plugins, runs until SIGINT/SIGTERM. Returns the
/// process exit code (2 for a bad command line, 1 when a listener cannot be bound).
inline int run(int argc, char* argv[],
               const std::function<void(coromq::broker::server&, const settings&)>& setup) {
    coromq::broker::broker_config config;
    settings own;
    try {
        std::vector<coromq::broker::listener_config> listeners;
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            if (arg == "--logging") {
                config.logging = true;
            } else if (arg.starts_with("--") && i + 1 < argc) {
                const std::string value = argv[++i];
                if (arg == "--listener") {
                    listeners.push_back(coromq::broker::listener_config::parse(value));
                } else if (arg == "--threads") {
                    config.threads = std::uint32_t(std::stoul(value));
                } else {
                    own.values_[arg.substr(2)].push_back(value);
                }
            } else {
                throw std::invalid_argument("unexpected argument '" + arg + "'");
            }
        }
        if (!listeners.empty()) {
            config.listeners = std::move(listeners);
        }
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }

    // Signals go to one thread that waits for them (sigwait), never to the I/O threads.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    coromq::broker::server server(config);
    try {
        setup(server, own);
        server.start();
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 1;
    }
    const auto ports = server.bound_ports();
    std::cerr << "started";
    for (std::size_t i = 0; i < ports.size(); ++i) {
        std::cerr << (i ? ", " : " on ") << config.listeners[i].scheme << "://"
                  << config.listeners[i].host << ":" << ports[i];
    }
    std::cerr << std::endl;

    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        server.stop(); // graceful: every client's close handling runs before run() returns
    });
    server.run();
    waiter.join();
    std::cerr << "stopped" << std::endl;
    return 0;
}

} // namespace example
