"""Bad input, one class of abuse per test: what MQTT 3.1.1 says the server does (a CONNACK
return code, or the connection closed without a word), and that the broker keeps serving
everyone else. Every test has a bystander, connected and subscribed before the abuse, that must
still receive afterwards, and a new client that must be able to connect, subscribe and receive.

Bytes are written out by hand with rawmqtt so that nothing between the test and the broker can
"fix" them. 3.1.1 has no way for the server to say why it closes, so "closed" means: the socket
reaches EOF and not a single packet came back first.
"""
import socket
import struct
import uuid

import pytest

import rawmqtt
from rawmqtt import (CONNACK, DISCONNECT, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH,
                     PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE, Closed, RawClient,
                     mqtt_string, packet)

WAIT = 3.0   # seconds within which the broker must have answered or closed


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


class Bystander:
    """A well-behaved client connected before the abuse: subscribed to its own topic at QoS 1."""

    def __init__(self, port):
        self.port = port
        self.topic = unique("bystander") + "/t"
        self.sub = RawClient(port)
        assert self.sub.connect(unique("by-sub")).body == b"\x00\x00"
        self.sub.send(rawmqtt.subscribe(1, [(self.topic, 1)]))
        assert self.sub.expect(SUBACK).body == b"\x00\x01\x01"
        self.sent = 0

    def still_served(self):
        """A fresh publisher's QoS 1 message reaches the bystander, acknowledged both ways."""
        self.sent += 1
        payload = b"still here %d" % self.sent
        pub = RawClient(self.port)
        try:
            assert pub.connect(unique("by-pub")).body == b"\x00\x00"
            pub.send(rawmqtt.publish(self.topic, payload, qos=1, packet_id=7))
            assert pub.expect(PUBACK).packet_id == 7
        finally:
            pub.close()
        p = self.sub.expect(PUBLISH)
        assert (p.topic, p.payload, p.qos) == (self.topic, payload, 1)
        self.sub.send(rawmqtt.ack(PUBACK, p.packet_id))

    def close(self):
        self.sub.send(rawmqtt.disconnect())
        self.sub.close()


def assert_new_client_served(port):
    """A client that connects after the abuse can connect, subscribe, and receive."""
    c = RawClient(port)
    try:
        assert c.connect(unique("healthy")).body == b"\x00\x00"
        topic = unique("healthy") + "/t"
        c.send(rawmqtt.subscribe(3, [(topic, 0)]))
        assert c.expect(SUBACK).body == b"\x00\x03\x00"
        c.send(rawmqtt.publish(topic, b"hello"))
        p = c.expect(PUBLISH)
        assert (p.topic, p.payload) == (topic, b"hello")
        c.send(rawmqtt.disconnect())
    finally:
        c.close()


def assert_closed_silently(client, timeout=WAIT):
    """The broker closes the connection without sending anything first."""
    try:
        p = client.recv(timeout)
    except Closed:
        return
    except socket.timeout:
        pytest.fail("the broker kept the connection open for %.1fs" % timeout)
    pytest.fail("expected the connection closed without an answer, got %r" % (p,))


def assert_refused_with(client, code, timeout=WAIT):
    """CONNACK with session present 0 and `code` [MQTT-3.2.2-4], then the connection closed
    [MQTT-3.2.2-5]."""
    p = client.expect(CONNACK, timeout)
    assert p.body == bytes([0, code]), p
    assert client.closed_within(timeout), "still open after CONNACK %#x" % code


@pytest.fixture
def served(broker):
    """(broker, bystander); on the way out, asserts the broker is up and serves everyone."""
    by = Bystander(broker.port)
    yield broker, by
    assert broker.proc.poll() is None, "coromq died:\n" + broker.log()
    by.still_served()
    assert_new_client_served(broker.port)
    by.close()


def connect_body(name=b"MQTT", level=4, flags=0x02, keep_alive=60, payload=None):
    """The body of a CONNECT with every field under the test's control."""
    if payload is None:
        payload = mqtt_string(unique("c"))
    return mqtt_string(name) + bytes([level, flags]) + struct.pack("!H", keep_alive) + payload


