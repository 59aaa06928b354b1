"""Sessions: persistence across reconnects, the session present flag, what is queued while a
client is offline (and what is dropped), redelivery with DUP, the retry interval and the
in-flight window."""
import re
import struct
import time

import rawmqtt
from mqttclients import (MosquittoSub, Paho, mosquitto_pub, raw_connect, raw_next,
                         raw_publish_qos1, raw_subscribe, unique, wait_log_count)


def _session_present(connack) -> bool:
    return bool(connack.body[0] & 0x01)


def _go_offline(broker, c, cid):
    """Closes a raw client's socket (no DISCONNECT) and waits until the broker detached it."""
    pattern = r"disconnected client_id=%s " % cid
    before = sum(1 for line in list(broker.log_lines) if re.search(pattern, line))
    c.close()
    assert wait_log_count(broker, pattern, before + 1)


def _persistent_subscriber(broker, cid, topic, qos):
    """A persistent (clean session 0) session subscribed to `topic`, left offline."""
    c = raw_connect(broker.port, cid, clean=False)
    raw_subscribe(c, topic, qos)
    c.send(rawmqtt.disconnect())
    assert c.closed_within(3)
    assert broker.wait_for_log(r"disconnected client_id=%s .*reason=client disconnected" % cid)


def _reconnect(broker, cid, expect_present=True, **kw):
    c = rawmqtt.RawClient(broker.port)
    ack = c.connect(cid, clean=False, **kw)
    assert ack.body[1] == 0
    assert _session_present(ack) == expect_present
    return c


# --- session present, persistence -----------------------------------------------------------

def test_persistent_session_keeps_subscriptions_across_reconnect(broker):
    """[MQTT-3.2.2-3] first time: session present 0; [MQTT-3.1.2-4] [MQTT-3.2.2-2] reconnecting
    with clean session 0 resumes the session (present 1) and its subscriptions."""
    cid, topic = unique("persist"), unique("persist") + "/t"
    first = Paho(broker.port, cid, clean_session=False)
    assert first.connect() is False
    first.subscribe(topic, 1)
    first.disconnect()
    assert broker.wait_for_log(r"disconnected client_id=%s " % cid)
    again = Paho(broker.port, cid, clean_session=False)
    try:
        assert again.connect() is True
        assert broker.wait_for_log(r"connected client_id=%s .*session_present=1" % cid)
        mosquitto_pub(broker.port, topic, "no resubscribe needed", qos=1)
        msg = again.expect_message()
        assert (msg.payload, msg.qos) == (b"no resubscribe needed", 1)
    finally:
        again.close()


def test_clean_session_discards_previous_session(broker):
    """[MQTT-3.2.2-1] clean session 1: session present 0 even though a session existed;
    [MQTT-3.1.2-6] that session is gone, also for the next clean-session-0 connect."""
    cid, topic = unique("clean"), unique("clean") + "/t"
    _persistent_subscriber(broker, cid, topic, 1)
    mosquitto_pub(broker.port, topic, "queued for the old session", qos=1)
    c = rawmqtt.RawClient(broker.port)
    ack = c.connect(cid, clean=True)
    assert ack.body == b"\x00\x00"
    assert raw_next(c, 0.3) is None            # the old session's queue went with it
    c.send(rawmqtt.disconnect())
    assert c.closed_within(3)
    assert wait_log_count(broker, r"disconnected client_id=%s " % cid, 2)
    c = _reconnect(broker, cid, expect_present=False)
    try:
        mosquitto_pub(broker.port, topic, "nobody subscribed", qos=1)
        assert raw_next(c, 0.3) is None        # subscription gone
    finally:
        c.close()


def test_mosquitto_sub_persistent_session_receives_queued(broker):
    """[MQTT-3.1.2-5] mosquitto_sub -c: messages published while it was away are delivered
    when it comes back."""
    cid, topic = unique("mosqsess"), unique("mosqsess") + "/t"
    first = MosquittoSub(broker.port, topic, qos=1, extra=["-c", "-i", cid, "-E"])
    assert first.finish()[0] == 0
    assert broker.wait_for_log(r"disconnected client_id=%s " % cid)
    for i in range(3):
        mosquitto_pub(broker.port, topic, "m%d" % i, qos=1)
    back = MosquittoSub(broker.port, topic, qos=1, count=3, extra=["-c", "-i", cid])
    code, msgs = back.finish()
    assert code == 0
    assert msgs == [(topic, 0, 1, "m%d" % i) for i in range(3)]


