"""Graceful stop: SIGTERM / SIGINT with clients connected ends the process with exit code 0
promptly, every client sees its connection closed, and the log says so."""
import signal
import socket
import time

import pytest

import rawmqtt
from mqttclients import (Paho, mosquitto_pub, raw_connect, raw_publish_qos1, raw_subscribe,
                         unique)

SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


def _stop(broker, sig, within):
    t0 = time.monotonic()
    code = broker.stop(sig, timeout=within + 10)
    elapsed = time.monotonic() - t0
    assert code == 0, broker.log()
    assert elapsed <= within, "took %.1fs to stop" % elapsed
    return elapsed


@pytest.mark.parametrize("sig", SIGNALS)
def test_stop_with_clients_connected(make_broker, sig):
    broker = make_broker()
    topic = unique("stop") + "/t"
    paho = Paho(broker.port, unique("paho"))
    persistent = unique("persistent")
    plain = unique("raw")
    raws = [raw_connect(broker.port, plain),
            raw_connect(broker.port, persistent, clean=False)]
    try:
        paho.connect()
        paho.subscribe(topic, 1)
        raw_subscribe(raws[1], topic, 1)
        mosquitto_pub(broker.port, topic, "unacknowledged", qos=1)
        assert raws[1].expect(rawmqtt.PUBLISH).payload == b"unacknowledged"   # left in flight
        _stop(broker, sig, within=3)
        for c in raws:
            assert c.closed_within(2)
        assert paho.wait_disconnected(2)
        assert paho.disconnect_rc != 0
        name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
        log = broker.log()
        assert "coromq: %s received, stopping" % name in log
        assert broker.log_lines[-1] == "coromq: stopped", log
        for cid in (paho.client_id, persistent):
            assert "disconnected client_id=%s " % cid in log
        # Each of the three clients closed by the stop says so. (Counting every "server
        # stopping" line would also count mosquitto_pub's connection when the stop overtakes
        # its DISCONNECT.)
        for cid in (paho.client_id, persistent, plain):
            assert "disconnected client_id=%s remote=" % cid in log
            line = [l for l in broker.log_lines if "disconnected client_id=%s " % cid in l][0]
            assert line.endswith("reason=server stopping"), line
    finally:
        paho.close()
        for c in raws:
            c.close()


@pytest.mark.parametrize("sig", SIGNALS)
def test_stop_idle_broker(make_broker, sig):
    broker = make_broker()
    _stop(broker, sig, within=2)
    assert broker.log_lines[-1] == "coromq: stopped"


def test_listener_closed_after_stop(make_broker):
    broker = make_broker()
    port = broker.port
    _stop(broker, signal.SIGTERM, within=2)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_stop_not_held_up_by_a_subscriber_that_does_not_read(make_broker):
    """A subscriber that stopped reading (its socket buffers full) must not keep the broker
    from stopping promptly, nor delay the other clients' close."""
    broker = make_broker()
    topic = unique("stuck") + "/t"
    stuck = rawmqtt.RawClient(broker.port)
    stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(unique("stuck"))
    raw_subscribe(stuck, topic, 0)
    other = raw_connect(broker.port, unique("other"))
    pub = raw_connect(broker.port, unique("pub"))
    try:
        payload = b"x" * 65536
        for _ in range(200):                     # ~13 MB, far more than the socket buffers
            pub.send(rawmqtt.publish(topic, payload))
        raw_publish_qos1(pub, topic, b"barrier")    # all routed to the stuck subscriber
        t0 = time.monotonic()
        broker.proc.send_signal(signal.SIGTERM)
        assert other.closed_within(2)
        assert time.monotonic() - t0 <= 2
        code = broker.proc.wait(timeout=20)
        elapsed = time.monotonic() - t0
        assert code == 0
        assert elapsed <= 5, "took %.1fs to stop\n%s" % (elapsed, broker.log())
    finally:
        for c in (stuck, other, pub):
            c.close()
