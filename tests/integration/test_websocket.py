"""MQTT over WebSocket (ws:// and wss:// listeners).

Clients: MQTT.js 5 from Node (tests/integration/js, installed by `scripts/install-deps --test`)
for interoperability, and a raw WebSocket client written here with the standard library for
what a real client would never send: packets split across frames or sharing one frame,
fragmented messages, text and unmasked frames, oversized frames, bad upgrades.
"""
import base64
import hashlib
import json
import os
import queue
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

import rawmqtt
import tlsutil
from mqttclients import HOST, MosquittoSub, unique, wait_log_count
from mqttclients import mosquitto_pub as tcp_pub

JS_DIR = Path(__file__).resolve().parent / "js"
MQTTJS_CLIENT = JS_DIR / "mqttjs_client.js"

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   # RFC 6455 1.3
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return tlsutil.make_pki(tmp_path_factory.mktemp("pki"))


def require_mqttjs():
    if not (JS_DIR / "node_modules" / "mqtt").is_dir():
        pytest.fail("MQTT.js is not installed: run scripts/install-deps --test "
                    "(cd tests/integration/js && npm ci)")


# --- MQTT.js --------------------------------------------------------------------------------


class MqttJs:
    """mqttjs_client.js as a subprocess; its JSON event lines are collected as they come."""

    def __init__(self, url, topic, *args, timeout_ms=10000):
        require_mqttjs()
        cmd = ["node", str(MQTTJS_CLIENT), "--url", url, "--topic", topic,
               "--timeout", str(timeout_ms), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=JS_DIR)
        self.events = queue.Queue()
        self.seen = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "noise", "line": line}
            self.seen.append(event)
            self.events.put(event)

    def wait_for(self, name, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(0.01, remaining))
            except queue.Empty:
                raise AssertionError("MQTT.js: no %r within %.0fs: %r" % (name, timeout, self.seen))
            if event["event"] == name:
                return event
            assert event["event"] != "error" or name == "error", "MQTT.js: %r" % event

    def finish(self, timeout=15.0):
        """Waits for the exit; returns (exit status, the last event)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("MQTT.js did not exit: %r" % self.seen)
        self._reader.join(timeout=2)
        stderr = self.proc.stderr.read()
        assert self.seen, "MQTT.js printed nothing; stderr:\n" + stderr
        return self.proc.returncode, self.seen[-1]


def mqttjs(url, topic, *args, timeout_ms=10000):
    return MqttJs(url, topic, *args, timeout_ms=timeout_ms).finish()


def payloads(event):
    return [m["payload"] for m in event.get("received", [])]


def ws_broker(make_broker, *extra, path=""):
    """mqtt:// then ws:// on loopback; returns (broker, tcp port, ws port)."""
    b = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener", "ws://127.0.0.1:0" + path,
                    *extra)
    return b, b.ports[0], b.ports[1]


def wss_broker(make_broker, pki, *extra, **flags):
    """mqtt:// then wss:// on loopback; returns (broker, tcp port, wss port)."""
    url = "wss://127.0.0.1:0/mqtt" + tlsutil.tls_query(pki.server_crt, pki.server_key, **flags)
    b = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener", url, *extra)
    return b, b.ports[0], b.ports[1]


def test_mqttjs_round_trip_over_ws(make_broker):
    b, tcp, ws = ws_broker(make_broker)
    topic = unique("ws/mqttjs")
    code, last = mqttjs("ws://127.0.0.1:%d/mqtt" % ws, topic, "--publish", "hello ws",
                        "--qos", "1")
    assert code == 0, last
    assert payloads(last) == ["hello ws"]
    assert b.wait_for_log(r"INFO connected client_id=mqttjs-\S+ .* transport=ws$"), b.log()


