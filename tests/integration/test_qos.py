"""QoS 0/1/2 end to end with clients we did not write (paho, mosquitto), and the broker's side
of the QoS 1/2 exchanges checked byte by byte with the raw client."""
import rawmqtt
from mqttclients import (MosquittoSub, Paho, mosquitto_pub, raw_connect, raw_next,
                         raw_subscribe, unique)


def _pair(broker, sub_qos):
    topic = unique("qos") + "/t"
    sub = Paho(broker.port, unique("sub"))
    sub.connect()
    assert sub.subscribe(topic, sub_qos) == [sub_qos]     # granted as asked
    pub = Paho(broker.port, unique("pub"))
    pub.connect()
    return topic, sub, pub


def test_paho_qos0_delivered(broker):
    topic, sub, pub = _pair(broker, 0)
    try:
        pub.publish(topic, b"zero", qos=0)
        msg = sub.expect_message()
        assert (msg.topic, msg.payload, msg.qos, msg.retain) == (topic, b"zero", 0, False)
    finally:
        pub.close()
        sub.close()


def test_paho_qos1_delivered_and_acknowledged(broker):
    """[MQTT-4.3.2-2] the publisher gets its PUBACK (paho's publish completes)."""
    topic, sub, pub = _pair(broker, 1)
    try:
        pub.publish(topic, b"one", qos=1)
        msg = sub.expect_message()
        assert (msg.payload, msg.qos) == (b"one", 1)
        sub.expect_no_message(0.3)
    finally:
        pub.close()
        sub.close()


def test_paho_qos2_delivered_exactly_once(broker):
    """[MQTT-4.3.3-1] [MQTT-4.3.3-2] the full PUBLISH/PUBREC/PUBREL/PUBCOMP exchange both ways."""
    topic, sub, pub = _pair(broker, 2)
    try:
        for i in range(5):
            pub.publish(topic, b"two-%d" % i, qos=2)
        got = sub.expect_messages(5)
        assert [m.payload for m in got] == [b"two-%d" % i for i in range(5)]
        assert all(m.qos == 2 for m in got)
        sub.expect_no_message(0.3)
    finally:
        pub.close()
        sub.close()


def test_delivery_qos_is_minimum_of_publish_and_subscription(broker):
    """[MQTT-3.8.4-6] delivered at min(published QoS, granted QoS)."""
    base = unique("minqos")
    subs = []
    pub = Paho(broker.port, unique("pub"))
    try:
        for q in (0, 1, 2):
            s = Paho(broker.port, unique("sub%d" % q))
            s.connect()
            s.subscribe(base + "/#", q)
            subs.append(s)
        pub.connect()
        for pq in (0, 1, 2):
            pub.publish("%s/p%d" % (base, pq), b"x", qos=pq)
        for sq, s in enumerate(subs):
            got = {m.topic: m.qos for m in s.expect_messages(3)}
            assert got == {"%s/p%d" % (base, pq): min(pq, sq) for pq in (0, 1, 2)}
    finally:
        pub.close()
        for s in subs:
            s.close()


def test_overlapping_subscriptions_deliver_one_copy_at_highest_qos(broker):
    """[MQTT-3.3.5-1] one message per session, at the highest QoS of the matching filters."""
    base = unique("overlap")
    c = raw_connect(broker.port, unique("raw"))
    try:
        assert raw_subscribe(c, base + "/#", 0, packet_id=1) == [0]
        assert raw_subscribe(c, base + "/+/x", 1, packet_id=2) == [1]
        assert raw_subscribe(c, base + "/a/x", 0, packet_id=3) == [0]
        mosquitto_pub(broker.port, base + "/a/x", "once", qos=2)
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.topic, p.payload, p.qos) == (base + "/a/x", b"once", 1)
        c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        extra = raw_next(c, 0.5)
        assert extra is None, "second copy: %r" % extra
    finally:
        c.close()