def raw_connect(body, first_byte=0x10):
    return bytes([first_byte]) + rawmqtt.varint(len(body)) + body


def connected(port, will=None):
    c = RawClient(port)
    assert c.connect(unique("abuser"), will=will).body == b"\x00\x00"
    return c


# ---------------------------------------------------------------------------------------------
# Before CONNECT: the first packet, and CONNECT itself.

FIRST_PACKET_CLOSED = {
    # [MQTT-2.2.2-2]/4.8.0-1 packet type 0 is reserved.
    "type 0 (reserved)": b"\x00\x00",
    # Type 15 is AUTH, which does not exist in 3.1.1 (and is not CONNECT in any version).
    "type 15 (reserved in 3.1.1)": b"\xf0\x00",
    # [MQTT-3.1.0-1] the first packet must be CONNECT.
    "PUBLISH first": rawmqtt.publish("a/b", b"x"),
    "SUBSCRIBE first": rawmqtt.subscribe(1, [("#", 0)]),
    "PINGREQ first": rawmqtt.pingreq(),
    "DISCONNECT first": rawmqtt.disconnect(),
    "CONNACK first": packet(CONNACK, 0, b"\x00\x00"),
    # Remaining length in 5 bytes: the 4th has its continuation bit set (2.2.3).
    "remaining length 5 bytes": b"\x10\xff\xff\xff\xff\x7f",
    # [MQTT-2.2.2-2] CONNECT's reserved fixed-header flags must be 0000.
    "CONNECT flags 0001": raw_connect(connect_body(), 0x11),
    "CONNECT flags 1000": raw_connect(connect_body(), 0x18),
    # [MQTT-3.1.2-1] not "MQTT": the server may close (and must not go on as 3.1.1).
    "protocol name MQTX": raw_connect(connect_body(name=b"MQTX")),
    "protocol name mqtt": raw_connect(connect_body(name=b"mqtt")),
    "protocol name empty": raw_connect(connect_body(name=b"")),
    # [MQTT-3.1.2-3] the reserved CONNECT flag must be 0.
    "CONNECT reserved flag": raw_connect(connect_body(flags=0x03)),
    # [MQTT-3.1.2-11] [MQTT-3.1.2-13] Will QoS without the Will flag.
    "will QoS 1 without will flag": raw_connect(connect_body(flags=0x02 | 0x08)),
    "will QoS 2 without will flag": raw_connect(connect_body(flags=0x02 | 0x10)),
    # [MQTT-3.1.2-15] Will Retain without the Will flag.
    "will retain without will flag": raw_connect(connect_body(flags=0x02 | 0x20)),
    # [MQTT-3.1.2-14] Will QoS 3.
    "will QoS 3": raw_connect(connect_body(
        flags=0x02 | 0x04 | 0x18,
        payload=mqtt_string("cid") + mqtt_string("will/t") + mqtt_string(b"w"))),
    # [MQTT-3.1.2-9] the Will flag is set but Will Topic / Will Message are missing.
    "will flag without will fields": raw_connect(connect_body(flags=0x02 | 0x04)),
    # [MQTT-3.1.2-22] password flag without the user name flag.
    "password without username": raw_connect(connect_body(
        flags=0x02 | 0x40, payload=mqtt_string("cid") + mqtt_string(b"secret"))),
    # [MQTT-3.1.2-19] [MQTT-3.1.2-21] a flag set but its field missing.
    "username flag without username": raw_connect(connect_body(flags=0x02 | 0x80)),
    # [MQTT-3.1.2-18] [MQTT-3.1.2-20] fields the flags do not announce.
    "user name without user name flag": raw_connect(connect_body(
        payload=mqtt_string("cid") + mqtt_string("surplus"))),
    "password without password flag": raw_connect(connect_body(
        flags=0x02 | 0x80, payload=mqtt_string("cid") + mqtt_string("user")
        + mqtt_string(b"secret"))),
    # [MQTT-1.5.3-1] [MQTT-3.1.3-4] client id not well-formed UTF-8.
    "client id 0xFF": raw_connect(connect_body(payload=mqtt_string(b"id\xff"))),
    "client id lone continuation byte": raw_connect(connect_body(payload=mqtt_string(b"\x80id"))),
    "client id surrogate U+D800": raw_connect(connect_body(payload=mqtt_string(b"a\xed\xa0\x80"))),
    "client id overlong '/'": raw_connect(connect_body(payload=mqtt_string(b"a\xc0\xaf"))),
    "client id truncated sequence": raw_connect(connect_body(payload=mqtt_string(b"a\xe2\x82"))),
    "client id above U+10FFFF": raw_connect(connect_body(payload=mqtt_string(b"\xf4\x90\x80\x80"))),
    # [MQTT-1.5.3-2] U+0000, plain and in its overlong form.
    "client id U+0000": raw_connect(connect_body(payload=mqtt_string(b"a\x00b"))),
    "client id overlong U+0000": raw_connect(connect_body(payload=mqtt_string(b"a\xc0\x80b"))),
    # [MQTT-3.1.3-10] [MQTT-3.3.2-2] the will topic is a topic name.
    "will topic bad UTF-8": raw_connect(connect_body(
        flags=0x02 | 0x04, payload=mqtt_string("cid") + mqtt_string(b"w\xff") + mqtt_string(b"m"))),
    "will topic U+0000": raw_connect(connect_body(
        flags=0x02 | 0x04, payload=mqtt_string("cid") + mqtt_string(b"w\x00") + mqtt_string(b"m"))),
    "will topic wildcard #": raw_connect(connect_body(
        flags=0x02 | 0x04, payload=mqtt_string("cid") + mqtt_string("w/#") + mqtt_string(b"m"))),
    "will topic wildcard +": raw_connect(connect_body(
        flags=0x02 | 0x04, payload=mqtt_string("cid") + mqtt_string("+/w") + mqtt_string(b"m"))),
    # [MQTT-3.1.3-11] the user name is a UTF-8 string.
    "username bad UTF-8": raw_connect(connect_body(
        flags=0x02 | 0x80, payload=mqtt_string("cid") + mqtt_string(b"u\xfe"))),
    "username U+0000": raw_connect(connect_body(
        flags=0x02 | 0x80, payload=mqtt_string("cid") + mqtt_string(b"u\x00"))),
    # Fields that run past the end of the packet.
    "CONNECT body cut in protocol name": b"\x10\x03\x00\x04M",
    "CONNECT body without keep alive": raw_connect(mqtt_string("MQTT") + b"\x04\x02"),
    "client id length past the end": raw_connect(connect_body(payload=b"\x00\x10abc")),
    "CONNECT remaining length 0": b"\x10\x00",
}


