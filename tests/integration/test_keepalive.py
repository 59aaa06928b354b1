"""Keep-alive: a client silent for 1.5 x its keep-alive is disconnected, and not before
[MQTT-3.1.2-24]; any control packet (PINGREQ included) keeps it alive; 0 switches it off.
Also the deadline for the first packet (connect_timeout)."""
import time

import rawmqtt
from mqttclients import Paho, mosquitto_pub, raw_connect, unique


def _seconds_until_closed(c, limit):
    t0 = time.monotonic()
    assert c.closed_within(limit), "not closed within %.1fs" % limit
    return time.monotonic() - t0


def test_silent_client_closed_after_one_and_a_half_keepalive(broker):
    """[MQTT-3.1.2-24] keep_alive = 1: closed between 1.4 s and 2.5 s after CONNACK."""
    c = raw_connect(broker.port, unique("silent"), keep_alive=1)
    try:
        elapsed = _seconds_until_closed(c, 4)
        assert 1.4 <= elapsed <= 2.5, elapsed
    finally:
        c.close()


def test_keepalive_window_scales_with_keepalive(broker):
    """[MQTT-3.1.2-24] keep_alive = 2: closed after about 3 s, not after 1.5 s."""
    c = raw_connect(broker.port, unique("silent2"), keep_alive=2)
    try:
        elapsed = _seconds_until_closed(c, 5)
        assert 2.9 <= elapsed <= 4.0, elapsed
    finally:
        c.close()


def test_pingreq_keeps_connection_alive(broker):
    """[MQTT-3.12.4-1] every PINGREQ is answered with PINGRESP, and PINGREQs every 0.5 s keep a
    keep_alive = 1 connection open well past 1.5 s; once they stop, it is closed."""
    cid = unique("pinger")
    c = raw_connect(broker.port, cid, keep_alive=1)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.0:
            c.send(rawmqtt.pingreq())
            resp = c.expect(rawmqtt.PINGRESP, timeout=2)
            assert resp.body == b""
            assert not c.closed_within(0.5)
        elapsed = _seconds_until_closed(c, 4)
        assert 1.4 - 0.5 <= elapsed <= 2.5, elapsed
    finally:
        c.close()


def test_any_control_packet_resets_keepalive(broker):
    """[MQTT-3.1.2-24] the timer runs from the last control packet received, whatever its
    type: QoS 0 PUBLISHes every 0.5 s keep the connection open."""
    c = raw_connect(broker.port, unique("talker"), keep_alive=1)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.0:
            c.send(rawmqtt.publish(unique("t"), b"alive"))
            assert not c.closed_within(0.5)
    finally:
        c.close()


def test_partial_packet_does_not_reset_keepalive(broker):
    """Half a packet is not a control packet received: a client that sends one byte of a
    PINGREQ and stalls is still closed on time."""
    c = raw_connect(broker.port, unique("stall"), keep_alive=1)
    try:
        t0 = time.monotonic()
        assert not c.closed_within(0.7)
        c.send(b"\xc0")                          # PINGREQ's first byte, no length
        assert c.closed_within(2.5)
        assert time.monotonic() - t0 <= 2.5
    finally:
        c.close()


def test_keepalive_zero_disables_timeout(broker):
    """[MQTT-3.1.2-24] keep_alive = 0: the broker never closes an idle connection for it."""
    c = raw_connect(broker.port, unique("forever"), keep_alive=0)
    try:
        assert not c.closed_within(2.6)
        c.send(rawmqtt.pingreq())
        c.expect(rawmqtt.PINGRESP)
    finally:
        c.close()


def test_paho_with_keepalive_1_stays_connected(broker):
    """paho pings on its own: a keep_alive = 1 paho client idle for 3 s is still connected and
    receives messages."""
    topic = unique("ka") + "/t"
    p = Paho(broker.port, unique("paho-ka"), keepalive=1)
    try:
        p.connect()
        p.subscribe(topic, 1)
        assert not p.disconnected.wait(3.0)
        mosquitto_pub(broker.port, topic, "still there", qos=1)
        assert p.expect_message().payload == b"still there"
    finally:
        p.close()


def test_connection_without_connect_closed_after_connect_timeout(make_broker):
    """connect_timeout = 1: a TCP connection that sends nothing is closed after about 1 s.
    (The log line's reason is checked in test_logging.)"""
    broker = make_broker("--connect_timeout", "1")
    c = rawmqtt.RawClient(broker.port)
    try:
        elapsed = _seconds_until_closed(c, 4)
        assert 0.9 <= elapsed <= 2.5, elapsed
    finally:
        c.close()