def test_mqttjs_mqtt5_over_ws(make_broker):
    b, tcp, ws = ws_broker(make_broker)
    code, last = mqttjs("ws://127.0.0.1:%d/mqtt" % ws, unique("ws/v5"), "--publish", "five",
                        "--protocol-version", "5", "--qos", "2")
    assert code == 0, last
    assert payloads(last) == ["five"]
    assert b.wait_for_log(r"connected client_id=\S+ .*version=5 .*transport=ws")


def test_mqttjs_over_wss_with_the_ca(make_broker, pki):
    b, tcp, wss = wss_broker(make_broker, pki)
    code, last = mqttjs("wss://127.0.0.1:%d/mqtt" % wss, unique("wss/mqttjs"), "--publish",
                        "hello wss", "--ca", pki.ca_crt)
    assert code == 0, last
    assert payloads(last) == ["hello wss"]
    assert b.wait_for_log(r"INFO connected client_id=mqttjs-\S+ .* transport=wss$"), b.log()


def test_mqttjs_over_wss_refuses_an_untrusted_server(make_broker, pki):
    """rejectUnauthorized is on: without the CA (or with another one) MQTT.js refuses."""
    b, tcp, wss = wss_broker(make_broker, pki)
    for args in ([], ["--ca", pki.other_ca_crt]):
        code, last = mqttjs("wss://127.0.0.1:%d/mqtt" % wss, unique("wss/untrusted"),
                            "--publish", "x", *args)
        assert code == 1 and last["event"] == "error", last
        assert "certificate" in last["message"], last
    assert wait_log_count(b, r"refused remote=\S+ reason=TLS handshake failed: .* transport=wss",
                          2), b.log()
    assert "connected client_id=" not in b.log()


def test_mqttjs_over_wss_with_a_client_certificate(make_broker, pki):
    b, tcp, wss = wss_broker(make_broker, pki, cafile=pki.ca_crt, require_client_cert=True)
    url = "wss://127.0.0.1:%d/mqtt" % wss
    code, last = mqttjs(url, unique("wss/mtls"), "--publish", "mutual", "--ca", pki.ca_crt,
                        "--cert", pki.client_crt, "--key", pki.client_key)
    assert code == 0 and payloads(last) == ["mutual"], last
    code, last = mqttjs(url, unique("wss/mtls"), "--publish", "x", "--ca", pki.ca_crt,
                        timeout_ms=5000)
    assert code == 1, last
    assert b.wait_for_log(r"refused remote=\S+ reason=TLS handshake failed: .* transport=wss")


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_mqttjs_subscriber_receives_from_mosquitto_pub_on_tcp(make_broker, pki, scheme):
    if scheme == "ws":
        b, tcp, port = ws_broker(make_broker)
        extra = []
    else:
        b, tcp, port = wss_broker(make_broker, pki)
        extra = ["--ca", pki.ca_crt]
    topic = unique("x/tcp-to-" + scheme)
    sub = MqttJs("%s://127.0.0.1:%d/mqtt" % (scheme, port), topic, "--count", "2", "--qos", "1",
                 *extra)
    sub.wait_for("subscribed")
    tcp_pub(tcp, topic, "one", qos=1)
    tcp_pub(tcp, topic, "two", qos=0)
    code, last = sub.finish()
    assert code == 0, last
    assert payloads(last) == ["one", "two"]


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_mosquitto_sub_on_tcp_receives_from_mqttjs(make_broker, pki, scheme):
    if scheme == "ws":
        b, tcp, port = ws_broker(make_broker)
        extra = []
    else:
        b, tcp, port = wss_broker(make_broker, pki)
        extra = ["--ca", pki.ca_crt]
    topic = unique("x/%s-to-tcp" % scheme)
    sub = MosquittoSub(tcp, topic, qos=1).wait_subscribed()
    code, last = mqttjs("%s://127.0.0.1:%d/mqtt" % (scheme, port), topic, "--publish",
                        "from " + scheme, "--count", "0", "--qos", "1", *extra)
    assert code == 0, last
    code, messages = sub.finish()
    assert [m[3] for m in messages] == ["from " + scheme]