def test_v5_session_expiry_makes_session_persistent(broker):
    """5.0: clean start 0 with a session expiry interval above 0 resumes the session
    (session present 1); with no expiry interval it ends with the connection."""
    expiry = bytes([0x11]) + struct.pack("!I", 60)
    for props, present in ((expiry, True), (b"", False)):
        cid = unique("v5sess")
        c = rawmqtt.RawClient(broker.port, version=5)
        assert c.connect(cid, clean=False, properties=props).body[1] == 0
        c.send(rawmqtt.disconnect())
        assert c.closed_within(3)
        assert broker.wait_for_log(r"disconnected client_id=%s " % cid)
        c = rawmqtt.RawClient(broker.port, version=5)
        ack = c.connect(cid, clean=False, properties=props)
        assert ack.body[1] == 0 and _session_present(ack) == present
        c.close()


# --- queued while offline ------------------------------------------------------------------

def test_qos1_and_qos2_queued_while_offline(broker):
    """[MQTT-3.1.2-5] QoS 1 and 2 messages for an offline persistent session are stored and
    delivered, in order and at their QoS, when it reconnects."""
    cid, topic = unique("offline"), unique("offline") + "/t"
    _persistent_subscriber(broker, cid, topic, 2)
    pub = Paho(broker.port, unique("pub"))
    pub.connect()
    for i, q in enumerate((1, 2, 1, 2)):
        pub.publish(topic, b"m%d" % i, qos=q)
    pub.close()
    c = _reconnect(broker, cid)
    try:
        got = [c.expect(rawmqtt.PUBLISH) for _ in range(4)]
        assert [(p.payload, p.qos, p.dup) for p in got] == [
            (b"m0", 1, False), (b"m1", 2, False), (b"m2", 1, False), (b"m3", 2, False)]
    finally:
        c.close()


def _publish_q0_then_barrier(broker, topic, payloads):
    """QoS 0 messages, then a QoS 1 one whose PUBACK proves all were routed (one connection's
    packets are handled in order)."""
    pub = raw_connect(broker.port, unique("pub"))
    for p in payloads:
        pub.send(rawmqtt.publish(topic, p, qos=0))
    raw_publish_qos1(pub, topic, b"barrier q1")
    pub.close()


def test_qos0_queued_while_offline_by_default(broker):
    """queue_qos0_messages = true (default): QoS 0 messages are kept for an offline
    persistent session."""
    cid, topic = unique("q0on"), unique("q0on") + "/t"
    _persistent_subscriber(broker, cid, topic, 1)
    _publish_q0_then_barrier(broker, topic, [b"a", b"b"])
    c = _reconnect(broker, cid)
    try:
        got = [c.expect(rawmqtt.PUBLISH) for _ in range(3)]
        assert [(p.payload, p.qos) for p in got] == [(b"a", 0), (b"b", 0), (b"barrier q1", 1)]
    finally:
        c.close()


def test_qos0_not_queued_when_disabled(make_broker):
    """queue_qos0_messages = false: QoS 0 messages for an offline session are discarded, QoS 1
    ones still kept."""
    broker = make_broker("--queue_qos0_messages", "false")
    cid, topic = unique("q0off"), unique("q0off") + "/t"
    _persistent_subscriber(broker, cid, topic, 1)
    _publish_q0_then_barrier(broker, topic, [b"a", b"b"])
    c = _reconnect(broker, cid)
    try:
        p = c.expect(rawmqtt.PUBLISH)
        assert (p.payload, p.qos) == (b"barrier q1", 1)
        c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