@pytest.mark.parametrize("data", FIRST_PACKET_CLOSED.values(), ids=FIRST_PACKET_CLOSED.keys())
def test_bad_first_packet_is_closed_without_connack(served, data):
    """[MQTT-3.1.4-1] a CONNECT that does not conform (or no CONNECT at all [MQTT-3.1.0-1]):
    the connection is closed without a CONNACK, as when no return code applies
    [MQTT-3.2.2-6]."""
    broker, _ = served
    c = RawClient(broker.port)
    c.send(data)
    assert_closed_silently(c)
    c.close()


UNSUPPORTED_LEVEL = {
    "MQTT level 0": connect_body(level=0),
    "MQTT level 2": connect_body(level=2),
    "MQTT level 3 (3.1 wants MQIsdp)": connect_body(level=3),
    "MQTT level 6": connect_body(level=6),
    "MQTT level 255": connect_body(level=255),
    "MQIsdp level 4": connect_body(name=b"MQIsdp", level=4),
}


@pytest.mark.parametrize("body", UNSUPPORTED_LEVEL.values(), ids=UNSUPPORTED_LEVEL.keys())
def test_unsupported_protocol_level_gets_connack_1_then_close(served, body):
    """[MQTT-3.1.2-2] CONNACK 0x01 (unacceptable protocol level), then the connection closed."""
    broker, _ = served
    c = RawClient(broker.port)
    c.send(raw_connect(body))
    assert_refused_with(c, 0x01)
    c.close()


