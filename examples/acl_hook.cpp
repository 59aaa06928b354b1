// Gmqtt's OnSubscribe example as a coromq hook: the user "root" may subscribe to anything at
// the QoS it asks for; everyone else gets at most QoS 1.
//
//   acl_hook --listener mqtt://127.0.0.1:1883
#include "example_main.hpp"

#include <coromq/broker/hooks.hpp>

using namespace coromq::broker;
using coromq::packet::qos;

class qos_by_user final : public plugin {
public:
    std::string name() const override { return "qos_by_user"; }
    hook_set hooks() const override { return hook_subscribe; }

    boost::asio::awaitable<subscribe_verdict>
    on_subscribe(const client_info& client, const coromq::packet::subscription& sub) override {
        if (client.username == "root") {
            co_return subscribe_verdict::allow(sub.max_qos); // root: whatever it asked for
        }
        // Others: the broker grants the lower of this and what the client asked for.
        co_return subscribe_verdict::allow(qos::at_least_once);
    }
};

int main(int argc, char* argv[]) {
    return example::run(argc, argv, [](server& s, const example::settings&) {
        s.add_plugin(std::make_shared<qos_by_user>());
    });
}