def test_offline_queue_limit_drops_newest(make_broker):
    """max_msgqueue_messages = 3, all QoS 1: the queue keeps the first three; later messages
    are dropped."""
    broker = make_broker("--max_msgqueue_messages", "3")
    cid, topic = unique("qlimit"), unique("qlimit") + "/t"
    _persistent_subscriber(broker, cid, topic, 1)
    pub = raw_connect(broker.port, unique("pub"))
    for i in range(6):
        raw_publish_qos1(pub, topic, b"m%d" % i, packet_id=i + 1)
    pub.close()
    c = _reconnect(broker, cid)
    try:
        got = [c.expect(rawmqtt.PUBLISH) for _ in range(3)]
        assert [p.payload for p in got] == [b"m0", b"m1", b"m2"]
        for p in got:
            c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


def test_offline_queue_limit_drops_qos0_first(make_broker):
    """max_msgqueue_messages = 3, mixed: a new QoS 1 message takes the place of the oldest
    queued QoS 0 one; with none left to drop, the new message is dropped; a QoS 0 message
    arriving at a full queue is dropped."""
    broker = make_broker("--max_msgqueue_messages", "3")
    cid, topic = unique("qmix"), unique("qmix") + "/t"
    _persistent_subscriber(broker, cid, topic, 1)
    pub = raw_connect(broker.port, unique("pub"))
    # queue after each: [A0] [A0 B1] [A0 B1 C0] [B1 C0 D1] [B1 D1 E1] [B1 D1 E1] [B1 D1 E1]
    for i, (payload, q) in enumerate(((b"A", 0), (b"B", 1), (b"C", 0), (b"D", 1), (b"E", 1),
                                      (b"F", 0), (b"G", 1))):
        if q:
            raw_publish_qos1(pub, topic, payload, packet_id=i + 1)
        else:
            pub.send(rawmqtt.publish(topic, payload))
    pub.close()         # G's PUBACK came after F was routed: one connection, in order
    c = _reconnect(broker, cid)
    try:
        got = [c.expect(rawmqtt.PUBLISH) for _ in range(3)]
        assert [p.payload for p in got] == [b"B", b"D", b"E"]
        for p in got:
            c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


# --- redelivery ----------------------------------------------------------------------------

def test_unacknowledged_qos1_redelivered_with_dup_after_reconnect(broker):
    """[MQTT-4.4.0-1] on reconnect with clean session 0 the unacknowledged PUBLISH is resent
    with its original packet id [MQTT-2.3.1-4] and [MQTT-3.3.1-1] DUP 1; once acknowledged,
    never again."""
    cid, topic = unique("redeliver"), unique("redeliver") + "/t"
    c = raw_connect(broker.port, cid, clean=False)
    raw_subscribe(c, topic, 1)
    mosquitto_pub(broker.port, topic, "ack me", qos=1)
    first = c.expect(rawmqtt.PUBLISH)
    assert (first.dup, first.qos, first.payload) == (False, 1, b"ack me")
    _go_offline(broker, c, cid)                 # no PUBACK
    c = _reconnect(broker, cid)
    again = c.expect(rawmqtt.PUBLISH)
    assert (again.dup, again.qos, again.packet_id, again.topic, again.payload) == (
        True, 1, first.packet_id, topic, b"ack me")
    c.send(rawmqtt.ack(rawmqtt.PUBACK, again.packet_id))
    c.send(rawmqtt.disconnect())
    assert c.closed_within(3)
    assert wait_log_count(broker, r"disconnected client_id=%s .*client disconnected" % cid, 1)
    assert wait_log_count(broker, r"disconnected client_id=%s " % cid, 2)
    c = _reconnect(broker, cid)
    try:
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


def test_qos2_redelivery_resends_publish_then_pubrel(broker):
    """[MQTT-4.4.0-1] QoS 2 to a subscriber: without PUBREC the PUBLISH is resent with DUP;
    after PUBREC only the PUBREL is resent [MQTT-4.3.3-1]."""
    cid, topic = unique("redeliver2"), unique("redeliver2") + "/t"
    c = raw_connect(broker.port, cid, clean=False)
    raw_subscribe(c, topic, 2)
    mosquitto_pub(broker.port, topic, "exactly once", qos=2)
    first = c.expect(rawmqtt.PUBLISH)
    assert (first.dup, first.qos) == (False, 2)
    _go_offline(broker, c, cid)                 # no PUBREC
    c = _reconnect(broker, cid)
    again = c.expect(rawmqtt.PUBLISH)
    assert (again.dup, again.packet_id, again.payload) == (True, first.packet_id, b"exactly once")
    c.send(rawmqtt.ack(rawmqtt.PUBREC, again.packet_id))
    rel = c.expect(rawmqtt.PUBREL)
    assert rel.packet_id == first.packet_id
    _go_offline(broker, c, cid)                 # no PUBCOMP
    c = _reconnect(broker, cid)
    try:
        rel = c.expect(rawmqtt.PUBREL)
        assert rel.packet_id == first.packet_id and rel.flags == 0x02
        c.send(rawmqtt.ack(rawmqtt.PUBCOMP, rel.packet_id))
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