def test_custom_path(make_broker):
    b, tcp, ws = ws_broker(make_broker, path="/custom")
    assert b.wait_for_log(r"listening on ws://127\.0\.0\.1:%d/custom" % ws)
    code, last = mqttjs("ws://127.0.0.1:%d/custom" % ws, unique("ws/custom"), "--publish", "c")
    assert code == 0 and payloads(last) == ["c"], last
    status, headers, body = http_upgrade(ws, "/mqtt")
    assert status == 404
    assert b"/custom" in body
    # A query string does not change the path.
    c = WsClient(ws, path="/custom?token=abc")
    c.close()


# --- a raw WebSocket client -------------------------------------------------------------------


def read_http_head(sock, timeout=5.0):
    """(status, headers dict with lower-case names, leftover bytes after the head)."""
    data = b""
    sock.settimeout(timeout)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise rawmqtt.Closed("closed before the HTTP response head: %r" % data)
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def upgrade_request(path, protocols=("mqtt",), key=None, extra=""):
    key = key or base64.b64encode(os.urandom(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, key))
    if protocols:
        req += "Sec-WebSocket-Protocol: %s\r\n" % ", ".join(protocols)
    return (req + extra + "\r\n").encode(), key


def http_upgrade(port, path, protocols=("mqtt",), tls_ctx=None, raw_request=None):
    """Sends one upgrade (or raw) request; returns (status, headers, body) of the answer and
    checks the server closes the connection after a refusal."""
    sock = socket.create_connection((HOST, port), timeout=5)
    if tls_ctx:
        sock = tls_ctx.wrap_socket(sock, server_hostname="localhost")
    try:
        sock.sendall(raw_request or upgrade_request(path, protocols)[0])
        status, headers, rest = read_http_head(sock)
        if status == 101:
            return status, headers, rest
        body = rest
        want = int(headers.get("content-length", "0"))
        while len(body) < want:
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
        assert sock.recv(4096) == b"", "connection left open after HTTP %d" % status
        return status, headers, body
    finally:
        sock.close()


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0):
    """One WebSocket frame; client frames are masked (RFC 6455 5.3)."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([first, (0x80 if mask else 0) | n])
    elif n < 65536:
        head = bytes([first, (0x80 if mask else 0) | 126]) + struct.pack("!H", n)
    else:
        head = bytes([first, (0x80 if mask else 0) | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class WsClient:
    """MQTT over a WebSocket, byte for byte: the test decides how packets map to frames.
    recv() returns whole MQTT packets (rawmqtt.Packet) however the server framed them."""

    def __init__(self, port, path="/mqtt", protocols=("mqtt",), tls_ctx=None, timeout=5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls_ctx:
            self.sock = tls_ctx.wrap_socket(self.sock, server_hostname="localhost")
        request, key = upgrade_request(path, protocols)
        self.sock.sendall(request)
        status, headers, self.raw = read_http_head(self.sock)
        assert status == 101, "upgrade refused: %d %r" % (status, headers)
        expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        assert headers["sec-websocket-accept"] == expected
        self.subprotocol = headers.get("sec-websocket-protocol")
        self.mqtt = b""          # MQTT bytes received, not yet returned as packets
        self.control = []        # (opcode, payload) of control frames received
        self.opcodes = []        # opcodes of data frames received

    def send(self, data: bytes):
        self.sock.sendall(data)

    def send_binary(self, payload: bytes, **kw):
        self.sock.sendall(frame(OP_BINARY, payload, **kw))

    def _read_exact(self, n, deadline):
        while len(self.raw) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("no WebSocket frame in time")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                raise rawmqtt.Closed()
            self.raw += chunk
        out, self.raw = self.raw[:n], self.raw[n:]
        return out

    def recv_frame(self, timeout=5.0):
        """(fin, opcode, payload) of the next frame; server frames must not be masked."""
        deadline = time.monotonic() + timeout
        b0, b1 = self._read_exact(2, deadline)
        assert not b1 & 0x80, "server frames must not be masked (RFC 6455 5.1)"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8, deadline))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._read_exact(n, deadline)

    def recv(self, timeout=5.0) -> rawmqtt.Packet:
        """The next MQTT packet; raises rawmqtt.Closed on a close frame or end of stream."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.mqtt) >= 2:
                try:
                    length, used = rawmqtt._read_varint(self.mqtt[1:])
                except ValueError:
                    length = None
                if length is not None and len(self.mqtt) >= 1 + used + length:
                    total = 1 + used + length
                    first, body = self.mqtt[0], self.mqtt[1 + used:total]
                    self.mqtt = self.mqtt[total:]
                    return rawmqtt.Packet(first >> 4, first & 0x0F, body)
            fin, opcode, payload = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if opcode in (OP_BINARY, OP_TEXT, OP_CONT):
                self.opcodes.append(opcode)
                self.mqtt += payload
            else:
                self.control.append((opcode, payload))
                if opcode == OP_CLOSE:
                    raise rawmqtt.Closed()

    def expect(self, ptype, timeout=5.0) -> rawmqtt.Packet:
        p = self.recv(timeout)
        assert p.type == ptype, "expected packet type %d, got %r" % (ptype, p)
        return p

    def connect(self, client_id, **kw):
        self.send_binary(rawmqtt.connect(client_id, **kw))
        ack = self.expect(rawmqtt.CONNACK)
        assert ack.body == b"\x00\x00", ack
        return self

    def closed_within(self, timeout=5.0) -> bool:
        """True when the server ends the connection (close frame or end of stream)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.recv(max(0.01, deadline - time.monotonic()))
        except rawmqtt.Closed:
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture(params=["ws", "wss"])
def any_ws(request, make_broker, pki):
    """(broker, tcp port, port, client TLS context or None) for ws:// and for wss://."""
    if request.param == "ws":
        b, tcp, port = ws_broker(make_broker)
        return b, tcp, port, None
    b, tcp, port = wss_broker(make_broker, pki)
    return b, tcp, port, tlsutil.python_client_context(pki)


