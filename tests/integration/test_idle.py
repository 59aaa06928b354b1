"""Quiet and busy plain TCP connections. A connection whose last wait for bytes lasted a second or
more waits for the next ones parked, with no coroutine (an idle connection is then ~1.4 KB
smaller); one woken sooner waits inside its reader coroutine. Whatever the mode, every packet
is served, in order, and a packet split across a quiet spell is put together.
"""
import time

import pytest

import rawmqtt
from mqttclients import raw_connect, raw_subscribe, unique

QUIET = 1.3  # longer than the broker's quiet_wait (1 s)


def _publish_burst(pub, topic, first_id, count):
    """`count` QoS 1 PUBLISHes in one write, then their PUBACKs, in order."""
    pub.send(b"".join(rawmqtt.publish(topic, b"m%d" % i, qos=1, packet_id=i)
                      for i in range(first_id, first_id + count)))
    for i in range(first_id, first_id + count):
        ack = pub.expect(rawmqtt.PUBACK)
        assert ack.packet_id == i


def _receive(sub, count):
    """`count` QoS 1 PUBLISHes, each acknowledged as it comes; their payloads."""
    payloads = []
    for _ in range(count):
        p = sub.expect(rawmqtt.PUBLISH)
        assert p.qos == 1
        payloads.append(p.payload)
        sub.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
    return payloads


@pytest.mark.parametrize("threads", [(), ("--threads", "1")], ids=["default threads", "one thread"])
def test_quiet_busy_quiet_connections_deliver_everything_in_order(make_broker, threads):
    """Publisher and subscriber go busy -> quiet -> one packet -> quiet -> busy: 81 QoS 1
    messages arrive once each, in order [MQTT-4.6.0-2]. A burst of 40 is twice the in-flight
    window (the subscriber's PUBACKs must be read in every mode) and fits the default queue
    (max_msgqueue_messages = 20 above the 20 in flight), so nothing is dropped. With one I/O
    thread connections have no strand of their own (the io_context's executor is theirs)."""
    broker = make_broker(*threads)
    topic = unique("idle/t")
    sub = raw_connect(broker.port, unique("idle-sub"))
    pub = raw_connect(broker.port, unique("idle-pub"))
    try:
        time.sleep(QUIET)  # both parked since CONNECT ended a long wait
        assert raw_subscribe(sub, topic, qos=1) == [1]
        _publish_burst(pub, topic, 1, 40)
        got = _receive(sub, 40)
        time.sleep(QUIET)
        _publish_burst(pub, topic, 41, 1)
        got += _receive(sub, 1)
        time.sleep(QUIET)
        _publish_burst(pub, topic, 42, 40)
        got += _receive(sub, 40)
        assert got == [b"m%d" % i for i in range(1, 82)]
        # Both are still served after all that: PINGREQ answered.
        for c in (pub, sub):
            c.send(rawmqtt.pingreq())
            c.expect(rawmqtt.PINGRESP)
    finally:
        pub.close()
        sub.close()


def test_packet_split_across_a_quiet_spell(broker):
    """Half a PUBLISH, more than a second of silence, then the rest: the broker keeps the half
    it has and routes the whole packet."""
    topic = unique("idle/split")
    sub = raw_connect(broker.port, unique("split-sub"))
    pub = raw_connect(broker.port, unique("split-pub"))
    try:
        assert raw_subscribe(sub, topic, qos=1) == [1]
        data = rawmqtt.publish(topic, b"x" * 300, qos=1, packet_id=7)
        time.sleep(QUIET)
        pub.send(data[:150])
        time.sleep(QUIET)
        pub.send(data[150:])
        assert pub.expect(rawmqtt.PUBACK).packet_id == 7
        p = sub.expect(rawmqtt.PUBLISH)
        assert p.payload == b"x" * 300
    finally:
        pub.close()
        sub.close()


def test_parked_connections_end_on_keep_alive_and_on_disconnect(broker):
    """A parked connection still ends when its keep-alive runs out [MQTT-3.1.2-24], and one
    that says DISCONNECT after a quiet spell is logged as such."""
    silent = raw_connect(broker.port, unique("parked-silent"), keep_alive=1)
    cid = unique("parked-leaver")
    leaver = raw_connect(broker.port, cid)
    try:
        assert silent.closed_within(3.0)
        time.sleep(QUIET)
        leaver.send(rawmqtt.disconnect())
        assert leaver.closed_within(3.0)
        assert broker.wait_for_log(
            r"disconnected client_id=%s .*reason=client disconnected" % cid, 3.0)
    finally:
        silent.close()
        leaver.close()