def test_incoming_qos2_state_survives_reconnect(broker):
    """[MQTT-4.3.3-2] a persistent publisher that lost our PUBREC resends its QoS 2 PUBLISH
    with DUP after reconnecting: acknowledged again, not delivered twice."""
    cid, topic = unique("inq2"), unique("inq2") + "/t"
    watcher = Paho(broker.port, unique("watch"))
    watcher.connect()
    watcher.subscribe(topic, 2)
    c = raw_connect(broker.port, cid, clean=False)
    c.send(rawmqtt.publish(topic, b"once", qos=2, packet_id=5))
    assert c.expect(rawmqtt.PUBREC).packet_id == 5
    _go_offline(broker, c, cid)
    c = _reconnect(broker, cid)
    try:
        c.send(rawmqtt.publish(topic, b"once", qos=2, packet_id=5, dup=True))
        assert c.expect(rawmqtt.PUBREC).packet_id == 5
        c.send(rawmqtt.ack(rawmqtt.PUBREL, 5))
        assert c.expect(rawmqtt.PUBCOMP).packet_id == 5
        assert watcher.expect_message().payload == b"once"
        watcher.expect_no_message(0.3)
    finally:
        c.close()
        watcher.close()


# --- delivery_retry_interval ----------------------------------------------------------------

def test_retry_interval_resends_qos1_with_dup_in_session(make_broker):
    """delivery_retry_interval = 1: an unacknowledged QoS 1 message is resent to the online
    client with DUP 1 [MQTT-3.3.1-1] and the same packet id, after about a second; once
    acknowledged it is not resent."""
    broker = make_broker("--delivery_retry_interval", "1")
    topic = unique("retry") + "/t"
    c = raw_connect(broker.port, unique("retry"))
    try:
        raw_subscribe(c, topic, 1)
        mosquitto_pub(broker.port, topic, "again", qos=1)
        first = c.expect(rawmqtt.PUBLISH)
        t0 = time.monotonic()
        assert not first.dup
        again = c.expect(rawmqtt.PUBLISH, timeout=4)
        elapsed = time.monotonic() - t0
        assert 0.8 <= elapsed <= 2.6, elapsed
        assert (again.dup, again.packet_id, again.payload) == (True, first.packet_id, b"again")
        c.send(rawmqtt.ack(rawmqtt.PUBACK, again.packet_id))
        assert raw_next(c, 2.2) is None
    finally:
        c.close()


def test_retry_interval_resends_pubrel(make_broker):
    """delivery_retry_interval = 1, QoS 2 after PUBREC: the PUBREL is what gets resent."""
    broker = make_broker("--delivery_retry_interval", "1")
    topic = unique("retry2") + "/t"
    c = raw_connect(broker.port, unique("retry2"))
    try:
        raw_subscribe(c, topic, 2)
        mosquitto_pub(broker.port, topic, "q2", qos=2)
        p = c.expect(rawmqtt.PUBLISH)
        c.send(rawmqtt.ack(rawmqtt.PUBREC, p.packet_id))
        assert c.expect(rawmqtt.PUBREL).packet_id == p.packet_id
        again = c.expect(rawmqtt.PUBREL, timeout=4)
        assert again.packet_id == p.packet_id and again.flags == 0x02
        c.send(rawmqtt.ack(rawmqtt.PUBCOMP, p.packet_id))
        assert raw_next(c, 2.2) is None
    finally:
        c.close()