def test_messages_from_one_publisher_arrive_in_order(make_broker):
    """[MQTT-4.6.0-6] PUBLISH packets for one topic and QoS are forwarded in arrival order.
    (Unlimited queue: with the default of 20 a burst above the in-flight window plus the queue
    is dropped by design, see test_sessions.)"""
    broker = make_broker("--max_msgqueue_messages", "0")
    topic, sub, pub = _pair(broker, 1)
    try:
        n = 100
        infos = [pub.client.publish(topic, b"%d" % i, qos=1) for i in range(n)]
        for info in infos:
            info.wait_for_publish(5)
        got = sub.expect_messages(n, timeout=10)
        assert [int(m.payload) for m in got] == list(range(n))
    finally:
        pub.close()
        sub.close()


def test_mosquitto_qos2_pub_to_sub(broker):
    topic = unique("mosq") + "/q2"
    sub = MosquittoSub(broker.port, topic, qos=2, count=3).wait_subscribed()
    for i in range(3):
        mosquitto_pub(broker.port, topic, "m%d" % i, qos=2)
    code, msgs = sub.finish()
    assert code == 0
    assert msgs == [(topic, 0, 2, "m%d" % i) for i in range(3)]


def test_broker_acknowledges_qos1_with_same_packet_id(broker):
    """[MQTT-2.3.1-6] PUBACK carries the PUBLISH's packet identifier."""
    c = raw_connect(broker.port, unique("raw"))
    try:
        for pid in (1, 300, 65535):
            c.send(rawmqtt.publish(unique("t"), b"p", qos=1, packet_id=pid))
            ack = c.expect(rawmqtt.PUBACK)
            assert ack.packet_id == pid and ack.flags == 0
    finally:
        c.close()


def test_qos2_resent_publish_with_dup_not_delivered_twice(broker):
    """[MQTT-4.3.3-2] a QoS 2 PUBLISH resent with DUP before PUBREL is acknowledged again
    (PUBREC) but not delivered to subscribers a second time."""
    topic = unique("dup") + "/t"
    sub = Paho(broker.port, unique("sub"))
    pubc = raw_connect(broker.port, unique("raw"))
    try:
        sub.connect()
        sub.subscribe(topic, 2)
        pubc.send(rawmqtt.publish(topic, b"only once", qos=2, packet_id=7))
        assert pubc.expect(rawmqtt.PUBREC).packet_id == 7
        pubc.send(rawmqtt.publish(topic, b"only once", qos=2, packet_id=7, dup=True))
        assert pubc.expect(rawmqtt.PUBREC).packet_id == 7
        pubc.send(rawmqtt.ack(rawmqtt.PUBREL, 7))
        comp = pubc.expect(rawmqtt.PUBCOMP)
        assert comp.packet_id == 7
        assert sub.expect_message().payload == b"only once"
        sub.expect_no_message(0.5)
        # The id is free again after PUBCOMP: a new message with it is a new message.
        pubc.send(rawmqtt.publish(topic, b"again", qos=2, packet_id=7))
        assert pubc.expect(rawmqtt.PUBREC).packet_id == 7
        pubc.send(rawmqtt.ack(rawmqtt.PUBREL, 7))
        pubc.expect(rawmqtt.PUBCOMP)
        assert sub.expect_message().payload == b"again"
    finally:
        pubc.close()
        sub.close()


def test_pubrel_for_unknown_id_gets_pubcomp(broker):
    """[MQTT-4.3.3-2] a PUBREL is answered with PUBCOMP, even for an id the broker has no
    state for (so a client that lost the broker's PUBCOMP can finish)."""
    c = raw_connect(broker.port, unique("raw"))
    try:
        c.send(rawmqtt.ack(rawmqtt.PUBREL, 4242))
        comp = c.expect(rawmqtt.PUBCOMP)
        assert comp.packet_id == 4242 and comp.flags == 0
    finally:
        c.close()


