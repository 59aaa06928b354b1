"""Retained messages: stored, replaced, cleared, and sent on subscription with RETAIN set."""
import rawmqtt
from mqttclients import (MosquittoSub, Paho, mosquitto_pub, raw_connect, raw_next,
                         raw_subscribe, unique)


def test_retained_sent_to_new_subscriber_with_retain_flag(broker):
    """[MQTT-3.3.1-5] stored; [MQTT-3.3.1-6] sent to a new subscription; [MQTT-3.3.1-8] with
    RETAIN 1. [MQTT-3.1.2-7] The publisher's (clean) session has ended by then."""
    topic = unique("ret") + "/state"
    mosquitto_pub(broker.port, topic, "on", qos=1, retain=True)
    sub = MosquittoSub(broker.port, topic, qos=1, count=1)
    code, msgs = sub.finish()
    assert code == 0
    assert msgs == [(topic, 1, 1, "on")]


def test_live_delivery_clears_retain_flag(broker):
    """[MQTT-3.3.1-9] a retained PUBLISH delivered to an existing subscription has RETAIN 0."""
    topic = unique("ret") + "/live"
    sub = Paho(broker.port, unique("sub"))
    pub = Paho(broker.port, unique("pub"))
    try:
        sub.connect()
        sub.subscribe(topic, 1)
        pub.connect()
        pub.publish(topic, b"now", qos=1, retain=True)
        msg = sub.expect_message()
        assert (msg.payload, msg.retain) == (b"now", False)
        # ...and it was stored all the same.
        late = Paho(broker.port, unique("late"))
        late.connect()
        late.subscribe(topic, 1)
        msg = late.expect_message()
        assert (msg.payload, msg.retain) == (b"now", True)
        late.close()
    finally:
        sub.close()
        pub.close()


def test_new_retained_message_replaces_old(broker):
    """[MQTT-3.3.1-5] only the last retained message per topic is kept."""
    topic = unique("ret") + "/replace"
    for v in ("1", "2", "3"):
        mosquitto_pub(broker.port, topic, v, qos=1, retain=True)
    c = raw_connect(broker.port, unique("raw"))
    try:
        raw_subscribe(c, topic, 0)
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.payload, p.retain, p.qos) == (b"3", True, 0)
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


def test_empty_retained_payload_clears_and_is_forwarded(broker):
    """[MQTT-3.3.1-10] a zero-byte retained PUBLISH is delivered to current subscribers as
    normal and removes the retained message; [MQTT-3.3.1-11] it is not stored itself."""
    topic = unique("ret") + "/clear"
    mosquitto_pub(broker.port, topic, "keep me", qos=1, retain=True)
    current = raw_connect(broker.port, unique("cur"))
    try:
        raw_subscribe(current, topic, 0)
        assert current.expect(rawmqtt.PUBLISH).payload == b"keep me"
        mosquitto_pub(broker.port, topic, "", qos=1, retain=True)
        p = current.expect(rawmqtt.PUBLISH)
        assert (p.payload, p.retain) == (b"", False)
    finally:
        current.close()
    later = raw_connect(broker.port, unique("later"))
    try:
        raw_subscribe(later, topic, 1)
        assert raw_next(later, 0.5) is None
    finally:
        later.close()


def test_non_retained_publish_leaves_retained_message(broker):
    """[MQTT-3.3.1-12] RETAIN 0 neither stores nor replaces nor removes the retained message."""
    topic = unique("ret") + "/keep"
    mosquitto_pub(broker.port, topic, "retained", qos=1, retain=True)
    mosquitto_pub(broker.port, topic, "transient", qos=1)
    mosquitto_pub(broker.port, topic, "", qos=1)
    c = raw_connect(broker.port, unique("raw"))
    try:
        raw_subscribe(c, topic, 1)
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.payload, p.retain) == (b"retained", True)
        c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


