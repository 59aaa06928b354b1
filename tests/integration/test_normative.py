"""Server-side normative statements of MQTT 3.1.1 at the edges of valid input, one test per
statement (the id is in each test's name and docstring): what the server must accept exactly as
sent, and what it must not act upon.
"""
import socket
import threading
import uuid

import pytest

import rawmqtt
from rawmqtt import CONNACK, PINGRESP, PUBACK, PUBLISH, SUBACK, Closed, RawClient


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def subscriber(port, topic, qos=0):
    c = RawClient(port)
    assert c.connect(unique("sub")).body == b"\x00\x00"
    c.send(rawmqtt.subscribe(1, [(topic, qos)]))
    assert c.expect(SUBACK).body == b"\x00\x01" + bytes([qos])
    return c


def assert_nothing_arrives(client, wait=0.5):
    with pytest.raises(socket.timeout):
        p = client.recv(wait)
        pytest.fail("unexpected %r" % (p,))


def test_mqtt_1_5_3_3_bom_is_neither_skipped_nor_stripped(broker):
    """[MQTT-1.5.3-3] 0xEF 0xBB 0xBF is U+FEFF wherever it appears and is kept: a topic that
    starts with it is another topic than the one without it, and is delivered byte for byte."""
    base = unique("bom") + "/t"
    with_bom = "\ufeff" + base
    sub_bom = subscriber(broker.port, with_bom)
    sub_plain = subscriber(broker.port, base)
    pub = RawClient(broker.port)
    assert pub.connect(unique("pub")).body == b"\x00\x00"
    pub.send(rawmqtt.publish(with_bom, b"zwnbsp"))
    p = sub_bom.expect(PUBLISH)
    assert p.body.startswith(rawmqtt.mqtt_string(with_bom))     # bytes as sent
    assert p.topic == with_bom and p.payload == b"zwnbsp"
    assert_nothing_arrives(sub_plain)
    for c in (pub, sub_bom, sub_plain):
        c.close()


def test_mqtt_4_7_3_4_no_unicode_normalization(broker):
    """[MQTT-4.7.3-4] no normalization when matching: "é" precomposed (U+00E9) and decomposed
    (e + U+0301) are different topics; case is significant too."""
    base = unique("norm")
    nfc, nfd = base + "/caf\u00e9", base + "/cafe\u0301"
    sub_nfc = subscriber(broker.port, nfc)
    sub_nfd = subscriber(broker.port, nfd)
    sub_upper = subscriber(broker.port, nfc.upper())
    pub = RawClient(broker.port)
    assert pub.connect(unique("pub")).body == b"\x00\x00"
    pub.send(rawmqtt.publish(nfd, b"decomposed"))
    p = sub_nfd.expect(PUBLISH)
    assert (p.topic, p.payload) == (nfd, b"decomposed")
    assert_nothing_arrives(sub_nfc)
    assert_nothing_arrives(sub_upper, 0.1)
    for c in (pub, sub_nfc, sub_nfd, sub_upper):
        c.close()


