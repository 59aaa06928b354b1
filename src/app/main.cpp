// coromq: the stock broker binary.
#include "options.hpp"

#include "../plugins/builtin.hpp"
#include "../plugins/loader.hpp"

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

namespace {

/// The hook chain, in order: password file, ACL file, then the --plugin shared objects. Throws
/// (file_error, plugin_load_error) naming the key or plugin and the file.
void add_plugins(coromq::broker::server& server, const coromq::app::invocation& inv) {
    using namespace coromq::plugins;
    std::string names;
    const bool verbose = inv.config.logging;
    if (!inv.password_file.empty() || !inv.allow_anonymous) {
        try {
            auto p = std::make_shared<password_file_plugin>(inv.password_file, inv.allow_anonymous,
                                                            server.blocking_executor(), verbose);
            names += "password_file (" + std::to_string(p->user_count()) + " users)";
            server.add_plugin(std::move(p));
        } catch (const file_error& e) {
            throw file_error(std::string("key 'password_file': ") + e.what());
        }
    }
    if (!inv.acl_file.empty()) {
        try {
            server.add_plugin(std::make_shared<acl_file_plugin>(
                inv.acl_file, server.blocking_executor(), verbose, &server.services()));
            names += names.empty() ? "acl_file" : ", acl_file";
        } catch (const file_error& e) {
            throw file_error(std::string("key 'acl_file': ") + e.what());
        }
    }
    for (const auto& spec : inv.plugins) {
        const coromq::broker::plugin_options options{spec.name, spec.options, &server};
        server.add_plugin(load_shared_plugin(spec.path, options));
        names += (names.empty() ? "" : ", ") + spec.name + " (" + spec.path + ")";
    }
    if (!names.empty()) {
        std::cerr << "coromq: plugins: " << names << std::endl;
    }
}

} // namespace

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
        add_plugins(server, inv);
    } catch (const std::exception& e) {
        std::cerr << "coromq: " << e.what() << "\n";
        return 2;
    }
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