def test_connect_split_across_two_frames(any_ws):
    b, tcp, port, ctx = any_ws
    c = WsClient(port, tls_ctx=ctx)
    try:
        assert c.subprotocol == "mqtt"
        packet = rawmqtt.connect(unique("split"))
        c.send_binary(packet[:5])         # fixed header and part of the protocol name
        c.send_binary(packet[5:])
        ack = c.expect(rawmqtt.CONNACK)
        assert ack.body == b"\x00\x00"
    finally:
        c.close()


def test_connect_split_across_the_fragments_of_one_message(any_ws):
    b, tcp, port, ctx = any_ws
    c = WsClient(port, tls_ctx=ctx)
    try:
        packet = rawmqtt.connect(unique("frag"))
        c.send(frame(OP_BINARY, packet[:3], fin=False) + frame(OP_CONT, packet[3:9], fin=False))
        # A ping between fragments is allowed (RFC 6455 5.4) and answered.
        c.send(frame(OP_PING, b"mid") + frame(OP_CONT, packet[9:], fin=True))
        assert c.expect(rawmqtt.CONNACK).body == b"\x00\x00"
        assert (OP_PONG, b"mid") in c.control
    finally:
        c.close()


def test_every_byte_in_its_own_frame(make_broker):
    b, tcp, port = ws_broker(make_broker)
    c = WsClient(port)
    try:
        for byte in rawmqtt.connect(unique("bytewise")):
            c.send_binary(bytes([byte]))
        assert c.expect(rawmqtt.CONNACK).body == b"\x00\x00"
    finally:
        c.close()