def test_retry_interval_zero_resends_only_on_reconnect(make_broker):
    """delivery_retry_interval = 0: no resend while connected; the reconnect resends."""
    broker = make_broker("--delivery_retry_interval", "0")
    cid, topic = unique("noretry"), unique("noretry") + "/t"
    c = raw_connect(broker.port, cid, clean=False)
    raw_subscribe(c, topic, 1)
    mosquitto_pub(broker.port, topic, "once", qos=1)
    first = c.expect(rawmqtt.PUBLISH)
    assert raw_next(c, 2.2) is None
    _go_offline(broker, c, cid)
    c = _reconnect(broker, cid)
    try:
        again = c.expect(rawmqtt.PUBLISH)
        assert (again.dup, again.packet_id) == (True, first.packet_id)
    finally:
        c.close()


# --- max_inflight_messages ------------------------------------------------------------------

def test_inflight_window_limits_unacknowledged_messages(make_broker):
    """max_inflight_messages = 2: at most two QoS 1 messages unacknowledged at a time; each
    PUBACK lets the next queued one out, in order."""
    broker = make_broker("--max_inflight_messages", "2")
    topic = unique("window") + "/t"
    c = raw_connect(broker.port, unique("window"))
    pub = raw_connect(broker.port, unique("pub"))
    try:
        raw_subscribe(c, topic, 1)
        for i in range(5):
            raw_publish_qos1(pub, topic, b"m%d" % i, packet_id=i + 1)
        got = [c.expect(rawmqtt.PUBLISH) for _ in range(2)]
        assert [p.payload for p in got] == [b"m0", b"m1"]
        assert raw_next(c, 0.3) is None
        c.send(rawmqtt.ack(rawmqtt.PUBACK, got[0].packet_id))
        nxt = c.expect(rawmqtt.PUBLISH)
        assert nxt.payload == b"m2"
        assert raw_next(c, 0.3) is None
        for p in (got[1], nxt):
            c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        rest = [c.expect(rawmqtt.PUBLISH) for _ in range(2)]
        assert [p.payload for p in rest] == [b"m3", b"m4"]
        assert all(not p.dup for p in got + [nxt] + rest)
    finally:
        c.close()
        pub.close()


def test_inflight_window_counts_qos2_until_pubcomp(make_broker):
    """max_inflight_messages = 1: a QoS 2 message occupies the window until PUBCOMP, not just
    until PUBREC."""
    broker = make_broker("--max_inflight_messages", "1")
    topic = unique("window2") + "/t"
    c = raw_connect(broker.port, unique("window2"))
    pub = raw_connect(broker.port, unique("pub"))
    try:
        raw_subscribe(c, topic, 2)
        for i in range(2):
            pub.send(rawmqtt.publish(topic, b"m%d" % i, qos=2, packet_id=i + 1))
            pub.expect(rawmqtt.PUBREC)
        p = c.expect(rawmqtt.PUBLISH)
        c.send(rawmqtt.ack(rawmqtt.PUBREC, p.packet_id))
        assert c.expect(rawmqtt.PUBREL).packet_id == p.packet_id
        assert raw_next(c, 0.3) is None
        c.send(rawmqtt.ack(rawmqtt.PUBCOMP, p.packet_id))
        assert c.expect(rawmqtt.PUBLISH).payload == b"m1"
    finally:
        c.close()
        pub.close()


def test_online_queue_overflow_drops_beyond_window_and_queue(make_broker):
    """max_inflight_messages = 2, max_msgqueue_messages = 2, a subscriber that does not
    acknowledge: two in flight, two queued, the rest dropped."""
    broker = make_broker("--max_inflight_messages", "2", "--max_msgqueue_messages", "2")
    topic = unique("overflow") + "/t"
    c = raw_connect(broker.port, unique("slow"))
    pub = raw_connect(broker.port, unique("pub"))
    try:
        raw_subscribe(c, topic, 1)
        for i in range(6):
            raw_publish_qos1(pub, topic, b"m%d" % i, packet_id=i + 1)
        got = []
        while len(got) < 4:
            p = c.expect(rawmqtt.PUBLISH)
            got.append(p.payload)
            c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        assert got == [b"m0", b"m1", b"m2", b"m3"]
        assert raw_next(c, 0.3) is None
    finally:
        c.close()
        pub.close()