def test_outgoing_qos2_flow_to_raw_subscriber(broker):
    """[MQTT-4.3.3-1] to a subscriber: PUBLISH (QoS 2, non-zero id [MQTT-2.3.1-1]), our PUBREC,
    then the broker's PUBREL with flags 0b0010 [MQTT-3.6.1-1], our PUBCOMP; nothing after."""
    topic = unique("q2out") + "/t"
    c = raw_connect(broker.port, unique("raw"))
    try:
        raw_subscribe(c, topic, 2)
        mosquitto_pub(broker.port, topic, "exactly", qos=2)
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.qos, p.dup, p.retain, p.payload) == (2, False, False, b"exactly")
        assert p.packet_id != 0
        c.send(rawmqtt.ack(rawmqtt.PUBREC, p.packet_id))
        rel = c.expect(rawmqtt.PUBREL)
        assert rel.flags == 0x02 and rel.packet_id == p.packet_id
        c.send(rawmqtt.ack(rawmqtt.PUBCOMP, p.packet_id))
        c.send(rawmqtt.pingreq())
        c.expect(rawmqtt.PINGRESP)    # and no resend in between
    finally:
        c.close()


def test_qos1_packet_ids_distinct_while_in_flight(broker):
    """[MQTT-2.3.1-4] unacknowledged QoS 1 messages to one client carry distinct, non-zero
    ids."""
    topic = unique("ids") + "/t"
    c = raw_connect(broker.port, unique("raw"))
    pub = raw_connect(broker.port, unique("rawpub"))
    try:
        raw_subscribe(c, topic, 1)
        for i in range(10):
            pub.send(rawmqtt.publish(topic, b"%d" % i, qos=1, packet_id=i + 1))
            pub.expect(rawmqtt.PUBACK)
        got = [c.expect(rawmqtt.PUBLISH) for _ in range(10)]
        ids = [p.packet_id for p in got]
        assert 0 not in ids and len(set(ids)) == 10
        assert [p.payload for p in got] == [b"%d" % i for i in range(10)]
    finally:
        c.close()
        pub.close()


def test_suback_and_unsuback_answer_in_order(broker):
    """[MQTT-3.8.4-4] [MQTT-3.8.4-5] one SUBSCRIBE with several filters gets one SUBACK with a
    return code per filter, [MQTT-3.9.3-1] in the filters' order, [MQTT-2.3.1-7]
    [MQTT-3.8.4-2] with the SUBSCRIBE's packet id; UNSUBACK likewise carries its id."""
    base = unique("suback")
    c = raw_connect(broker.port, unique("raw"))
    try:
        c.send(rawmqtt.subscribe(0x1234, [(base + "/two", 2), (base + "/zero", 0),
                                          (base + "/one", 1)]))
        ack = c.expect(rawmqtt.SUBACK)
        assert ack.body == b"\x12\x34\x02\x00\x01"
        c.send(rawmqtt.unsubscribe(0x4321, [base + "/two", base + "/none"]))
        unack = c.expect(rawmqtt.UNSUBACK)
        assert unack.body == b"\x43\x21"
        mosquitto_pub(broker.port, base + "/two", "gone", qos=1)
        mosquitto_pub(broker.port, base + "/one", "here", qos=1)
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.topic, p.qos) == (base + "/one", 1)
    finally:
        c.close()


def test_dup_flag_not_copied_from_publisher(broker):
    """[MQTT-3.3.1-3] a PUBLISH received with DUP 1 goes out to subscribers with DUP 0: the
    outgoing DUP says only whether the broker is retransmitting."""
    topic = unique("dupcopy") + "/t"
    sub = raw_connect(broker.port, unique("sub"))
    pub = raw_connect(broker.port, unique("pub"))
    try:
        raw_subscribe(sub, topic, 1)
        pub.send(rawmqtt.publish(topic, b"first try lost?", qos=1, packet_id=3, dup=True))
        pub.expect(rawmqtt.PUBACK)
        p = sub.expect(rawmqtt.PUBLISH)
        assert (p.payload, p.dup) == (b"first try lost?", False)
    finally:
        sub.close()
        pub.close()