def test_subscribe_and_publish_in_one_frame(any_ws):
    b, tcp, port, ctx = any_ws
    c = WsClient(port, tls_ctx=ctx)
    try:
        c.connect(unique("onefr"))
        topic = unique("ws/one-frame")
        c.send_binary(rawmqtt.subscribe(7, [(topic, 1)]) +
                      rawmqtt.publish(topic, b"in the same frame", qos=1, packet_id=8))
        got = {}
        for _ in range(3):                # SUBACK, PUBACK and the PUBLISH back, in some order
            p = c.recv()
            got.setdefault(p.type, p)
        assert got[rawmqtt.SUBACK].packet_id == 7 and got[rawmqtt.SUBACK].body[2:] == b"\x01"
        assert got[rawmqtt.PUBACK].packet_id == 8
        assert got[rawmqtt.PUBLISH].topic == topic
        assert got[rawmqtt.PUBLISH].payload == b"in the same frame"
        assert set(c.opcodes) == {OP_BINARY}, c.opcodes     # [MQTT-6.0.0-1] binary frames only
    finally:
        c.close()


def test_connect_and_many_packets_in_one_frame_with_a_packet_straddling_frames(make_broker):
    b, tcp, port = ws_broker(make_broker)
    c = WsClient(port)
    try:
        topic = unique("ws/batch")
        stream = (rawmqtt.connect(unique("batch")) + rawmqtt.subscribe(1, [(topic, 0)]) +
                  b"".join(rawmqtt.publish(topic, b"m%d" % i, qos=1, packet_id=100 + i)
                           for i in range(20)) + rawmqtt.pingreq())
        cut = len(stream) // 2 + 3        # lands inside a PUBLISH
        c.send_binary(stream[:cut])
        c.send_binary(stream[cut:])
        packets = [c.recv() for _ in range(1 + 1 + 20 + 20 + 1)]
        kinds = [p.type for p in packets]
        assert kinds[0] == rawmqtt.CONNACK
        assert kinds.count(rawmqtt.PUBACK) == 20 and kinds.count(rawmqtt.PINGRESP) == 1
        got = [p.payload for p in packets if p.type == rawmqtt.PUBLISH]
        assert got == [b"m%d" % i for i in range(20)]
    finally:
        c.close()


def test_ping_is_answered_and_close_ends_the_session(make_broker):
    b, tcp, port = ws_broker(make_broker)
    c = WsClient(port)
    client_id = unique("closing")
    try:
        c.connect(client_id)
        c.send(frame(OP_PING, b"are you there"))
        c.send_binary(rawmqtt.pingreq())
        assert c.expect(rawmqtt.PINGRESP)
        assert (OP_PONG, b"are you there") in c.control
        c.send(frame(OP_CLOSE, struct.pack("!H", 1000)))
        assert c.closed_within(5)
        assert c.control[-1] == (OP_CLOSE, struct.pack("!H", 1000)), c.control   # echoed
        assert c.sock.recv(16) == b""     # then the server closes TCP first (RFC 6455 7.1.1)
        c.close()                         # and so do we, as a client should
        assert b.wait_for_log(r"disconnected client_id=%s " % client_id), b.log()
    finally:
        c.close()


def test_close_frame_from_a_client_that_keeps_tcp_open_does_not_pin_the_session(any_ws):
    """A client sends a WebSocket close frame but never closes its TCP side. The broker
    answers the close and shuts down its sending side; the session must still end, at the
    latest when its keep-alive (1 s here) runs out."""
    b, tcp, port, ctx = any_ws
    c = WsClient(port, tls_ctx=ctx)
    client_id = unique("half-closed")
    try:
        c.connect(client_id, keep_alive=1)
        c.send(frame(OP_CLOSE, struct.pack("!H", 1000)))
        assert c.closed_within(5)
        # The socket stays open on our side from here on.
        assert b.wait_for_log(r"disconnected client_id=%s " % client_id, timeout=5), b.log()
    finally:
        c.close()


