#include "router.hpp"

#include <coromq/packet/codec.hpp>

#include <algorithm>

namespace coromq::broker {
namespace {

using packet::protocol_version;
using packet::qos;

/// Encodes a control packet for `link`'s protocol version and queues it.
template <class Packet>
void send(client_link& link, const Packet& p) {
    link.push(make_outgoing([&](std::string& out) { packet::encode(p, link.version(), out); }));
}

qos min_qos(qos a, qos b) {
    return a < b ? a : b;
}

std::size_t filter_levels(std::string_view filter) {
    return std::size_t(std::count(filter.begin(), filter.end(), '/')) + 1;
}

/// A 5.0 session outlives its connection when the session expiry interval is above zero;
/// before 5.0 when clean session is 0.
bool persistent(const packet::connect& c) {
    if (c.version == protocol_version::v5) {
        const auto* expiry =
            packet::find_property(c.props, packet::property_id::session_expiry_interval);
        return expiry && expiry->number > 0;
    }
    return !c.clean_start;
}

} // namespace

router::router(broker_config config)
    : config_(std::move(config)) {
    if (config_.max_inflight_messages == 0 || config_.max_inflight_messages > 65535) {
        config_.max_inflight_messages = 65535; // packet ids are 16 bits
    }
}

router::~router() {
    // Sessions point at each other only through the trie; drop it before them.
    for (auto& [id, s] : sessions_) {
        if (s->link) {
            s->link->close(close_reason::server_stopping);
        }
    }
}

std::shared_ptr<session> router::find_session(std::string_view client_id) const {
    auto it = sessions_.find(client_id);
    return it == sessions_.end() ? nullptr : it->second;
}

attach_result router::attach(const packet::connect& c, std::shared_ptr<client_link> link,
                             steady_time now, wall_time wall_now) {
    attach_result result;
    std::string id = c.client_id;
    if (id.empty()) {
        // [MQTT-3.1.3-8] a zero-byte id with clean session 0 is refused with 0x02;
        // [MQTT-3.1.3-6] with clean session 1 the server assigns a unique id.
        if (c.version != protocol_version::v5 && !c.clean_start) {
            send(*link,
                 packet::connack{
                     false, std::uint8_t(packet::connect_return_code::identifier_rejected), {}});
            link->close(close_reason::protocol_error); // [MQTT-3.1.3-9]
            return result;
        }
        do {
            id = "coromq-" + std::to_string(++assigned_ids_);
        } while (sessions_.contains(id));
        result.assigned_client_id = id;
    }

    std::shared_ptr<session> s;
    if (auto it = sessions_.find(id); it != sessions_.end()) {
        auto existing = it->second;
        if (existing->link) {
            // [MQTT-3.1.4-2] the server disconnects the existing client. Its connection
            // ended without DISCONNECT, so its will is published [MQTT-3.1.2-8].
            existing->link->close(close_reason::taken_over);
            existing->link.reset();
            --online_count_;
            existing->offline_at = wall_now;
            if (existing->will) {
                result.taken_over_will = std::move(*existing->will);
                existing->will.reset();
            }
        }
        // [MQTT-3.1.2-4] resume only when asked to and when the old session was persistent.
        const bool resume = !c.clean_start && !existing->clean_session;
        if (resume) {
            s = existing;
        } else {
            remove_session(existing); // [MQTT-3.1.2-6]
            result.previous_session_ended = true;
        }
    }
    result.session_present = s != nullptr; // [MQTT-3.2.2-2] [MQTT-3.2.2-3]
    if (!s) {
        s = std::make_shared<session>();
        s->client_id = id;
        sessions_.emplace(id, s);
    }
    s->clean_session = !persistent(c);
    s->version = c.version;
    s->link = std::move(link);
    ++online_count_;
    s->will = c.last_will ? std::make_unique<packet::will>(*c.last_will) : nullptr;
    s->username = c.username;
    s->remote_address = s->link->remote_address();
    s->keep_alive = c.keep_alive;
    s->connected_at = wall_now;

    packet::connack ack{result.session_present, 0, {}};
    if (c.version == protocol_version::v5 && !result.assigned_client_id.empty()) {
        ack.props.push_back(
            {packet::property_id::assigned_client_identifier, 0, {}, result.assigned_client_id});
    }
    send(*s->link, ack);
    if (result.session_present) {
        resend_inflight(*s, now); // [MQTT-4.4.0-1]
        fill_inflight(*s, now);
    }
    result.attached = s;
    return result;
}

detach_result router::detach(const std::shared_ptr<session>& s, const client_link* link,
                             bool with_will, steady_time, wall_time wall_now) {
    detach_result result;
    if (s->link.get() != link) {
        return result; // taken over: the new connection owns the session (and took the will)
    }
    s->link.reset();
    --online_count_;
    s->offline_at = wall_now;
    if (with_will && s->will) {
        result.will = std::move(*s->will);
    }
    s->will.reset(); // [MQTT-3.1.2-10] discarded after DISCONNECT
    if (s->clean_session) {
        remove_session(s); // [MQTT-3.1.2-6]
        result.session_ended = true;
    }
    return result;
}

void router::publish_will(const packet::will& will, const session* publisher, steady_time now) {
    auto m = std::make_shared<app_message>();
    m->buffer = will.message;
    m->qos_level = will.qos_level;
    m->retain = will.retain;
    for (const auto& prop : will.props) {
        if (prop.id != packet::property_id::will_delay_interval) {
            m->props.push_back(prop); // the rest are PUBLISH properties too
        }
    }
    m->publisher = publisher;
    publish(std::move(m), now);
}

void router::remove_session(const std::shared_ptr<session>& s) {
    for (const auto& [filter, sub] : s->subscriptions) {
        subscriptions_.erase(filter, s.get());
    }
    s->subscriptions.clear();
    if (auto it = sessions_.find(s->client_id); it != sessions_.end() && it->second == s) {
        sessions_.erase(it);
    }
}

void router::on_publish(session& s, const client_link* link, packet::publish&& p, steady_time now,
                        bool deliver) {
    if (s.link.get() != link) {
        return;
    }
    ++stats_.messages_received;
    // A refused publish is acknowledged as usual [MQTT-3.3.5-2]; 5.0 can say why.
    const auto ack_reason = !deliver && s.version == protocol_version::v5
                                ? packet::reason_code::not_authorized
                                : packet::reason_code::success;
    message_ptr m;
    if (deliver) {
        auto fresh = std::make_shared<app_message>();
        fresh->buffer = std::move(p.message);
        fresh->qos_level = p.qos_level;
        fresh->retain = p.retain;
        fresh->publisher = &s;
        if (s.version == protocol_version::v5) {
            // The topic alias and subscription identifiers belong to one hop, not to the
            // message.
            for (auto& prop : p.props) {
                if (prop.id != packet::property_id::topic_alias &&
                    prop.id != packet::property_id::subscription_identifier) {
                    fresh->props.push_back(std::move(prop));
                }
            }
        }
        m = std::move(fresh);
    }
    switch (p.qos_level) {
    case qos::at_most_once:
        if (m) {
            publish(std::move(m), now);
        }
        break;
    case qos::at_least_once:
        if (m) {
            publish(std::move(m), now);
        }
        send(*s.link, packet::puback{{p.packet_id, ack_reason, {}}});
        break;
    case qos::exactly_once:
        // [MQTT-4.3.3-2] method B: deliver on PUBLISH, remember the id until PUBREL so a
        // resent PUBLISH (DUP) is acknowledged again but not delivered twice.
        if (s.awaiting_pubrel.insert(p.packet_id).second && m) {
            publish(std::move(m), now);
        }
        send(*s.link, packet::pubrec{{p.packet_id, ack_reason, {}}});
        break;
    }
}

void router::publish(message_ptr m, steady_time now) {
    if (m->retain) {
        // [MQTT-3.3.1-5] store it, replacing what was there; [MQTT-3.3.1-10] [MQTT-3.3.1-11]
        // an empty payload removes it and is not stored itself.
        retained_.set(m->buffer.topic(), m->buffer.payload().empty() ? message_ptr{} : m);
    }
    route(m, now);
}

void router::route(const message_ptr& m, steady_time now) {
    matches_.clear();
    subscriptions_.match(m->buffer.topic(), [this](session* s, const packet::subscription& sub) {
        matches_.emplace_back(s, &sub);
    });
    if (matches_.size() > 1) {
        // One copy per session, at the highest QoS of its matching subscriptions [MQTT-3.3.5-1].
        std::sort(matches_.begin(), matches_.end(), [](const auto& a, const auto& b) {
            return a.first != b.first ? a.first < b.first : a.second->max_qos > b.second->max_qos;
        });
        matches_.erase(std::unique(matches_.begin(), matches_.end(),
                                   [](const auto& a, const auto& b) { return a.first == b.first; }),
                       matches_.end());
    }
    for (const auto& [s, sub] : matches_) {
        if (sub->no_local && m->publisher == s) {
            continue; // 5.0 [MQTT-3.8.3-3]
        }
        // [MQTT-3.3.1-9] the retain flag is cleared on normal delivery, unless a 5.0 client
        // asked for retain-as-published.
        const bool retain = sub->retain_as_published && m->retain;
        deliver(*s, m, min_qos(m->qos_level, sub->max_qos), retain, now);
    }
}

void router::deliver(session& s, const message_ptr& m, qos q, bool retain, steady_time now) {
    if (!s.link) {
        if (q == qos::at_most_once && !config_.queue_qos0_messages) {
            report_drop(s, m, q, retain, drop_reason::offline_qos0);
            return;
        }
        enqueue(s, {m, q, retain});
        return;
    }
    if (q == qos::at_most_once) {
        // A subscriber that does not read must not make the broker grow: past the outbox
        // limit its QoS 0 messages are dropped and counted.
        if (config_.max_outbox_messages != 0 && s.link->queued() >= config_.max_outbox_messages) {
            ++s.dropped;
            ++stats_.messages_dropped;
            report_drop(s, m, q, retain, drop_reason::outbox_full);
            return;
        }
        send_publish(s, m, q, retain, 0, false);
        return;
    }
    if (s.queue.empty() && s.inflight.size() < config_.max_inflight_messages) {
        start_inflight(s, {m, q, retain}, now);
    } else {
        enqueue(s, {m, q, retain});
    }
}

void router::enqueue(session& s, queued_message m) {
    const auto limit = config_.max_msgqueue_messages;
    if (limit != 0 && s.queue.size() >= limit) {
        // Drop policy: QoS 0 goes first. A new QoS 1/2 message replaces the oldest queued
        // QoS 0 one; when there is none, the new message is dropped. Counted either way.
        ++s.dropped;
        ++stats_.messages_dropped;
        if (m.qos_level == qos::at_most_once) {
            report_drop(s, m.message, m.qos_level, m.retain, drop_reason::queue_full);
            return;
        }
        auto q0 = std::find_if(s.queue.begin(), s.queue.end(), [](const queued_message& e) {
            return e.qos_level == qos::at_most_once;
        });
        if (q0 == s.queue.end()) {
            report_drop(s, m.message, m.qos_level, m.retain, drop_reason::queue_full);
            return;
        }
        report_drop(s, q0->message, q0->qos_level, q0->retain, drop_reason::queue_full);
        s.queue.erase(q0);
    }
    s.queue.push_back(std::move(m));
}

std::uint16_t router::next_packet_id(session& s) {
    for (;;) {
        const std::uint16_t id = s.next_packet_id++;
        if (s.next_packet_id == 0) {
            s.next_packet_id = 1;
        }
        if (id == 0) {
            continue;
        }
        const bool in_use =
            std::any_of(s.inflight.begin(), s.inflight.end(),
                        [id](const inflight_message& e) { return e.packet_id == id; });
        if (!in_use) {
            return id; // [MQTT-2.3.1-2] unused while its exchange is unfinished
        }
    }
}

void router::start_inflight(session& s, queued_message m, steady_time now) {
    inflight_message e;
    e.packet_id = next_packet_id(s);
    e.qos_level = m.qos_level;
    e.retain = m.retain;
    e.state = m.qos_level == qos::at_least_once ? inflight_message::stage::awaiting_puback
                                                : inflight_message::stage::awaiting_pubrec;
    e.message = std::move(m.message);
    e.sent_at = now;
    send_publish(s, e.message, e.qos_level, e.retain, e.packet_id, false);
    s.inflight.push_back(std::move(e));
}

void router::fill_inflight(session& s, steady_time now) {
    if (!s.link) {
        return;
    }
    while (!s.queue.empty()) {
        auto& front = s.queue.front();
        if (front.qos_level == qos::at_most_once) {
            send_publish(s, front.message, front.qos_level, front.retain, 0, false);
        } else if (s.inflight.size() < config_.max_inflight_messages) {
            start_inflight(s, std::move(front), now);
        } else {
            return;
        }
        s.queue.pop_front();
    }
}

void router::send_publish(session& s, const message_ptr& message, qos q, bool retain,
                          std::uint16_t packet_id, bool dup) {
    const app_message& m = *message;
    packet::publish p;
    p.dup = dup;
    p.qos_level = q;
    p.retain = retain;
    p.packet_id = packet_id;
    p.message = m.buffer;
    if (s.version == protocol_version::v5) {
        p.props = m.props;
    }
    s.link->push(make_outgoing(
        [&](std::string& out) { packet::encode_publish_header(p, s.version, out); }, m.buffer));
    ++stats_.messages_delivered;
    if (report_delivered_ && !dup) {
        events_({true, drop_reason::queue_full, s.client_id, message, q, retain, packet_id});
    }
}

void router::report_drop(const session& s, const message_ptr& m, qos q, bool retain,
                         drop_reason why) {
    if (report_dropped_) {
        events_({false, why, s.client_id, m, q, retain, 0});
    }
}

void router::set_message_events(message_event_sink sink, bool delivered, bool dropped) {
    events_ = std::move(sink);
    report_delivered_ = delivered && events_;
    report_dropped_ = dropped && events_;
}

void router::send_pubrel(session& s, std::uint16_t packet_id) {
    send(*s.link, packet::pubrel{{packet_id, packet::reason_code::success, {}}});
}

void router::resend_inflight(session& s, steady_time now) {
    for (auto& e : s.inflight) {
        e.sent_at = now;
        if (e.state == inflight_message::stage::awaiting_pubcomp) {
            send_pubrel(s, e.packet_id);
        } else {
            send_publish(s, e.message, e.qos_level, e.retain, e.packet_id, true); // [MQTT-3.3.1-1]
        }
    }
}

void router::retry_overdue(steady_time now) {
    if (config_.delivery_retry_interval == 0) {
        return;
    }
    const auto interval = std::chrono::seconds(config_.delivery_retry_interval);
    for (auto& [id, s] : sessions_) {
        if (!s->link) {
            continue;
        }
        for (auto& e : s->inflight) {
            if (e.sent_at + interval > now) {
                continue;
            }
            e.sent_at = now;
            if (e.state == inflight_message::stage::awaiting_pubcomp) {
                send_pubrel(*s, e.packet_id);
            } else {
                send_publish(*s, e.message, e.qos_level, e.retain, e.packet_id, true);
            }
        }
    }
}

namespace {
template <class Pred>
auto find_inflight(session& s, std::uint16_t id, Pred pred) {
    return std::find_if(s.inflight.begin(), s.inflight.end(), [&](const inflight_message& e) {
        return e.packet_id == id && pred(e.state);
    });
}
} // namespace

void router::on_puback(session& s, const client_link* link, std::uint16_t id, steady_time now) {
    if (s.link.get() != link) {
        return;
    }
    auto it = find_inflight(s, id,
                            [](auto st) { return st == inflight_message::stage::awaiting_puback; });
    if (it != s.inflight.end()) {
        s.inflight.erase(it);
        fill_inflight(s, now);
    }
}

void router::on_pubrec(session& s, const client_link* link, std::uint16_t id, steady_time now) {
    if (s.link.get() != link) {
        return;
    }
    auto it = find_inflight(s, id,
                            [](auto st) { return st != inflight_message::stage::awaiting_puback; });
    if (it != s.inflight.end()) {
        // [MQTT-4.3.3-1] from here on only PUBREL is resent; the message itself is released.
        it->state = inflight_message::stage::awaiting_pubcomp;
        it->message.reset();
        it->sent_at = now;
        send_pubrel(s, id);
    }
}

void router::on_pubrel(session& s, const client_link* link, std::uint16_t id) {
    if (s.link.get() != link) {
        return;
    }
    const bool known = s.awaiting_pubrel.erase(id) != 0;
    // PUBCOMP even for an unknown id, so a client that lost our PUBCOMP can finish.
    packet::pubcomp comp{{id, packet::reason_code::success, {}}};
    if (!known && s.version == protocol_version::v5) {
        comp.reason = packet::reason_code::packet_identifier_not_found;
    }
    send(*s.link, comp);
}

void router::on_pubcomp(session& s, const client_link* link, std::uint16_t id, steady_time now) {
    if (s.link.get() != link) {
        return;
    }
    auto it = find_inflight(
        s, id, [](auto st) { return st == inflight_message::stage::awaiting_pubcomp; });
    if (it != s.inflight.end()) {
        s.inflight.erase(it);
        fill_inflight(s, now);
    }
}

void router::on_subscribe(session& s, const client_link* link, packet::subscribe&& p,
                          steady_time now, wall_time wall_now,
                          std::vector<std::optional<packet::qos>> grants) {
    if (s.link.get() != link) {
        return;
    }
    packet::suback ack;
    ack.packet_id = p.packet_id; // [MQTT-3.8.4-2]
    std::vector<bool> is_new;
    is_new.reserve(p.subscriptions.size());
    for (std::size_t i = 0; i < p.subscriptions.size(); ++i) {
        auto& sub = p.subscriptions[i];
        if (!grants.empty()) {
            if (!grants[i]) {
                // Refused by an on_subscribe hook [MQTT-3.9.3-2].
                ack.codes.push_back(s.version == protocol_version::v5
                                        ? packet::reason_code::not_authorized
                                        : packet::reason_code::unspecified_error);
                is_new.push_back(false);
                continue;
            }
            sub.max_qos = min_qos(sub.max_qos, *grants[i]); // [MQTT-3.9.3-1] may grant less
        }
        bool inserted = false;
        if (!add_subscription(s, sub, wall_now, inserted)) {
            ack.codes.push_back(packet::reason_code::unspecified_error);
            is_new.push_back(false);
            continue;
        }
        is_new.push_back(inserted);
        ack.codes.push_back(packet::reason_code(sub.max_qos)); // [MQTT-3.8.4-5] [MQTT-3.9.3-1]
    }
    send(*s.link, ack); // [MQTT-3.8.4-1] before any retained message
    for (std::size_t i = 0; i < p.subscriptions.size(); ++i) {
        const auto& sub = p.subscriptions[i];
        if (std::uint8_t(ack.codes[i]) >= 0x80) {
            continue; // refused
        }
        if (s.version == protocol_version::v5) {
            if (sub.retain_policy == packet::retain_handling::do_not_send ||
                (sub.retain_policy == packet::retain_handling::send_if_new_subscription &&
                 !is_new[i])) {
                continue;
            }
        }
        send_retained(s, sub, now); // [MQTT-3.8.4-3]
    }
}

bool router::add_subscription(session& s, const packet::subscription& sub, wall_time wall_now,
                              bool& is_new) {
    if (filter_levels(sub.filter) > max_filter_levels) {
        // Refused [MQTT-3.9.3-2]: keeps the subscription trie, and so the recursion of
        // matching, shallow whatever clients send.
        return false;
    }
    // [MQTT-3.8.4-3] a subscription to the same filter replaces the old one.
    is_new =
        s.subscriptions.insert_or_assign(sub.filter, session_subscription{sub, wall_now}).second;
    subscriptions_.insert(sub.filter, &s, sub);
    return true;
}

bool router::remove_subscription(session& s, std::string_view filter) {
    bool existed = false;
    if (auto it = s.subscriptions.find(filter); it != s.subscriptions.end()) {
        s.subscriptions.erase(it);
        existed = true;
    }
    subscriptions_.erase(filter, &s); // [MQTT-3.10.4-1]
    return existed;
}

void router::send_retained(session& s, const packet::subscription& sub, steady_time now) {
    retained_.match(sub.filter, [&](const message_ptr& m) {
        // [MQTT-3.3.1-8] retained messages sent because of a new subscription keep RETAIN 1.
        deliver(s, m, min_qos(m->qos_level, sub.max_qos), true, now);
    });
}

void router::on_unsubscribe(session& s, const client_link* link, packet::unsubscribe&& p,
                            std::vector<bool> kept) {
    if (s.link.get() != link) {
        return;
    }
    packet::unsuback ack;
    ack.packet_id = p.packet_id; // [MQTT-3.10.4-4]
    for (std::size_t i = 0; i < p.filters.size(); ++i) {
        if (!kept.empty() && kept[i]) {
            // An on_unsubscribe hook keeps it; 3.1.1 has no way to say so.
            if (s.version == protocol_version::v5) {
                ack.codes.push_back(packet::reason_code::not_authorized);
            }
            continue;
        }
        const bool existed = remove_subscription(s, p.filters[i]);
        if (s.version == protocol_version::v5) {
            ack.codes.push_back(existed ? packet::reason_code::success
                                        : packet::reason_code::no_subscription_existed);
        }
    }
    send(*s.link, ack); // [MQTT-3.10.4-4] [MQTT-3.10.4-5] even when nothing was removed
}

void router::close_all(close_reason why) {
    for (auto& [id, s] : sessions_) {
        if (s->link) {
            s->link->close(why);
        }
    }
}

} // namespace coromq::broker
