// coromq: the stock broker binary.
#include "options.hpp"

#include <coromq/broker/server.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <pthread.h>
#include <system_error>
#include <thread>

#ifndef COROMQ_VERSION
#define COROMQ_VERSION "unknown"
#endif

int main(int argc, char* argv[]) {
    coromq::app::invocation inv;
    try {
        inv = coromq::app::parse_command_line(argc, argv);
    } catch (const coromq::app::config_error& e) {
        std::cerr << "coromq: " << e.what() << "\n";
        return 2;
    }
    if (inv.show_help) {
        std::cout << inv.help_text;
        return 0;
    }
    if (inv.show_version) {
        std::cout << "coromq " << COROMQ_VERSION << "\n";
        return 0;
    }

    // Signals are taken by one thread with sigwait, so no handler runs inside the I/O threads.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    coromq::broker::server server(inv.config);
    try {
        server.start();
    } catch (const std::exception& e) { // bind failures, unusable TLS files
        std::cerr << "coromq: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "coromq " << COROMQ_VERSION << " started";
    const auto ports = server.bound_ports();
    for (std::size_t i = 0; i < ports.size(); ++i) {
        std::cerr << (i ? ", " : " on ") << inv.config.listeners[i].scheme << "://"
                  << inv.config.listeners[i].host << ":" << ports[i];
    }
    if (const auto rest = server.rest_port()) {
        std::cerr << ", http://" << inv.config.http.host << ":" << rest;
    }
    std::cerr << std::endl;

    std::atomic<bool> finished{false};
    std::thread signal_thread([&] {
        for (;;) {
            int sig = 0;
            sigwait(&signals, &sig);
            if (finished) {
                return;
            }
            if (sig == SIGHUP) {
                // Certificates are reloaded; existing connections keep theirs.
                std::cerr << "coromq: SIGHUP received, reloading TLS certificates and plugins"
                          << std::endl;
                server.reload();
                continue;
            }
            std::cerr << "coromq: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
                      << " received, stopping" << std::endl;
            server.stop();
            return;
        }
    });
    server.run();
    // run() also returns when stop() came from elsewhere; wake the signal thread to end it.
    finished = true;
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    std::cerr << "coromq: stopped" << std::endl;
    return 0;
}