def test_keep_alive_ends_a_silent_client(any_ws):
    b, tcp, port, ctx = any_ws
    c = WsClient(port, tls_ctx=ctx)
    client_id = unique("silent")
    try:
        c.connect(client_id, keep_alive=1)
        began = time.monotonic()
        assert c.closed_within(5)
        assert time.monotonic() - began < 4
        assert b.wait_for_log(r"disconnected client_id=%s " % client_id)
    finally:
        c.close()


def test_mqtt_disconnect_over_ws(make_broker):
    b, tcp, port = ws_broker(make_broker)
    c = WsClient(port)
    client_id = unique("bye")
    try:
        c.connect(client_id, will=("ws/will", b"w", 0, False))
        c.send_binary(rawmqtt.disconnect())
        assert c.closed_within(5)
        assert b.wait_for_log(r"disconnected client_id=%s " % client_id)
    finally:
        c.close()


def test_mqttv31_subprotocol(make_broker):
    b, tcp, port = ws_broker(make_broker)
    c = WsClient(port, protocols=("mqttv3.1",))
    try:
        assert c.subprotocol == "mqttv3.1"
    finally:
        c.close()
    c = WsClient(port, protocols=("chat", "mqtt"))
    try:
        assert c.subprotocol == "mqtt"       # the first of ours that the client offers
        c.connect(unique("chat-then-mqtt"))
    finally:
        c.close()


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("protocols", [(), ("chat",), ("mqtt5", "MQTT")],
                         ids=["none", "other", "near-misses"])
def test_upgrade_without_the_mqtt_subprotocol_is_400(make_broker, pki, protocols):
    b, tcp, port = ws_broker(make_broker)
    status, headers, body = http_upgrade(port, "/mqtt", protocols)
    assert status == 400, (status, headers, body)
    assert b"subprotocol" in body
    assert b.wait_for_log(r"refused remote=\S+ reason=WebSocket upgrade without the mqtt "
                          r"subprotocol transport=ws")
    # wss answers the same way, inside TLS.
    b2, _, wss = wss_broker(make_broker, pki)
    status, _, _ = http_upgrade(wss, "/mqtt", protocols, tls_ctx=tlsutil.python_client_context(pki))
    assert status == 400
    assert b2.wait_for_log(r"subprotocol transport=wss")


@pytest.mark.parametrize("path", ["/", "/mqt", "/mqtt/", "/MQTT", "/other"])
def test_upgrade_on_a_wrong_path_is_404(make_broker, path):
    b, tcp, port = ws_broker(make_broker)
    status, headers, body = http_upgrade(port, path)
    assert status == 404, (status, headers)
    assert b"/mqtt" in body
    assert b.wait_for_log(r"refused remote=\S+ reason=not a WebSocket upgrade on /mqtt "
                          r"transport=ws")


