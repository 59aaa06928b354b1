// Gmqtt's README example ("Using gmqtt/server Package for Secondary Development") in C++: a
// server with a TCP and a TLS listener, an authentication hook and an ACL hook, QoS 0
// queueing switched off, run until SIGINT or SIGTERM, then stopped gracefully.
//
//   gmqtt_server [--tcp HOST:PORT] [--tls HOST:PORT] [--cert FILE] [--key FILE]
//
// Defaults: 0.0.0.0:1883, 0.0.0.0:8883, server.crt, server.key. Port 0 picks a free port.
// Users (kept in memory here; a database or a file would do as well): root / root-secret and
// alice / alice-secret.
#include <coromq/broker/server.hpp>

#include <csignal>
#include <iostream>
#include <map>
#include <pthread.h>
#include <string>
#include <system_error>
#include <thread>

using namespace coromq::broker;
using coromq::packet::connect_return_code;
using coromq::packet::qos;

// s.OnConnect = ... Authentication; s.OnSubscribe = ... ACL
class auth_and_acl final : public plugin {
public:
    std::string name() const override { return "auth_and_acl"; }
    hook_set hooks() const override { return hook_connect | hook_subscribe; }

    boost::asio::awaitable<connect_verdict>
    on_connect(const client_info& client, const std::optional<std::string>& password) override {
        if (client.username && password && validate_user(*client.username, *password)) {
            co_return connect_verdict::allow();
        }
        co_return connect_verdict::deny(connect_return_code::bad_user_name_or_password);
    }

    boost::asio::awaitable<subscribe_verdict>
    on_subscribe(const client_info& client, const coromq::packet::subscription& sub) override {
        if (client.username == "root") {
            co_return subscribe_verdict::allow(sub.max_qos); // root subscribes to whatever it wants
        }
        co_return subscribe_verdict::allow(qos::at_least_once); // others: at most QoS 1
    }

private:
    bool validate_user(const std::string& user, const std::string& password) const {
        const auto it = users_.find(user);
        return it != users_.end() && it->second == password;
    }

    const std::map<std::string, std::string> users_{{"root", "root-secret"},
                                                    {"alice", "alice-secret"}};
};

int main(int argc, char* argv[]) {
    std::string tcp = "0.0.0.0:1883";
    std::string tls = "0.0.0.0:8883";
    std::string cert = "server.crt";
    std::string key = "server.key";
    for (int i = 1; i < argc; i += 2) {
        const std::string flag = argv[i];
        std::string* into = flag == "--tcp"    ? &tcp
                            : flag == "--tls"  ? &tls
                            : flag == "--cert" ? &cert
                            : flag == "--key"  ? &key
                                               : nullptr;
        if (!into || i + 1 == argc) {
            std::cerr << "usage: gmqtt_server [--tcp HOST:PORT] [--tls HOST:PORT] [--cert FILE] "
                         "[--key FILE]\n";
            return 2;
        }
        *into = argv[i + 1];
    }

    broker_config config;
    try {
        auto plain = listener_config::parse("mqtt://" + tcp);   // net.Listen("tcp", ":1883")
        auto secure = listener_config::parse("mqtts://" + tls); // tls.Listen("tcp", ":8883", ...)
        secure.tls.certfile = cert;
        secure.tls.keyfile = key;
        config.listeners = {plain, secure};
    } catch (const std::exception& e) {
        std::cerr << "gmqtt_server: " << e.what() << "\n";
        return 2;
    }
    config.queue_qos0_messages = false; // s.SetQueueQos0Messages(false)

    // signal.Notify(signalCh, os.Interrupt, syscall.SIGTERM): block the signals in every thread
    // the server will start, and take them with sigwait on a thread of our own.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    server s(config);
    s.add_plugin(std::make_shared<auth_and_acl>());
    try {
        s.start();                      // binds both listeners, loads the certificate
    } catch (const std::exception& e) { // bind failures, unusable TLS files
        std::cerr << "gmqtt_server: " << e.what() << "\n"; // log.Fatalln(err.Error())
        return 1;
    }
    const auto ports = s.bound_ports();
    std::cout << "started on mqtt://" << config.listeners[0].host << ":" << ports[0] << ", mqtts://"
              << config.listeners[1].host << ":" << ports[1] << std::endl;

    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig); // <-signalCh
        s.stop();                // s.Stop(context.Background())
    });
    s.run(); // returns once the stop has closed every client and run their close hooks
    waiter.join();
    std::cout << "stopped" << std::endl;
    return 0;
}
