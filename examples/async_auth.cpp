// An authentication hook that asks a remote service, asynchronously.
//
// The "remote lookup" is a timer here (--lookup_ms, default 500): in real code it would be an
// HTTP request, a database query, an LDAP bind... written with co_await just the same. While
// one client's CONNECT waits for its answer, every other client keeps being served, even with
// a single I/O thread: the hook suspends, it does not block.
//
//   async_auth --listener mqtt://127.0.0.1:1883 --user alice:secret --user bob:hunter2
//              [--lookup_ms 500]
#include "example_main.hpp"

#include <coromq/broker/hooks.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <map>

namespace asio = boost::asio;
using namespace coromq::broker;

class remote_auth final : public plugin {
public:
    remote_auth(std::map<std::string, std::string> users, std::chrono::milliseconds latency)
        : users_(std::move(users))
        , latency_(latency) {}

    std::string name() const override { return "remote_auth"; }
    hook_set hooks() const override { return hook_connect; }

    asio::awaitable<connect_verdict>
    on_connect(const client_info& client, const std::optional<std::string>& password) override {
        if (!client.username || !password) {
            co_return connect_verdict::deny(coromq::packet::connect_return_code::not_authorized);
        }
        const bool ok = co_await lookup(*client.username, *password);
        co_return ok
            ? connect_verdict::allow()
            : connect_verdict::deny(coromq::packet::connect_return_code::bad_user_name_or_password);
    }

private:
    /// Stands in for a request to an authentication service. Runs on the connection's
    /// executor; the timer is the network round trip. If the hook times out (hook_timeout_ms)
    /// the chain cancels this wait, and the client is refused.
    asio::awaitable<bool> lookup(const std::string& user, const std::string& password) {
        asio::steady_timer round_trip(co_await asio::this_coro::executor, latency_);
        co_await round_trip.async_wait(asio::use_awaitable);
        const auto it = users_.find(user);
        co_return it != users_.end() && it->second == password;
    }

    const std::map<std::string, std::string> users_; // read-only: safe from every strand
    const std::chrono::milliseconds latency_;
};

int main(int argc, char* argv[]) {
    return example::run(argc, argv, [](server& s, const example::settings& args) {
        std::map<std::string, std::string> users;
        for (const auto& entry : args.all("user")) {
            const auto colon = entry.find(':');
            users[entry.substr(0, colon)] =
                colon == std::string::npos ? std::string() : entry.substr(colon + 1);
        }
        const auto latency = std::chrono::milliseconds(args.get("lookup_ms", 500L));
        s.add_plugin(std::make_shared<remote_auth>(std::move(users), latency));
    });
}
