#include "message_notifier.hpp"

#include "../broker/log.hpp"

#include <boost/asio/co_spawn.hpp>

#include <exception>

namespace coromq::net {

message_notifier::message_notifier(boost::asio::io_context& ioc, hook_chain& hooks)
    : strand_(boost::asio::make_strand(ioc))
    , hooks_(hooks) {}

void message_notifier::push(broker::message_event&& event) {
    {
        std::lock_guard lock(mutex_);
        if (pending_.size() >= max_pending) {
            if (overflowed_++ == 0) {
                broker::log("WARN", "on_delivered/on_msg_dropped hooks are behind: ", max_pending,
                            " notifications waiting, later ones are not queued");
            }
            return;
        }
        pending_.push_back(std::move(event));
        if (draining_) {
            return;
        }
        draining_ = true;
    }
    // hook_chain bounds each call and contains what a hook throws; anything else is logged.
    // The notifier lives in broker_state, which outlives the io_context's running.
    boost::asio::co_spawn(strand_, drain(), [this](const std::exception_ptr& e) {
        if (!e) {
            return;
        }
        {
            std::lock_guard lock(mutex_);
            draining_ = false;
        }
        broker::log_exception("message notifications")(e);
    });
}

bool message_notifier::idle() const {
    std::lock_guard lock(mutex_);
    return !draining_;
}

boost::asio::awaitable<void> message_notifier::drain() {
    for (;;) {
        broker::message_event event;
        std::uint64_t overflowed = 0;
        {
            std::lock_guard lock(mutex_);
            if (pending_.empty()) {
                draining_ = false;
                overflowed = overflowed_;
                overflowed_ = 0;
            } else {
                event = std::move(pending_.front());
                pending_.pop_front();
            }
        }
        if (!event.message) {
            if (overflowed != 0) {
                broker::log("WARN", overflowed,
                            " on_delivered/on_msg_dropped notifications were not queued");
            }
            co_return;
        }
        packet::publish message;
        message.qos_level = event.qos_level;
        message.retain = event.retain;
        message.packet_id = event.packet_id;
        message.message = event.message->buffer;
        message.props = event.message->props;
        if (event.delivered) {
            co_await hooks_.delivered(event.client_id, message);
        } else {
            co_await hooks_.msg_dropped(event.client_id, message, event.why);
        }
    }
}

} // namespace coromq::net
