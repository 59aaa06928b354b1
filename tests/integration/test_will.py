"""Will messages: published when a connection ends without DISCONNECT, never after one."""
import signal

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCodes

import rawmqtt
from mqttclients import MosquittoSub, Paho, mosquitto_pub, raw_connect, raw_subscribe, unique


def _watcher(broker, topic, qos=2):
    w = Paho(broker.port, unique("watch"))
    w.connect()
    w.subscribe(topic, qos)
    return w


def _expect_only_marker(broker, watcher, topic):
    """No will was published: the next thing the watcher gets is a marker sent afterwards
    (so this does not depend on waiting long enough)."""
    mosquitto_pub(broker.port, topic, "marker", qos=1)
    msg = watcher.expect_message()
    assert msg.payload == b"marker", "unexpected %r" % msg.payload


def test_will_published_when_connection_drops(broker):
    """[MQTT-3.1.2-8] network connection closed without DISCONNECT: the will is published."""
    topic = unique("will") + "/status"
    watcher = _watcher(broker, topic)
    c = Paho(broker.port, unique("dying"), will=(topic, b"gone", 1, False))
    try:
        c.connect()
        c.abort()
        msg = watcher.expect_message()
        assert (msg.topic, msg.payload, msg.qos, msg.retain) == (topic, b"gone", 1, False)
        watcher.expect_no_message(0.3)       # once
    finally:
        watcher.close()


def test_mosquitto_sub_killed_publishes_its_will(broker):
    """[MQTT-3.1.2-8] with a client we did not write: mosquitto_sub --will-*, killed."""
    topic = unique("will") + "/mosq"
    watcher = _watcher(broker, topic)
    try:
        victim = MosquittoSub(broker.port, unique("any"), count=1,
                              extra=["--will-topic", topic, "--will-payload", "bye",
                                     "--will-qos", "2"]).wait_subscribed()
        victim.kill(signal.SIGKILL)
        msg = watcher.expect_message()
        assert (msg.payload, msg.qos) == (b"bye", 2)
    finally:
        watcher.close()


def test_no_will_no_message(broker):
    """[MQTT-3.1.2-12] a client connected without a will drops its connection: nothing is
    published."""
    topic = unique("will") + "/none"
    watcher = Paho(broker.port, unique("watch"))
    watcher.connect()
    watcher.subscribe("#", 1)
    try:
        cid = unique("nowill")
        c = raw_connect(broker.port, cid)
        c.close()
        assert broker.wait_for_log(r"disconnected client_id=%s " % cid)
        _expect_only_marker(broker, watcher, topic)
    finally:
        watcher.close()


def test_will_not_sent_after_disconnect(broker):
    """[MQTT-3.1.2-10] [MQTT-3.14.4-3] after DISCONNECT the will is discarded."""
    topic = unique("will") + "/clean"
    watcher = _watcher(broker, topic)
    cid = unique("polite")
    c = Paho(broker.port, cid, will=(topic, b"should not appear", 1, False))
    try:
        c.connect()
        c.disconnect()
        assert broker.wait_for_log(r"disconnected client_id=%s .*reason=client disconnected" % cid)
        _expect_only_marker(broker, watcher, topic)
    finally:
        watcher.close()


def test_will_not_sent_after_mosquitto_sub_exits_normally(broker):
    """[MQTT-3.1.2-10] mosquitto_sub -C 1 gets its message and disconnects: no will."""
    topic = unique("will") + "/mosqclean"
    data = unique("data")
    watcher = _watcher(broker, topic)
    try:
        sub = MosquittoSub(broker.port, data, count=1,
                           extra=["--will-topic", topic, "--will-payload", "bye"]).wait_subscribed()
        mosquitto_pub(broker.port, data, "x")
        assert sub.finish()[0] == 0
        assert broker.wait_for_log(r"reason=client disconnected")
        _expect_only_marker(broker, watcher, topic)
    finally:
        watcher.close()