def test_plain_http_get_is_404(make_broker):
    b, tcp, port = ws_broker(make_broker)
    status, headers, body = http_upgrade(
        port, None, raw_request=b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 404


def test_plain_mqtt_to_a_ws_port_is_closed(make_broker):
    b, tcp, port = ws_broker(make_broker)
    c = rawmqtt.RawClient(port)
    try:
        c.send(rawmqtt.connect(unique("plain-on-ws")))
        assert c.closed_within(5)
    finally:
        c.close()
    assert b.wait_for_log(r"refused remote=\S+ reason=bad HTTP request: .* transport=ws")
    tcp_pub(tcp, unique("after"), "x")


@pytest.mark.parametrize("sent", [b"", b"GET /mqtt HTTP/1.1\r\nHost: x\r\n"],
                         ids=["nothing", "unfinished-head"])
def test_upgrade_that_never_finishes_is_closed(make_broker, sent):
    b, tcp, port = ws_broker(make_broker, "--connect_timeout", "1")
    s = socket.create_connection((HOST, port), timeout=5)
    began = time.monotonic()
    if sent:
        s.sendall(sent)
    s.settimeout(5)
    try:
        assert s.recv(4096) == b""
    except ConnectionResetError:
        pass
    took = time.monotonic() - began
    s.close()
    assert 0.5 <= took < 4, "closed after %.2fs, connect_timeout is 1s" % took
    assert b.wait_for_log(r"refused remote=\S+ reason=no HTTP request in time transport=ws")


def test_upgraded_but_no_connect_is_closed(make_broker):
    b, tcp, port = ws_broker(make_broker, "--connect_timeout", "1")
    c = WsClient(port)
    try:
        began = time.monotonic()
        assert c.closed_within(4)
        assert time.monotonic() - began < 4
    finally:
        c.close()


def test_oversized_frame_closes_only_that_connection(make_broker):
    """read_message_max is 2 * max_packet_size + 1024 = 3024 bytes here."""
    b, tcp, port = ws_broker(make_broker, "--max_packet_size", "1000")
    topic = unique("ws/big")
    bystander = WsClient(port).connect(unique("bystander"))
    big = WsClient(port).connect(unique("big"))
    try:
        bystander.send_binary(rawmqtt.subscribe(1, [(topic, 0)]))
        bystander.expect(rawmqtt.SUBACK)
        big.send_binary(b"\x30" + os.urandom(10 * 1024 - 1))     # a 10 KB binary frame
        assert big.closed_within(5)
        if big.control:
            opcode, payload = big.control[-1]
            assert opcode == OP_CLOSE and payload[:2] == struct.pack("!H", 1009), big.control
        # Others are unaffected.
        tcp_pub(tcp, topic, "still fine")
        p = bystander.expect(rawmqtt.PUBLISH)
        assert p.payload == b"still fine"
        # Just inside the limit: three 900-byte packets in one 2.7 KB frame are accepted.
        bystander.send_binary(b"".join(rawmqtt.publish(topic, bytes(890), qos=0)
                                       for _ in range(3)))
        assert [bystander.expect(rawmqtt.PUBLISH).payload for _ in range(3)] == [bytes(890)] * 3
    finally:
        big.close()
        bystander.close()


def test_frame_header_announcing_a_huge_length_is_closed_at_once(make_broker):
    b, tcp, port = ws_broker(make_broker, "--max_packet_size", "1000")
    c = WsClient(port).connect(unique("huge"))
    try:
        # 127 => a 64-bit length: 1 TB announced, 4 mask bytes, nothing else.
        c.send(bytes([0x80 | OP_BINARY, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + os.urandom(4))
        assert c.closed_within(3)
    finally:
        c.close()


def test_oversized_fragmented_message_is_closed(make_broker):
    b, tcp, port = ws_broker(make_broker, "--max_packet_size", "1000")
    c = WsClient(port).connect(unique("fragbig"))
    try:
        try:
            for i in range(5):            # 5 x 1000 bytes in one message > 3024
                c.send(frame(OP_CONT if i else OP_BINARY, b"\x30" * 1000, fin=False))
        except (BrokenPipeError, ConnectionResetError):
            return                        # closed before we were done: as it should
        assert c.closed_within(3)
    finally:
        c.close()


def test_text_frame_closes_the_connection(make_broker):
    """[MQTT-6.0.0-1] MQTT goes in binary frames; a text data frame closes the connection."""
    b, tcp, port = ws_broker(make_broker)
    c = WsClient(port)
    try:
        c.send(frame(OP_TEXT, rawmqtt.connect(unique("text"))))
        assert c.closed_within(3), "a text frame was served (got %r)" % c.opcodes
    finally:
        c.close()


def test_unmasked_client_frame_closes_the_connection(make_broker):
    """RFC 6455 5.1: a server closes the connection on an unmasked client frame."""
    b, tcp, port = ws_broker(make_broker)
    c = WsClient(port)
    try:
        c.send(frame(OP_BINARY, rawmqtt.connect(unique("unmasked")), mask=False))
        assert c.closed_within(3)
    finally:
        c.close()