def test_mqtt_4_7_3_3_longest_topic_name_is_accepted(broker):
    """[MQTT-4.7.3-3] a topic name may be up to 65535 bytes: one that long, multi-byte
    characters included, is matched and delivered intact (by '#' and by the exact filter)."""
    prefix = unique("long") + "/"
    topic = prefix + "\u00e9" * ((65535 - len(prefix)) // 2)
    topic += "x" * (65535 - len(topic.encode()))
    assert len(topic.encode()) == 65535
    exact = subscriber(broker.port, topic)
    wild = subscriber(broker.port, prefix + "#")
    pub = RawClient(broker.port)
    assert pub.connect(unique("pub")).body == b"\x00\x00"
    pub.send(rawmqtt.publish(topic, b"far", qos=1, packet_id=1))
    assert pub.expect(PUBACK).packet_id == 1
    for c in (exact, wild):
        p = c.expect(PUBLISH)
        assert (p.topic, p.payload) == (topic, b"far")
    for c in (pub, exact, wild):
        c.close()


def test_mqtt_3_1_3_5_client_ids_the_server_must_allow(broker):
    """[MQTT-3.1.3-5] 1 to 23 bytes of 0-9a-zA-Z are always allowed (and this server takes
    longer ids and any UTF-8 too)."""
    alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ids = ["a", "Z9", alnum[:23], alnum[-23:], "x" * 65535, "\u00e9t\u00e9/\U0001f600 id"]
    for cid in ids:
        c = RawClient(broker.port)
        assert c.connect(cid).body == b"\x00\x00", cid[:40]
        c.send(rawmqtt.pingreq())
        assert c.expect(PINGRESP)
        c.send(rawmqtt.disconnect())
        c.close()


def test_mqtt_3_1_3_6_empty_client_ids_get_distinct_ids(broker):
    """[MQTT-3.1.3-6] each zero-byte client id is replaced by a unique one: ten such clients
    at once are all served, none takes another over, and each one's session (its
    subscription) lasts as long as its connection [MQTT-4.1.0-2]."""
    topic = unique("anon") + "/t"
    clients = []
    for _ in range(10):
        c = RawClient(broker.port)
        assert c.connect("", clean=True).body == b"\x00\x00"
        c.send(rawmqtt.subscribe(1, [(topic, 0)]))
        c.expect(SUBACK)
        clients.append(c)
    clients[0].send(rawmqtt.publish(topic, b"to all"))
    for c in clients:
        assert c.expect(PUBLISH).payload == b"to all"
    assert "taken over" not in broker.log()
    for c in clients:
        c.close()


def test_mqtt_3_1_0_1_nothing_before_connect_is_processed(broker):
    """[MQTT-3.1.0-1] a PUBLISH (retained, QoS 1) sent as the first packet is not processed:
    no PUBACK, not delivered, not retained."""
    topic = unique("early") + "/t"
    sub = subscriber(broker.port, topic)
    c = RawClient(broker.port)
    c.send(rawmqtt.publish(topic, b"too early", qos=1, packet_id=1, retain=True))
    with pytest.raises(Closed):
        c.recv(3)
    c.close()
    assert_nothing_arrives(sub)
    late = subscriber(broker.port, topic)     # no retained message either
    assert_nothing_arrives(late)
    sub.close()
    late.close()


REJECTED_CONNECT = {
    "unsupported protocol level (CONNACK 0x01)": (rawmqtt.connect("r1", version=4)[:8] + b"\x07"
                                                   + rawmqtt.connect("r1", version=4)[9:], 0x01),
    "empty client id, clean session 0 (CONNACK 0x02)": (rawmqtt.connect("", clean=False), 0x02),
    "reserved CONNECT flag (closed)": (rawmqtt.connect("r3")[:9] + b"\x03"
                                       + rawmqtt.connect("r3")[10:], None),
}


@pytest.mark.parametrize("connect,code", REJECTED_CONNECT.values(), ids=REJECTED_CONNECT.keys())
def test_mqtt_3_1_4_5_nothing_after_a_rejected_connect_is_processed(broker, connect, code):
    """[MQTT-3.1.4-5] once the server rejects a CONNECT it processes nothing the client sent
    after it, even in the same segment: no SUBACK, no PUBACK, no delivery, no retained message.
    [MQTT-3.2.2-4] [MQTT-3.2.2-5] a non-zero return code has session present 0, then closes."""
    topic = unique("after-reject") + "/t"
    sub = subscriber(broker.port, topic)
    c = RawClient(broker.port)
    c.send(connect + rawmqtt.subscribe(1, [("#", 0)])
           + rawmqtt.publish(topic, b"must not pass", qos=1, packet_id=2, retain=True))
    if code is not None:
        assert c.expect(CONNACK).body == bytes([0, code])
    with pytest.raises(Closed):
        c.recv(3)
    c.close()
    assert_nothing_arrives(sub)
    late = subscriber(broker.port, topic)
    assert_nothing_arrives(late)
    sub.close()
    late.close()


def test_mqtt_3_2_0_1_connack_is_the_first_packet_even_with_queued_messages(broker):
    """[MQTT-3.2.0-1] a persistent session with messages waiting: CONNACK still comes first,
    then the queued messages, kept as session state meanwhile [MQTT-4.1.0-1]."""
    cid = unique("queued")
    topic = unique("queued") + "/t"
    c = RawClient(broker.port)
    assert c.connect(cid, clean=False).body == b"\x00\x00"
    c.send(rawmqtt.subscribe(1, [(topic, 1)]))
    c.expect(SUBACK)
    c.send(rawmqtt.disconnect())
    c.close()
    pub = RawClient(broker.port)
    assert pub.connect(unique("pub")).body == b"\x00\x00"
    for i in range(5):
        pub.send(rawmqtt.publish(topic, b"q%d" % i, qos=1, packet_id=i + 1))
        assert pub.expect(PUBACK).packet_id == i + 1
    pub.close()
    c = RawClient(broker.port)
    c.send(rawmqtt.connect(cid, clean=False))
    first = c.recv()
    assert first.type == CONNACK and first.body == b"\x01\x00", first
    got = [c.expect(PUBLISH) for _ in range(5)]
    assert [p.payload for p in got] == [b"q%d" % i for i in range(5)]   # [MQTT-4.6.0-6]
    for p in got:
        c.send(rawmqtt.ack(PUBACK, p.packet_id))
    c.close()
    c = RawClient(broker.port)
    assert c.connect(cid, clean=True).body == b"\x00\x00"                # drop the session
    c.close()


def test_mqtt_4_6_0_6_order_kept_per_publisher_with_a_concurrent_flood(broker):
    """[MQTT-4.6.0-6] [MQTT-4.6.0-5] (topics are ordered by default) messages from one client
    on one topic and QoS arrive in the order sent,
    while other publishers write to the same topic at the same time. (Delivered at QoS 0, so
    that the default queue limits of a QoS 1 subscriber do not drop part of the burst.)"""
    topic = unique("order") + "/t"
    sub = subscriber(broker.port, topic, qos=0)
    pubs = []
    for k in range(3):
        p = RawClient(broker.port)
        assert p.connect(unique("p%d" % k)).body == b"\x00\x00"
        pubs.append(p)

    def run(k, p):
        p.send(b"".join(rawmqtt.publish(topic, b"%d:%d" % (k, i), qos=1, packet_id=i + 1)
                        for i in range(200)))

    threads = [threading.Thread(target=run, args=(k, p)) for k, p in enumerate(pubs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    seen = {0: [], 1: [], 2: []}
    for _ in range(600):
        m = sub.expect(PUBLISH)
        k, i = m.payload.split(b":")
        seen[int(k)].append(int(i))
    for k in seen:
        assert seen[k] == list(range(200)), "publisher %d out of order" % k
    for c in pubs + [sub]:
        c.close()


def test_mqtt_3_1_3_2_the_client_id_identifies_the_session(broker):
    """[MQTT-3.1.3-2] session state belongs to a client id; [MQTT-3.1.4-3] CleanSession is
    processed as in 3.1.2.4; [MQTT-3.1.4-4] an accepted CONNECT gets return code 0. A second
    id finds no session; the first id finds its own, with its subscription."""
    a, b = unique("id-a"), unique("id-b")
    topic = unique("ids") + "/t"
    c = RawClient(broker.port)
    assert c.connect(a, clean=False).body == b"\x00\x00"
    c.send(rawmqtt.subscribe(1, [(topic, 1)]))
    c.expect(SUBACK)
    c.send(rawmqtt.disconnect())
    c.close()
    other = RawClient(broker.port)
    assert other.connect(b, clean=False).body == b"\x00\x00"      # not a's session
    other.send(rawmqtt.publish(topic, b"for a", qos=1, packet_id=1))
    other.expect(PUBACK)
    assert_nothing_arrives(other, 0.3)
    other.send(rawmqtt.disconnect())
    other.close()
    c = RawClient(broker.port)
    assert c.connect(a, clean=False).body == b"\x01\x00"          # a's own session
    p = c.expect(PUBLISH)
    assert (p.topic, p.payload, p.qos) == (topic, b"for a", 1)
    c.send(rawmqtt.ack(PUBACK, p.packet_id))
    c.close()
    for cid in (a, b):                                             # drop both sessions
        c = RawClient(broker.port)
        assert c.connect(cid, clean=True).body == b"\x00\x00"
        c.close()


def test_mqtt_3_1_3_1_payload_fields_are_read_in_their_order(broker):
    """[MQTT-3.1.3-1] [MQTT-3.1.3-3] client id first, then will topic, will message, user name,
    password: with all five present the will goes out on the will topic with the will
    message (not on the user name), and the client id is the one that was sent."""
    will_topic = unique("order-will") + "/t"
    watcher = subscriber(broker.port, will_topic)
    cid = unique("five-fields")
    c = RawClient(broker.port)
    assert c.connect(cid, will=(will_topic, b"last words", 0, False), username="user/name",
                     password=b"pass").body == b"\x00\x00"
    c.send(rawmqtt.pingreq())
    c.expect(PINGRESP)
    c.close()                                  # no DISCONNECT: the will is published
    p = watcher.expect(PUBLISH)
    assert (p.topic, p.payload) == (will_topic, b"last words")
    assert broker.wait_for_log(r"INFO connected client_id=%s " % cid)
    watcher.close()


def test_mqtt_3_3_4_1_each_qos_gets_its_answer(broker):
    """[MQTT-3.3.4-1] QoS 0: no answer; QoS 1: PUBACK; QoS 2: PUBREC (then PUBCOMP for the
    PUBREL), each with the PUBLISH's packet id [MQTT-2.3.1-6]."""
    c = RawClient(broker.port)
    assert c.connect(unique("answers")).body == b"\x00\x00"
    topic = unique("answers") + "/t"
    c.send(rawmqtt.publish(topic, b"0"))
    assert_nothing_arrives(c, 0.3)
    c.send(rawmqtt.publish(topic, b"1", qos=1, packet_id=0x1234))
    assert c.expect(PUBACK).body == b"\x12\x34"
    c.send(rawmqtt.publish(topic, b"2", qos=2, packet_id=0xFFFF))
    assert c.expect(rawmqtt.PUBREC).body == b"\xff\xff"
    c.send(rawmqtt.ack(rawmqtt.PUBREL, 0xFFFF))
    assert c.expect(rawmqtt.PUBCOMP).body == b"\xff\xff"
    c.close()


def test_mqtt_4_3_1_1_qos0_delivery_has_no_packet_id_and_no_dup(broker):
    """[MQTT-4.3.1-1] [MQTT-2.3.1-5] [MQTT-3.3.1-2] a QoS 0 delivery: QoS 0, DUP 0, and no
    packet identifier (the body is exactly topic + payload), even when the message was
    published at QoS 2 with DUP set and the subscription is QoS 0; [MQTT-3.3.1-3] DUP is not
    copied."""
    topic = unique("q0") + "/t"
    sub = subscriber(broker.port, topic, qos=0)
    pub = RawClient(broker.port)
    assert pub.connect(unique("pub")).body == b"\x00\x00"
    pub.send(rawmqtt.publish(topic, b"payload", qos=2, dup=True, packet_id=3))
    pub.expect(rawmqtt.PUBREC)
    p = sub.expect(PUBLISH)
    assert p.flags == 0
    assert p.body == rawmqtt.mqtt_string(topic) + b"payload"
    for c in (pub, sub):
        c.close()


def test_mqtt_4_3_2_1_qos1_deliveries_use_distinct_unused_ids(broker):
    """[MQTT-4.3.2-1] [MQTT-2.3.1-4] QoS 1 deliveries in flight at once: DUP 0, QoS 1, each
    with a non-zero packet id no other unacknowledged one uses; [MQTT-3.3.1-3] a DUP on the
    incoming PUBLISH is not copied to the deliveries."""
    topic = unique("q1") + "/t"
    sub = subscriber(broker.port, topic, qos=1)
    pub = RawClient(broker.port)
    assert pub.connect(unique("pub")).body == b"\x00\x00"
    for i in range(10):
        pub.send(rawmqtt.publish(topic, b"m%d" % i, qos=1, dup=(i % 2 == 1), packet_id=1))
        pub.expect(PUBACK)
    got = [sub.expect(PUBLISH) for _ in range(10)]
    assert all(p.qos == 1 and not p.dup for p in got)
    ids = [p.packet_id for p in got]
    assert 0 not in ids and len(set(ids)) == 10, ids
    assert [p.payload for p in got] == [b"m%d" % i for i in range(10)]
    for p in got:
        sub.send(rawmqtt.ack(PUBACK, p.packet_id))
    for c in (pub, sub):
        c.close()


def test_mqtt_3_3_2_3_topic_name_not_filter_is_sent(broker):
    """[MQTT-3.3.2-3] the subscriber gets the topic name that matched its filter, not the
    filter; [MQTT-4.5.0-1] every matching subscriber gets the message."""
    base = unique("match")
    name = base + "/b/c"
    subs = [subscriber(broker.port, f) for f in (base + "/+/c", base + "/#", name, "+/b/c")]
    pub = RawClient(broker.port)
    assert pub.connect(unique("pub")).body == b"\x00\x00"
    pub.send(rawmqtt.publish(name, b"x"))
    for s in subs:
        p = s.expect(PUBLISH)
        assert (p.topic, p.payload) == (name, b"x")
    for c in subs + [pub]:
        c.close()


def test_mqtt_3_10_4_2_5_6_unsubscribe(broker):
    """[MQTT-3.10.4-6] one UNSUBSCRIBE with several filters is handled as several, with one
    UNSUBACK; [MQTT-3.10.4-5] an UNSUBACK also when a filter was never subscribed;
    [MQTT-3.10.4-2] no new messages for what was unsubscribed; [MQTT-3.10.4-1] filters
    compared character by character ('a/+' does not remove 'a/b')."""
    base = unique("unsub")
    c = RawClient(broker.port)
    assert c.connect(unique("u")).body == b"\x00\x00"
    c.send(rawmqtt.subscribe(1, [(base + "/x", 0), (base + "/y", 0), (base + "/z", 0)]))
    assert c.expect(SUBACK).body == b"\x00\x01\x00\x00\x00"
    c.send(rawmqtt.unsubscribe(2, [base + "/x", base + "/never", base + "/+", base + "/y"]))
    assert c.expect(rawmqtt.UNSUBACK).body == b"\x00\x02"
    assert_nothing_arrives(c, 0.2)                       # exactly one UNSUBACK
    for t in ("/x", "/y", "/z"):
        c.send(rawmqtt.publish(base + t, t.encode()))
    p = c.expect(PUBLISH)
    assert (p.topic, p.payload) == (base + "/z", b"/z")
    assert_nothing_arrives(c, 0.3)
    c.send(rawmqtt.unsubscribe(3, [unique("nothing") + "/at/all"]))
    assert c.expect(rawmqtt.UNSUBACK).body == b"\x00\x03"
    c.close()


def test_mqtt_3_10_4_3_delivery_started_before_unsubscribe_completes(broker):
    """[MQTT-3.10.4-3] a QoS 1 message sent before the client unsubscribed and not yet
    acknowledged is still delivered: resent (DUP 1, same id) when the persistent session
    reconnects [MQTT-4.4.0-1], although the subscription is gone."""
    cid = unique("unsub-inflight")
    topic = unique("unsub-inflight") + "/t"
    c = RawClient(broker.port)
    assert c.connect(cid, clean=False).body == b"\x00\x00"
    c.send(rawmqtt.subscribe(1, [(topic, 1)]))
    c.expect(SUBACK)
    pub = RawClient(broker.port)
    assert pub.connect(unique("pub")).body == b"\x00\x00"
    pub.send(rawmqtt.publish(topic, b"started", qos=1, packet_id=1))
    pub.expect(PUBACK)
    first = c.expect(PUBLISH)                  # not acknowledged
    c.send(rawmqtt.unsubscribe(2, [topic]))
    assert c.expect(rawmqtt.UNSUBACK).packet_id == 2
    c.close()
    c = RawClient(broker.port)
    assert c.connect(cid, clean=False).body == b"\x01\x00"
    again = c.expect(PUBLISH)
    assert (again.payload, again.packet_id, again.dup) == (b"started", first.packet_id, True)
    c.send(rawmqtt.ack(PUBACK, again.packet_id))
    pub.send(rawmqtt.publish(topic, b"after", qos=1, packet_id=2))
    pub.expect(PUBACK)
    assert_nothing_arrives(c, 0.3)             # [MQTT-3.10.4-2]
    c.close()
    pub.close()
    c = RawClient(broker.port)
    assert c.connect(cid, clean=True).body == b"\x00\x00"
    c.close()
