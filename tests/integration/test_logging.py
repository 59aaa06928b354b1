"""Connection logging (logging = true): exactly one line per connect and one per disconnect,
each with the client id, the remote address, and (for disconnects) the reason."""
import re
import socket
import struct

import rawmqtt
from mqttclients import MosquittoSub, Paho, raw_connect, unique, wait_log_count

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO "


def _lines(broker, needle):
    return [l for l in list(broker.log_lines) if needle in l]


def _connect_lines(broker, cid):
    return _lines(broker, "INFO connected client_id=%s " % cid)


def _remote(sock):
    return "%s:%d" % sock.getsockname()[:2]


def _disconnect_reason(broker, cid, timeout=5.0):
    assert broker.wait_for_log(r"disconnected client_id=%s " % cid, timeout), broker.log()
    line = _lines(broker, "disconnected client_id=%s " % cid)[0]
    return re.search(r" reason=(.*)$", line).group(1)


def test_one_line_per_connect_and_disconnect(broker):
    cid = unique("paho")
    p = Paho(broker.port, cid, keepalive=30)
    p.connect()
    remote = _remote(p.client.socket())
    p.disconnect()
    assert broker.wait_for_log(r"disconnected client_id=%s " % cid)
    lines = _lines(broker, cid)
    assert len(lines) == 2, lines
    assert re.fullmatch(STAMP + r"connected client_id=%s remote=%s version=4 clean_session=1 "
                        r"keep_alive=30 session_present=0" % (cid, re.escape(remote)),
                        lines[0]), lines[0]
    assert re.fullmatch(STAMP + r"disconnected client_id=%s remote=%s reason=client disconnected"
                        % (cid, re.escape(remote)), lines[1]), lines[1]


def test_mosquitto_clients_logged(broker):
    """mosquitto_sub with its own id and keep-alive, MQTT 3.1 and 5.0."""
    for version, number in (("mqttv31", 3), ("mqttv311", 4), ("mqttv5", 5)):
        cid = unique("mosq")
        sub = MosquittoSub(broker.port, unique("t"), count=1,
                           extra=["-i", cid, "-k", "7", "-V", version]).wait_subscribed()
        sub.kill()
        reason = _disconnect_reason(broker, cid)
        assert reason == "connection closed by peer"
        (line,) = _connect_lines(broker, cid)
        assert re.search(r"remote=127\.0\.0\.1:\d+ version=%d clean_session=1 keep_alive=7 "
                         r"session_present=0$" % number, line), line
        assert len(_lines(broker, cid)) == 2


def test_session_present_logged(broker):
    cid = unique("sess")
    for present in (0, 1):
        c = raw_connect(broker.port, cid, clean=False)
        c.send(rawmqtt.disconnect())
        assert c.closed_within(3)
        assert wait_log_count(broker, r"disconnected client_id=%s " % cid, present + 1)
    lines = _connect_lines(broker, cid)
    assert len(lines) == 2
    assert lines[0].endswith("clean_session=0 keep_alive=60 session_present=0"), lines[0]
    assert lines[1].endswith("clean_session=0 keep_alive=60 session_present=1"), lines[1]


def test_assigned_client_id_logged(broker):
    """[MQTT-3.1.3-6] an empty client id with clean session 1 gets an id from the server; the
    log shows that id."""
    c = raw_connect(broker.port, "")
    remote = _remote(c.sock)
    c.send(rawmqtt.disconnect())
    assert c.closed_within(3)
    assert broker.wait_for_log(r"disconnected client_id=\S+ remote=%s " % re.escape(remote))
    (line,) = [l for l in _lines(broker, remote) if " INFO connected " in l]
    assert re.search(r"connected client_id=coromq-\d+ remote=", line), line


def test_reason_connection_closed_by_peer(broker):
    cid = unique("abrupt")
    c = raw_connect(broker.port, cid)
    c.close()
    assert _disconnect_reason(broker, cid) == "connection closed by peer"


def test_reason_connection_reset(broker):
    cid = unique("reset")
    c = raw_connect(broker.port, cid)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()                                         # RST
    assert _disconnect_reason(broker, cid).startswith("network error: ")


def test_reason_taken_over(broker):
    cid = unique("twice")
    first = raw_connect(broker.port, cid)
    second = raw_connect(broker.port, cid)
    assert first.closed_within(3)
    assert _disconnect_reason(broker, cid) == "taken over"
    assert len(_connect_lines(broker, cid)) == 2
    second.close()
    first.close()


def test_reason_protocol_error(broker):
    cid = unique("rude")
    c = raw_connect(broker.port, cid)
    c.send(rawmqtt.packet(rawmqtt.SUBACK, 0, b"\x00\x01\x00"))     # server-only packet
    assert c.closed_within(3)
    reason = _disconnect_reason(broker, cid)
    assert reason.startswith("protocol error: "), reason
    assert "SUBACK" in reason.upper(), reason


def test_reason_keepalive_timeout(broker):
    """[MQTT-3.1.2-24] a client closed by the keep-alive watchdog is logged as such."""
    cid = unique("silent")
    c = raw_connect(broker.port, cid, keep_alive=1)
    assert c.closed_within(4)
    assert _disconnect_reason(broker, cid) == "keep-alive timeout"
    c.close()


def test_refused_when_first_packet_not_connect(broker):
    """[MQTT-3.1.0-1] the first packet must be CONNECT: refused and logged, no session."""
    c = rawmqtt.RawClient(broker.port)
    remote = _remote(c.sock)
    c.send(rawmqtt.pingreq())
    assert c.closed_within(3)
    assert broker.wait_for_log(r"refused remote=%s reason=protocol error: first packet is not "
                               r"CONNECT" % re.escape(remote))
    assert not [l for l in _lines(broker, remote) if " INFO connected " in l]


def test_refused_when_no_connect_in_time(make_broker):
    broker = make_broker("--connect_timeout", "1")
    c = rawmqtt.RawClient(broker.port)
    remote = _remote(c.sock)
    assert c.closed_within(4)
    assert broker.wait_for_log(r"refused remote=%s " % re.escape(remote))
    (line,) = _lines(broker, remote)
    assert line.endswith("reason=no CONNECT in time"), line


def test_refused_empty_client_id_without_clean_session(broker):
    """[MQTT-3.1.3-8] CONNACK 0x02 and a 'refused' line, no 'connected' line."""
    c = rawmqtt.RawClient(broker.port)
    remote = _remote(c.sock)
    ack = c.connect("", clean=False)
    assert ack.body == b"\x00\x02"
    assert c.closed_within(3)
    assert broker.wait_for_log(r"refused client_id= remote=%s reason=identifier rejected"
                               % re.escape(remote))
    assert len(_lines(broker, remote)) == 1