def test_will_retain_flag_stores_it(broker):
    """[MQTT-3.1.2-17] Will Retain 1: published as a retained message (live subscribers see
    RETAIN 0 [MQTT-3.3.1-9], later subscribers get it with RETAIN 1)."""
    topic = unique("will") + "/retained"
    watcher = _watcher(broker, topic)
    c = raw_connect(broker.port, unique("dying"), will=(topic, b"offline", 1, True))
    try:
        c.close()
        msg = watcher.expect_message()
        assert (msg.payload, msg.retain) == (b"offline", False)
        late = MosquittoSub(broker.port, topic, qos=1, count=1)
        assert late.finish()[1] == [(topic, 1, 1, "offline")]
    finally:
        watcher.close()


def test_will_retain_zero_not_stored(broker):
    """[MQTT-3.1.2-16] Will Retain 0: published as a non-retained message."""
    topic = unique("will") + "/plain"
    watcher = _watcher(broker, topic)
    c = raw_connect(broker.port, unique("dying"), will=(topic, b"offline", 0, False))
    try:
        c.close()
        assert watcher.expect_message().payload == b"offline"
        late = raw_connect(broker.port, unique("late"))
        raw_subscribe(late, topic, 1)
        mosquitto_pub(broker.port, topic, "fresh", qos=1)
        p = late.expect(rawmqtt.PUBLISH)                # not the will
        assert (p.payload, p.retain) == (b"fresh", False)
        late.close()
    finally:
        watcher.close()


def test_will_qos_limited_by_subscription(broker):
    """[MQTT-3.8.4-6] a QoS 2 will reaches a QoS 0 subscriber at QoS 0, a QoS 2 one at QoS 2."""
    topic = unique("will") + "/qos"
    w0 = _watcher(broker, topic, qos=0)
    w2 = _watcher(broker, topic, qos=2)
    c = raw_connect(broker.port, unique("dying"), will=(topic, b"q", 2, False))
    try:
        c.close()
        assert w0.expect_message().qos == 0
        assert w2.expect_message().qos == 2
    finally:
        w0.close()
        w2.close()


def test_will_published_on_keepalive_timeout(broker):
    """[MQTT-3.1.2-8] [MQTT-3.1.2-24] a silent client is closed after 1.5 x keep-alive and its
    will goes out."""
    topic = unique("will") + "/ka"
    watcher = _watcher(broker, topic)
    c = raw_connect(broker.port, unique("silent"), keep_alive=1, will=(topic, b"timed out", 1,
                                                                       False))
    try:
        assert watcher.expect_message(timeout=4).payload == b"timed out"
        assert c.closed_within(1)
    finally:
        c.close()
        watcher.close()


def test_will_published_after_protocol_error(broker):
    """[MQTT-3.1.2-8] the broker closes the connection for a protocol error (a client sends
    CONNACK, which only a server may send): the will is published."""
    topic = unique("will") + "/proto"
    watcher = _watcher(broker, topic)
    c = raw_connect(broker.port, unique("rude"), will=(topic, b"broken", 0, False))
    try:
        c.send(rawmqtt.packet(rawmqtt.CONNACK, 0, b"\x00\x00"))
        assert c.closed_within(3)
        assert watcher.expect_message().payload == b"broken"
    finally:
        c.close()
        watcher.close()


def test_v5_disconnect_with_will_message_publishes_will(broker):
    """MQTT 5.0: DISCONNECT with reason 0x04 (disconnect with will message) publishes the will;
    reason 0x00 discards it [MQTT-3.14.4-3]. Client: paho in 5.0 mode."""
    topic = unique("will") + "/v5"
    watcher = _watcher(broker, topic)
    try:
        for reason, expect_will in (("Disconnect with will message", True),
                                    ("Normal disconnection", False)):
            c = Paho(broker.port, unique("v5"), protocol=mqtt.MQTTv5,
                     will=(topic, reason.encode(), 1, False))
            c.connect()
            c.client.disconnect(reasoncode=ReasonCodes(PacketTypes.DISCONNECT, reason))
            assert c.wait_disconnected()
            c.client.loop_stop()
            assert broker.wait_for_log(r"disconnected client_id=%s " % c.client_id)
            if expect_will:
                assert watcher.expect_message().payload == reason.encode()
            else:
                _expect_only_marker(broker, watcher, topic)
    finally:
        watcher.close()
