// A configurable plugin for the integration tests (test_auth.py): it answers each deciding
// hook as its options say, can be slow or throw, and logs every call so that a test can see
// the chain's order. Loaded by the stock binary with --plugin, as any shared-object plugin.
//
// Options (--plugin_opt NAME:KEY=VALUE):
//   accept=pass|allow|deny        connect=pass|allow|deny       connect_code=N (with deny; 5)
//   subscribe=pass|allow|deny     subscribe_qos=0|1|2 (with allow; 2)
//   publish=pass|allow|drop|disconnect
//   delay_ms=N                    on_connect, on_subscribe and on_publish first wait N ms
//                                 (a timer: the hook suspends, nothing blocks)
//   delay_user=NAME               ...only for clients with that user name
//   throw=HOOK[,HOOK...]          these hooks throw: accept, connect, subscribe, publish
// Each call logs "probe NAME: on_HOOK client_id=ID" on stderr.
#include <coromq/broker/hooks.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>

namespace {

namespace asio = boost::asio;
using namespace coromq::broker;

verdict parse_verdict(const std::string& v) {
    if (v == "pass") {
        return verdict::pass;
    }
    if (v == "allow") {
        return verdict::allow;
    }
    if (v == "deny") {
        return verdict::deny;
    }
    throw std::invalid_argument("bad verdict '" + v + "'");
}

publish_verdict parse_publish(const std::string& v) {
    if (v == "pass") {
        return publish_verdict::pass;
    }
    if (v == "allow") {
        return publish_verdict::allow;
    }
    if (v == "drop") {
        return publish_verdict::drop;
    }
    if (v == "disconnect") {
        return publish_verdict::disconnect;
    }
    throw std::invalid_argument("bad publish verdict '" + v + "'");
}

class probe final : public plugin {
public:
    explicit probe(const plugin_options& o)
        : name_(o.name) {
        for (const auto& [key, value] : o.options) {
            if (key == "accept") {
                accept_ = parse_verdict(value);
            } else if (key == "connect") {
                connect_ = parse_verdict(value);
            } else if (key == "connect_code") {
                connect_code_ = coromq::packet::connect_return_code(std::stoi(value));
            } else if (key == "subscribe") {
                subscribe_ = parse_verdict(value);
            } else if (key == "subscribe_qos") {
                subscribe_qos_ = coromq::packet::qos(std::stoi(value));
            } else if (key == "publish") {
                publish_ = parse_publish(value);
            } else if (key == "delay_ms") {
                delay_ = std::chrono::milliseconds(std::stol(value));
            } else if (key == "delay_user") {
                delay_user_ = value;
            } else if (key == "throw") {
                std::size_t start = 0;
                while (start <= value.size()) {
                    const auto comma = std::min(value.find(',', start), value.size());
                    throws_.insert(value.substr(start, comma - start));
                    start = comma + 1;
                }
            } else {
                throw std::invalid_argument("unknown option '" + key + "'");
            }
        }
    }

    std::string name() const override { return name_; }
    hook_set hooks() const override {
        return hook_accept | hook_connect | hook_subscribe | hook_publish;
    }

    asio::awaitable<verdict> on_accept(const accept_info& a) override {
        log("on_accept", a.remote_address);
        check_throw("accept");
        co_return accept_;
    }

    asio::awaitable<connect_verdict> on_connect(const client_info& c,
                                                const std::optional<std::string>&) override {
        log("on_connect", c.client_id);
        co_await delay(c.username);
        check_throw("connect");
        co_return connect_verdict{connect_, connect_code_};
    }

    asio::awaitable<subscribe_verdict> on_subscribe(const client_info& c,
                                                    const coromq::packet::subscription&) override {
        log("on_subscribe", c.client_id);
        co_await delay(c.username);
        check_throw("subscribe");
        co_return subscribe_verdict{subscribe_, subscribe_qos_};
    }

    asio::awaitable<publish_verdict> on_publish(const client_info& c,
                                                const coromq::packet::publish&) override {
        log("on_publish", c.client_id);
        co_await delay(c.username);
        check_throw("publish");
        co_return publish_;
    }

private:
    void log(const char* hook, const std::string& who) const {
        std::fprintf(stderr, "probe %s: %s client_id=%s\n", name_.c_str(), hook, who.c_str());
    }
    void check_throw(const std::string& hook) const {
        if (throws_.contains(hook)) {
            throw std::runtime_error("probe " + name_ + " throws in " + hook);
        }
    }
    asio::awaitable<void> delay(const std::optional<std::string>& user) const {
        if (delay_.count() == 0 || (!delay_user_.empty() && user != delay_user_)) {
            co_return;
        }
        asio::steady_timer t(co_await asio::this_coro::executor, delay_);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable)); // cancelled on timeout
    }

    std::string name_;
    verdict accept_ = verdict::pass;
    verdict connect_ = verdict::pass;
    coromq::packet::connect_return_code connect_code_ =
        coromq::packet::connect_return_code::not_authorized;
    verdict subscribe_ = verdict::pass;
    coromq::packet::qos subscribe_qos_ = coromq::packet::qos::exactly_once;
    publish_verdict publish_ = publish_verdict::pass;
    std::chrono::milliseconds delay_{0};
    std::string delay_user_;
    std::set<std::string> throws_;
};

} // namespace

extern "C" coromq::broker::plugin*
coromq_create_plugin(const coromq::broker::plugin_options& options) {
    return new probe(options);
}