def test_empty_client_id_without_clean_session_gets_connack_2(served):
    """[MQTT-3.1.3-8] a zero-byte client id with CleanSession 0: CONNACK 0x02, then closed."""
    broker, _ = served
    c = RawClient(broker.port)
    c.send(rawmqtt.connect("", clean=False))
    assert_refused_with(c, 0x02)
    c.close()


def test_empty_client_id_with_clean_session_is_accepted(served):
    """[MQTT-3.1.3-6] the server assigns an id; the client is served like any other."""
    broker, _ = served
    c = RawClient(broker.port)
    assert c.connect("", clean=True).body == b"\x00\x00"
    c.send(rawmqtt.pingreq())
    assert c.expect(PINGRESP).body == b""
    c.close()


# ---------------------------------------------------------------------------------------------
# After CONNECT: every packet a client may get wrong.

def _publish_raw(flags, topic_bytes, rest=b""):
    return packet(PUBLISH, flags, mqtt_string(topic_bytes) + rest)


def _subscribe_raw(packet_id, payload, flags=0x02):
    return packet(SUBSCRIBE, flags, struct.pack("!H", packet_id) + payload)


def _unsubscribe_raw(packet_id, payload, flags=0x02):
    return packet(UNSUBSCRIBE, flags, struct.pack("!H", packet_id) + payload)


