// A plugin built as a shared object (libpayload_limit.so) that the stock binary loads:
//
//   coromq --plugin path/to/libpayload_limit.so
//          --plugin_opt payload_limit:max_payload=1024
//          --plugin_opt payload_limit:banned=bad-client,other-bad-client
//
// - on_connect: client ids listed in `banned` are refused (CONNACK 0x05, not authorized);
// - on_publish: messages whose payload is larger than `max_payload` bytes (default 1024) are
//   acknowledged and dropped [MQTT-3.3.5-2].
//
// The entry point is `extern "C" coromq_create_plugin`; see coromq/broker/hooks.hpp for the
// ABI rule (same compiler, same Boost, coromq's Asio flags; Asio comes from the executable).
#include <coromq/broker/hooks.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>

namespace {

using namespace coromq::broker;

class payload_limit final : public plugin {
public:
    explicit payload_limit(const plugin_options& options)
        : name_(options.name) {
        for (const auto& [key, value] : options.options) {
            if (key == "max_payload") {
                max_payload_ = std::stoul(value);
            } else if (key == "banned") {
                std::size_t start = 0;
                while (start <= value.size()) {
                    const auto comma = std::min(value.find(',', start), value.size());
                    if (comma > start) {
                        banned_.insert(value.substr(start, comma - start));
                    }
                    start = comma + 1;
                }
            } else {
                // Thrown from coromq_create_plugin: the binary reports it and exits with 2.
                throw std::invalid_argument("unknown option '" + key + "' (max_payload, banned)");
            }
        }
    }

    std::string name() const override { return name_; }
    hook_set hooks() const override { return hook_connect | hook_publish; }

    boost::asio::awaitable<connect_verdict> on_connect(const client_info& client,
                                                       const std::optional<std::string>&) override {
        if (banned_.contains(client.client_id)) {
            co_return connect_verdict::deny(coromq::packet::connect_return_code::not_authorized);
        }
        co_return connect_verdict::pass();
    }

    boost::asio::awaitable<publish_verdict> on_publish(const client_info& client,
                                                       const coromq::packet::publish& p) override {
        if (p.payload().size() > max_payload_) {
            std::fprintf(stderr, "%s: dropped %zu bytes from %s on %.*s\n", name_.c_str(),
                         p.payload().size(), client.client_id.c_str(), int(p.topic().size()),
                         p.topic().data());
            co_return publish_verdict::drop;
        }
        co_return publish_verdict::pass;
    }

private:
    std::string name_;
    std::size_t max_payload_ = 1024;
    std::set<std::string> banned_; // read-only once built: safe from every connection
};

} // namespace

extern "C" coromq::broker::plugin*
coromq_create_plugin(const coromq::broker::plugin_options& options) {
    return new payload_limit(options);
}
