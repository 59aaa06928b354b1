"""The data path of mqtts:// listeners, where OpenSSL reads and writes the socket itself
(src/net/tls_stream.*): messages spanning many TLS records, bursts of small packets that the
broker coalesces into records, and a TLS subscriber that stops reading during a flood (the
broker waits for the socket to become writable again, and nobody else notices). Raw MQTT over
Python's ssl module, so every byte the broker sends is checked."""
import os
import time

import pytest

import rawmqtt
import tlsutil
from mqttclients import unique


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return tlsutil.make_pki(tmp_path_factory.mktemp("pki"))


def tls_broker(make_broker, pki, *extra):
    url = "mqtts://127.0.0.1:0" + tlsutil.tls_query(pki.server_crt, pki.server_key)
    b = make_broker("--listener", url, "--listener", "mqtt://127.0.0.1:0", *extra)
    return b, b.ports[0], b.ports[1]


def tls_client(port, pki, client_id):
    c = rawmqtt.RawClient(port, timeout=10)
    c.sock = tlsutil.python_client_context(pki).wrap_socket(c.sock, server_hostname="localhost")
    assert c.connect(client_id).body[1] == 0
    return c


def subscribe(c, topic_filter, qos):
    c.send(rawmqtt.subscribe(1, [(topic_filter, qos)]))
    assert list(c.expect(rawmqtt.SUBACK).body[2:]) == [qos]


def test_large_messages_span_many_tls_records(make_broker, pki):
    b, tls, _ = tls_broker(make_broker, pki)
    sub = tls_client(tls, pki, unique("sub"))
    subscribe(sub, "big/#", 1)
    pub = tls_client(tls, pki, unique("pub"))
    payloads = [os.urandom(n) for n in (16 * 1024 - 1, 16 * 1024 + 1, 100_000, 1_000_000)]
    for i, payload in enumerate(payloads, start=1):
        pub.send(rawmqtt.publish("big/%d" % i, payload, qos=1, packet_id=i))
        assert pub.expect(rawmqtt.PUBACK, timeout=10).packet_id == i
    for i, payload in enumerate(payloads, start=1):
        got = sub.expect(rawmqtt.PUBLISH, timeout=10)
        assert got.topic == "big/%d" % i
        assert got.payload == payload, "payload %d of %d bytes differs" % (i, len(payload))
        sub.send(rawmqtt.ack(rawmqtt.PUBACK, got.packet_id))
    sub.close()
    pub.close()


def test_a_burst_of_small_packets_arrives_whole_and_in_order(make_broker, pki):
    b, tls, _ = tls_broker(make_broker, pki)
    sub = tls_client(tls, pki, unique("sub"))
    subscribe(sub, "burst", 0)
    pub = tls_client(tls, pki, unique("pub"))
    count = 3000
    # One write of 3000 packets: the broker reads many per TLS record and writes many per one.
    pub.send(b"".join(rawmqtt.publish("burst", b"%05d" % i) for i in range(count)))
    for i in range(count):
        got = sub.expect(rawmqtt.PUBLISH)
        assert got.payload == b"%05d" % i
    sub.close()
    pub.close()


def test_a_tls_subscriber_that_stops_reading_holds_up_no_one(make_broker, pki):
    b, tls, tcp = tls_broker(make_broker, pki)
    stalled = tls_client(tls, pki, unique("stalled"))
    subscribe(stalled, "flood", 0)
    other = tls_client(tls, pki, unique("other"))
    subscribe(other, "other", 0)
    pub = rawmqtt.RawClient(tcp)
    assert pub.connect(unique("pub")).body[1] == 0
    # 24 MB for a reader that does not read: far more than the socket buffers hold, so the
    # broker's writes to it must wait for the socket to become writable.
    chunk = os.urandom(16 * 1024)
    count = 1500
    for i in range(count):
        pub.send(rawmqtt.publish("flood", i.to_bytes(4, "big") + chunk))
    # Meanwhile another TLS client is served at once.
    t0 = time.monotonic()
    pub.send(rawmqtt.publish("other", b"still here"))
    assert other.expect(rawmqtt.PUBLISH).payload == b"still here"
    other.send(rawmqtt.pingreq())
    assert other.expect(rawmqtt.PINGRESP).type == rawmqtt.PINGRESP
    assert time.monotonic() - t0 < 3
    # The stalled reader reads again and gets every message, in order.
    for i in range(count):
        got = stalled.expect(rawmqtt.PUBLISH, timeout=10)
        assert got.payload[:4] == i.to_bytes(4, "big")
        assert got.payload[4:] == chunk
    for c in (stalled, other, pub):
        c.close()


def test_a_client_that_goes_without_close_notify_is_a_normal_close(make_broker, pki):
    b, tls, _ = tls_broker(make_broker, pki)
    cid = unique("gone")
    c = tls_client(tls, pki, cid)
    c.sock.close()   # TCP FIN without TLS close_notify
    assert b.wait_for_log(r"disconnected client_id=%s remote=\S+ reason=connection closed by "
                          r"peer transport=tls$" % cid)
    # The broker goes on serving TLS clients.
    tls_client(tls, pki, unique("after")).close()