CONNECTED_CLOSED = {
    # Fixed header: reserved types, types only a server sends.
    "type 0 (reserved)": b"\x00\x00",
    "type 15 (AUTH, reserved in 3.1.1)": b"\xf0\x00",
    "CONNACK from a client": packet(CONNACK, 0, b"\x00\x00"),
    "SUBACK from a client": packet(SUBACK, 0, b"\x00\x01\x00"),
    "UNSUBACK from a client": packet(UNSUBACK, 0, b"\x00\x01"),
    "PINGRESP from a client": packet(PINGRESP, 0, b""),
    # Remaining length: a 5th byte [2.2.3]; broker refuses padded (non-minimal) encodings too.
    "remaining length 5 bytes": b"\x30\xff\xff\xff\xff\x7f",
    "remaining length 4 bytes all continuation": b"\x30\x80\x80\x80\x80\x01",
    # Reserved fixed-header flags on packets whose flags are 0000 [MQTT-2.2.2-1/2].
    "PUBACK flags 0010": packet(PUBACK, 0x02, b"\x00\x01"),
    "PUBREC flags 0001": packet(PUBREC, 0x01, b"\x00\x01"),
    "PUBCOMP flags 1000": packet(PUBCOMP, 0x08, b"\x00\x01"),
    "PINGREQ flags 0001": packet(PINGREQ, 0x01, b""),
    "PINGREQ flags 1111": packet(PINGREQ, 0x0F, b""),
    # PUBLISH [MQTT-3.3.1-4] QoS 3.
    "PUBLISH QoS 3": _publish_raw(0x06, b"a/b", b"\x00\x01payload"),
    "PUBLISH QoS 3 retain": _publish_raw(0x07, b"a/b", b"\x00\x01payload"),
    "PUBLISH QoS 3 dup": _publish_raw(0x0E, b"a/b", b"\x00\x01payload"),
    # [MQTT-3.3.1-2] DUP on a QoS 0 message.
    "PUBLISH QoS 0 with DUP": _publish_raw(0x08, b"a/b", b"payload"),
    # [MQTT-3.3.2-2] [MQTT-4.7.1-1] wildcards in a topic name.
    "PUBLISH topic a/#": rawmqtt.publish("a/#", b"x"),
    "PUBLISH topic #": rawmqtt.publish("#", b"x"),
    "PUBLISH topic +": rawmqtt.publish("+", b"x"),
    "PUBLISH topic a/+/c": rawmqtt.publish("a/+/c", b"x"),
    "PUBLISH topic a+b": rawmqtt.publish("a+b", b"x"),
    "PUBLISH topic a#": rawmqtt.publish("a#", b"x"),
    "PUBLISH QoS 1 topic +": rawmqtt.publish("+", b"x", qos=1, packet_id=5),
    # [MQTT-4.7.3-1] a topic name is at least one character long.
    "PUBLISH empty topic": rawmqtt.publish("", b"x"),
    # [MQTT-1.5.3-1] [MQTT-3.3.2-1] ill-formed UTF-8 topic names.
    "PUBLISH topic 0xFF": _publish_raw(0x00, b"a/\xff"),
    "PUBLISH topic surrogate": _publish_raw(0x00, b"a/\xed\xbf\xbf"),
    "PUBLISH topic overlong": _publish_raw(0x00, b"a/\xe0\x80\xaf"),
    "PUBLISH topic cut sequence": _publish_raw(0x00, b"a/\xf0\x9f\x98"),
    # [MQTT-1.5.3-2] [MQTT-4.7.3-2] U+0000.
    "PUBLISH topic U+0000": _publish_raw(0x00, b"a/\x00/b"),
    "PUBLISH QoS 1 topic U+0000": _publish_raw(0x02, b"a\x00", b"\x00\x01x"),
    # [MQTT-2.3.1-1] packet identifier 0.
    "PUBLISH QoS 1 id 0": rawmqtt.publish("a/b", b"x", qos=1, packet_id=0),
    "PUBLISH QoS 2 id 0": rawmqtt.publish("a/b", b"x", qos=2, packet_id=0),
    "SUBSCRIBE id 0": rawmqtt.subscribe(0, [("a/b", 0)]),
    "UNSUBSCRIBE id 0": rawmqtt.unsubscribe(0, ["a/b"]),
    # Acknowledgements carry the (non-zero) id of the PUBLISH they acknowledge [MQTT-2.3.1-6].
    "PUBACK id 0": rawmqtt.ack(PUBACK, 0),
    "PUBREL id 0": rawmqtt.ack(PUBREL, 0),
    # Truncated bodies: a field runs past the declared length.
    "PUBLISH topic length past the end": packet(PUBLISH, 0, b"\x00\x09a/b"),
    "PUBLISH one body byte": packet(PUBLISH, 0, b"\x00"),
    "PUBLISH empty body": packet(PUBLISH, 0, b""),
    "PUBLISH QoS 1 without packet id": packet(PUBLISH, 0x02, mqtt_string("a/b") + b"\x00"),
    "PUBACK one byte": packet(PUBACK, 0, b"\x01"),
    "PUBREL without id": packet(PUBREL, 0x02, b""),
    "SUBSCRIBE filter past the end": _subscribe_raw(1, b"\x00\x20a/b\x00"),
    "SUBSCRIBE filter without QoS byte": _subscribe_raw(1, mqtt_string("a/b")),
    "UNSUBSCRIBE filter past the end": _unsubscribe_raw(1, b"\x00\x20a/b"),
    # Trailing bytes where the packet has nothing more.
    "PINGREQ with a body": packet(PINGREQ, 0, b"\x00"),
    "PUBACK with trailing byte": packet(PUBACK, 0, b"\x00\x01\x00"),
    # [MQTT-3.8.3-3] [MQTT-3.10.3-2] no topic filter at all.
    "SUBSCRIBE without payload": _subscribe_raw(1, b""),
    "UNSUBSCRIBE without payload": _unsubscribe_raw(1, b""),
    # [MQTT-3.8.3-4] reserved bits of the requested QoS byte, QoS 3.
    "SUBSCRIBE requested QoS 3": rawmqtt.subscribe(1, [("a/b", 3)]),
    "SUBSCRIBE reserved bit 2": rawmqtt.subscribe(1, [("a/b", 0x04)]),
    "SUBSCRIBE reserved bit 7": rawmqtt.subscribe(1, [("a/b", 0x81)]),
    "SUBSCRIBE second filter bad QoS": rawmqtt.subscribe(1, [("a/b", 0), ("c/d", 3)]),
    # [MQTT-4.7.1-2] [MQTT-4.7.1-3] malformed filters.
    "SUBSCRIBE filter a/#/b": rawmqtt.subscribe(1, [("a/#/b", 0)]),
    "SUBSCRIBE filter a#": rawmqtt.subscribe(1, [("a#", 0)]),
    "SUBSCRIBE filter a/b+": rawmqtt.subscribe(1, [("a/b+", 0)]),
    "SUBSCRIBE filter ++": rawmqtt.subscribe(1, [("++", 0)]),
    "SUBSCRIBE empty filter": rawmqtt.subscribe(1, [("", 0)]),
    "UNSUBSCRIBE filter a/#/b": rawmqtt.unsubscribe(1, ["a/#/b"]),
    # [MQTT-3.8.3-1] [MQTT-3.10.3-1] filters are UTF-8 strings; U+0000 [MQTT-4.7.3-2].
    "SUBSCRIBE filter bad UTF-8": _subscribe_raw(1, mqtt_string(b"a/\xc3") + b"\x00"),
    "SUBSCRIBE filter U+0000": _subscribe_raw(1, mqtt_string(b"a/\x00") + b"\x00"),
    "UNSUBSCRIBE filter bad UTF-8": _unsubscribe_raw(1, mqtt_string(b"\xff")),
    "UNSUBSCRIBE filter U+0000": _unsubscribe_raw(1, mqtt_string(b"\x00")),
}