def test_wildcard_subscription_gets_every_matching_retained_message(broker):
    """[MQTT-3.3.1-6] the last retained message on each matching topic; [MQTT-3.8.4-1] SUBACK
    comes before them."""
    base = unique("retwild")
    topics = [base + "/a", base + "/b/c", base + "/b/d"]
    for i, t in enumerate(topics):
        mosquitto_pub(broker.port, t, "v%d" % i, qos=1, retain=True)
    mosquitto_pub(broker.port, unique("other") + "/a", "x", qos=1, retain=True)
    c = raw_connect(broker.port, unique("raw"))
    try:
        c.send(rawmqtt.subscribe(9, [(base + "/#", 0)]))
        assert c.expect(rawmqtt.SUBACK).packet_id == 9
        got = {}
        for _ in topics:
            p = c.expect(rawmqtt.PUBLISH)
            assert p.retain
            got[p.topic] = p.payload
        assert got == {t: b"v%d" % i for i, t in enumerate(topics)}
        assert raw_next(c, 0.3) is None
        c.send(rawmqtt.subscribe(10, [(base + "/+/d", 0)]))
        c.expect(rawmqtt.SUBACK)
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.topic, p.payload, p.retain) == (base + "/b/d", b"v2", True)
    finally:
        c.close()


def test_retained_qos_is_minimum_of_stored_and_subscription(broker):
    """[MQTT-3.8.4-6] a retained QoS 2 message goes out at the subscription's QoS."""
    topic = unique("retqos") + "/t"
    mosquitto_pub(broker.port, topic, "q2", qos=2, retain=True)
    for sub_qos in (0, 1, 2):
        c = raw_connect(broker.port, unique("raw"))
        try:
            raw_subscribe(c, topic, sub_qos)
            p = c.expect(rawmqtt.PUBLISH)
            assert (p.qos, p.retain, p.payload) == (sub_qos, True, b"q2")
        finally:
            c.close()
    mosquitto_pub(broker.port, topic + "0", "q0", qos=0, retain=True)
    sub = MosquittoSub(broker.port, topic + "0", qos=2, count=1)
    assert sub.finish()[1] == [(topic + "0", 1, 0, "q0")]


def test_resubscribe_sends_retained_again(broker):
    """[MQTT-3.8.4-3] a SUBSCRIBE for an existing filter replaces the subscription and the
    matching retained messages are sent again."""
    topic = unique("retresub") + "/t"
    mosquitto_pub(broker.port, topic, "again", qos=1, retain=True)
    c = raw_connect(broker.port, unique("raw"))
    try:
        for pid in (1, 2):
            raw_subscribe(c, topic, 0, packet_id=pid)
            p = c.expect(rawmqtt.PUBLISH)
            assert (p.payload, p.retain) == (b"again", True)
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


def test_hash_does_not_match_dollar_topics(broker):
    """[MQTT-4.7.2-1] '#' and '+' at the first level do not match topics starting with '$'."""
    dollar = "$" + unique("x") + "/t"
    mosquitto_pub(broker.port, dollar, "hidden", qos=1, retain=True)
    c = raw_connect(broker.port, unique("raw"))
    try:
        raw_subscribe(c, "#", 0, packet_id=1)
        raw_subscribe(c, "+/t", 0, packet_id=2)
        for p in iter(lambda: raw_next(c, 0.3), None):
            assert not p.topic.startswith("$"), p.topic
        raw_subscribe(c, dollar, 0, packet_id=3)
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.topic, p.payload) == (dollar, b"hidden")
    finally:
        c.close()


def test_retained_qos0_replaces_retained_qos1(broker):
    """[MQTT-3.3.1-7] a retained QoS 0 message discards what was retained before on the topic
    (coromq keeps the new one, as the standard recommends)."""
    topic = unique("retq0") + "/t"
    mosquitto_pub(broker.port, topic, "old q1", qos=1, retain=True)
    c = raw_connect(broker.port, unique("pub"))
    c.send(rawmqtt.publish(topic, b"new q0", qos=0, retain=True))
    c.send(rawmqtt.subscribe(1, [(topic, 1)]))     # handled after the PUBLISH: same connection
    c.expect(rawmqtt.SUBACK)
    try:
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.payload, p.qos, p.retain) == (b"new q0", 0, True)
        assert raw_next(c, 0.3) is None
    finally:
        c.close()
