// Gmqtt's OnPublish example as a coromq hook, plus its mirror image:
// - the user "subscribeonly" may not publish: its connection is closed when it tries
//   [MQTT-3.3.5-2, second way];
// - the user "publishonly" may not subscribe: every filter gets SUBACK 0x80;
// - QoS 2 messages are acknowledged as usual and delivered to no one [MQTT-3.3.5-2, first
//   way]; QoS 0 and 1 messages are delivered.
//
//   publish_policy --listener mqtt://127.0.0.1:1883
#include "example_main.hpp"

#include <coromq/broker/hooks.hpp>

using namespace coromq::broker;
using coromq::packet::qos;

class publish_policy final : public plugin {
public:
    std::string name() const override { return "publish_policy"; }
    hook_set hooks() const override { return hook_publish | hook_subscribe; }

    boost::asio::awaitable<publish_verdict> on_publish(const client_info& client,
                                                       const coromq::packet::publish& p) override {
        if (client.username == "subscribeonly") {
            co_return publish_verdict::disconnect; // close the network connection
        }
        if (p.qos_level == qos::exactly_once) {
            co_return publish_verdict::drop; // acknowledge, but do not distribute
        }
        co_return publish_verdict::allow;
    }

    boost::asio::awaitable<subscribe_verdict>
    on_subscribe(const client_info& client, const coromq::packet::subscription&) override {
        if (client.username == "publishonly") {
            co_return subscribe_verdict::deny();
        }
        co_return subscribe_verdict::pass();
    }
};

int main(int argc, char* argv[]) {
    return example::run(argc, argv, [](server& s, const example::settings&) {
        s.add_plugin(std::make_shared<publish_policy>());
    });
}