@pytest.mark.parametrize("data", CONNECTED_CLOSED.values(), ids=CONNECTED_CLOSED.keys())
def test_bad_packet_after_connect_is_closed(served, data):
    """[MQTT-4.8.0-1] a protocol violation closes the connection (3.1.1 has no DISCONNECT
    from the server, so nothing is sent first)."""
    broker, _ = served
    c = connected(broker.port)
    c.send(data)
    assert_closed_silently(c)
    c.close()


@pytest.mark.parametrize("flags", [0x0, 0x1, 0x3, 0x4, 0x6, 0x8, 0xA, 0xF])
@pytest.mark.parametrize("kind", ["SUBSCRIBE", "UNSUBSCRIBE", "PUBREL"])
def test_reserved_flags_not_0010_are_closed(served, kind, flags):
    """[MQTT-2.2.2-2] [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]: SUBSCRIBE, UNSUBSCRIBE
    and PUBREL must carry flags 0010; anything else closes the connection, unanswered."""
    broker, _ = served
    c = connected(broker.port)
    if kind == "SUBSCRIBE":
        data = _subscribe_raw(1, mqtt_string("a/b") + b"\x00", flags)
    elif kind == "UNSUBSCRIBE":
        data = _unsubscribe_raw(1, mqtt_string("a/b"), flags)
    else:
        # A QoS 2 exchange in progress, so a correct PUBREL would have been answered.
        c.send(rawmqtt.publish("qos2/" + unique("t"), b"x", qos=2, packet_id=9))
        assert c.expect(PUBREC).packet_id == 9
        data = packet(PUBREL, flags, b"\x00\x09")
    c.send(data)
    assert_closed_silently(c)
    c.close()


@pytest.mark.parametrize("kind", ["SUBSCRIBE", "UNSUBSCRIBE", "PUBREL"])
def test_reserved_flags_0010_are_served(served, kind):
    """The control case of the test above: flags 0010 are answered."""
    broker, _ = served
    c = connected(broker.port)
    if kind == "SUBSCRIBE":
        c.send(_subscribe_raw(1, mqtt_string("a/b") + b"\x00"))
        assert c.expect(SUBACK).body == b"\x00\x01\x00"
    elif kind == "UNSUBSCRIBE":
        c.send(_unsubscribe_raw(1, mqtt_string("a/b")))
        assert c.expect(UNSUBACK).body == b"\x00\x01"
    else:
        c.send(rawmqtt.publish("qos2/" + unique("t"), b"x", qos=2, packet_id=9))
        assert c.expect(PUBREC).packet_id == 9
        c.send(packet(PUBREL, 0x02, b"\x00\x09"))
        assert c.expect(PUBCOMP).body == b"\x00\x09"
    c.send(rawmqtt.disconnect())
    c.close()


