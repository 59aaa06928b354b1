"""Session takeover: a second connection with the same client id closes the first
[MQTT-3.1.4-2] and, with clean session 0, continues its session."""
import rawmqtt
from mqttclients import (Paho, mosquitto_pub, raw_connect, raw_next, raw_subscribe, unique,
                         wait_log_count)


def test_second_connection_closes_first(broker):
    """[MQTT-3.1.4-2] paho A is disconnected by the broker when paho B connects with A's id;
    B stays connected and works."""
    cid, topic = unique("dup-id"), unique("takeover") + "/t"
    a = Paho(broker.port, cid)
    b = Paho(broker.port, cid)
    try:
        a.connect()
        b.connect()
        assert a.wait_disconnected(5), "first connection was not closed"
        assert a.disconnect_rc != 0                   # closed by the broker, not by A
        assert broker.wait_for_log(r"disconnected client_id=%s .*reason=taken over" % cid)
        b.subscribe(topic, 1)
        b.publish(topic, b"still here", qos=1)
        assert b.expect_message().payload == b"still here"
        assert not b.disconnected.is_set()
    finally:
        a.close()
        b.close()


def test_raw_first_connection_sees_close(broker):
    """[MQTT-3.1.4-2] byte level: the first socket is closed, the second answers PINGREQ."""
    cid = unique("dup-raw")
    first = raw_connect(broker.port, cid)
    second = raw_connect(broker.port, cid)
    try:
        assert first.closed_within(3)
        second.send(rawmqtt.pingreq())
        second.expect(rawmqtt.PINGRESP)
    finally:
        first.close()
        second.close()


def test_takeover_continues_persistent_session(broker):
    """[MQTT-3.1.4-2] [MQTT-3.2.2-2] with clean session 0 the new connection gets the session
    (present 1), its subscriptions, and messages go to it only."""
    cid, topic = unique("move"), unique("move") + "/t"
    a = raw_connect(broker.port, cid, clean=False)
    raw_subscribe(a, topic, 1)
    b = rawmqtt.RawClient(broker.port)
    try:
        ack = b.connect(cid, clean=False)
        assert ack.body == b"\x01\x00"
        assert a.closed_within(3)
        mosquitto_pub(broker.port, topic, "to b", qos=1)
        p = b.expect(rawmqtt.PUBLISH)
        assert p.payload == b"to b"
    finally:
        a.close()
        b.close()


def test_takeover_with_clean_session_discards_session(broker):
    """[MQTT-3.1.2-6] [MQTT-3.2.2-1] a clean-session takeover ends the old session: present 0,
    no subscriptions."""
    cid, topic = unique("fresh"), unique("fresh") + "/t"
    a = raw_connect(broker.port, cid, clean=False)
    raw_subscribe(a, topic, 1)
    b = rawmqtt.RawClient(broker.port)
    try:
        assert b.connect(cid, clean=True).body == b"\x00\x00"
        assert a.closed_within(3)
        mosquitto_pub(broker.port, topic, "nobody", qos=1)
        assert raw_next(b, 0.3) is None
    finally:
        a.close()
        b.close()


def test_takeover_resends_unacknowledged_with_dup(broker):
    """[MQTT-4.4.0-1] what the first connection did not acknowledge is resent to the second,
    with DUP 1 and the same packet id."""
    cid, topic = unique("inflight"), unique("inflight") + "/t"
    a = raw_connect(broker.port, cid, clean=False)
    raw_subscribe(a, topic, 1)
    mosquitto_pub(broker.port, topic, "unacked", qos=1)
    first = a.expect(rawmqtt.PUBLISH)
    b = rawmqtt.RawClient(broker.port)
    try:
        assert b.connect(cid, clean=False).body == b"\x01\x00"
        p = b.expect(rawmqtt.PUBLISH)
        assert (p.dup, p.packet_id, p.payload) == (True, first.packet_id, b"unacked")
        a.send(rawmqtt.ack(rawmqtt.PUBACK, first.packet_id))   # too late: A is gone
        assert a.closed_within(3)
    finally:
        a.close()
        b.close()


def test_takeover_publishes_first_connections_will(broker):
    """[MQTT-3.1.2-8] the first connection ends without DISCONNECT, so its will is published
    (router.cpp attach); the second connection's will is not."""
    cid, topic = unique("willover"), unique("willover") + "/status"
    watcher = Paho(broker.port, unique("watch"))
    watcher.connect()
    watcher.subscribe(topic, 1)
    a = raw_connect(broker.port, cid, will=(topic, b"a lost", 1, False))
    b = raw_connect(broker.port, cid, will=(topic, b"b lost", 1, False))
    try:
        assert a.closed_within(3)
        assert watcher.expect_message().payload == b"a lost"
        watcher.expect_no_message(0.3)
    finally:
        a.close()
        b.send(rawmqtt.disconnect())
        b.close()
        watcher.close()


def test_repeated_takeover_leaves_only_last(broker):
    """[MQTT-3.1.4-2] three connections with one id in a row: the first two are closed."""
    cid = unique("triple")
    clients = [raw_connect(broker.port, cid) for _ in range(3)]
    try:
        assert clients[0].closed_within(3)
        assert clients[1].closed_within(3)
        assert wait_log_count(broker, r"disconnected client_id=%s .*reason=taken over" % cid, 2)
        clients[2].send(rawmqtt.pingreq())
        clients[2].expect(rawmqtt.PINGRESP)
    finally:
        for c in clients:
            c.close()