def test_second_connect_is_closed_and_will_published(served):
    """[MQTT-3.1.0-2] a second CONNECT is a protocol violation: the client is disconnected.
    The connection did not end with DISCONNECT, so its will goes out [MQTT-3.1.2-8]."""
    broker, by = served
    c = connected(broker.port, will=(by.topic, b"second connect", 0, False))
    c.send(rawmqtt.connect(unique("again")))
    assert_closed_silently(c)
    c.close()
    p = by.sub.expect(PUBLISH)
    assert (p.topic, p.payload) == (by.topic, b"second connect")


def test_disconnect_with_reserved_flags_is_a_violation_and_will_published(served):
    """[MQTT-3.14.1-1] DISCONNECT's reserved bits must be 0; otherwise the server disconnects
    the client, and since no valid DISCONNECT arrived the will is published [MQTT-3.1.2-8]."""
    broker, by = served
    c = connected(broker.port, will=(by.topic, b"bad disconnect", 0, False))
    c.send(packet(DISCONNECT, 0x01, b""))
    assert_closed_silently(c)
    c.close()
    p = by.sub.expect(PUBLISH)
    assert (p.topic, p.payload) == (by.topic, b"bad disconnect")


def test_violation_publishes_will_but_nothing_of_the_bad_packet(served):
    """A QoS 1 PUBLISH with a wildcard topic is neither acknowledged nor delivered; the
    connection closes and the will goes out [MQTT-3.1.2-8]."""
    broker, by = served
    c = connected(broker.port, will=(by.topic, b"violator", 1, False))
    c.send(rawmqtt.publish(by.topic + "/+", b"never", qos=1, packet_id=3))
    assert_closed_silently(c)
    c.close()
    p = by.sub.expect(PUBLISH)
    assert p.payload == b"violator"
    by.sub.send(rawmqtt.ack(PUBACK, p.packet_id))


def test_declared_length_above_max_packet_size_is_closed(served):
    """A PUBLISH that declares 2 MiB against the default 1 MiB maximum: closed after the fixed
    header, before a body byte is read."""
    broker, _ = served
    c = connected(broker.port)
    c.send(b"\x30" + rawmqtt.varint(2 * 1024 * 1024) + mqtt_string("a/b"))
    assert_closed_silently(c)
    c.close()


@pytest.mark.parametrize("where", ["before CONNECT", "after CONNECT"])
def test_truncated_packet_then_close(served, where):
    """Half a packet, then the client goes away: the broker ends that connection only. A
    truncated PUBLISH is not delivered; the connection ended without DISCONNECT, so the will
    is published [MQTT-3.1.2-8]."""
    broker, by = served
    if where == "before CONNECT":
        c = RawClient(broker.port)
        whole = rawmqtt.connect(unique("half"))
        c.send(whole[:len(whole) // 2])
        c.close()
        assert broker.wait_for_log(r"refused remote=\S+ reason=connection closed by peer")
        return
    c = connected(broker.port, will=(by.topic, b"gone", 0, False))
    whole = rawmqtt.publish(by.topic, b"truncated" * 10)
    c.send(whole[:len(whole) - 5])
    c.close()
    p = by.sub.expect(PUBLISH)
    assert p.payload == b"gone"      # and not the truncated message


def test_reserved_packet_type_zero_as_only_byte(served):
    """A single byte that cannot start any packet closes the connection at once, without
    waiting for a remaining length."""
    broker, _ = served
    c = connected(broker.port)
    c.send(b"\x00")
    assert_closed_silently(c)
    c.close()
