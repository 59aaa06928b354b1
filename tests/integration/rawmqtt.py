"""A deliberately low-level MQTT 3.1.1/5.0 client for tests: it sends exactly the bytes a test
asks for (valid or not) and reads packets back one at a time, so a test can check what the
broker answers to anything, and can withhold acknowledgements on purpose.

Independent of coromq's own codec (written from the spec), so it cross-checks it.
"""
import socket
import struct
import time

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_string(s) -> bytes:
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack("!H", len(b)) + b


def packet(ptype: int, flags: int, body: bytes) -> bytes:
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def connect(client_id="", clean=True, keep_alive=60, will=None, username=None, password=None,
            version=4, properties=b"") -> bytes:
    """will: (topic, payload, qos, retain)."""
    flags = 0x02 if clean else 0
    payload = mqtt_string(client_id)
    if will:
        topic, message, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        if version == 5:
            payload += varint(0)
        payload += mqtt_string(topic) + mqtt_string(message)
    if username is not None:
        flags |= 0x80
        payload += mqtt_string(username)
    if password is not None:
        flags |= 0x40
        payload += mqtt_string(password)
    name = "MQIsdp" if version == 3 else "MQTT"
    var = mqtt_string(name) + bytes([version, flags]) + struct.pack("!H", keep_alive)
    if version == 5:
        var += varint(len(properties)) + properties
    return packet(CONNECT, 0, var + payload)


def publish(topic, payload=b"", qos=0, retain=False, dup=False, packet_id=None, version=4) -> bytes:
    if isinstance(payload, str):
        payload = payload.encode()
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = mqtt_string(topic)
    if qos:
        body += struct.pack("!H", packet_id if packet_id is not None else 1)
    if version == 5:
        body += varint(0)
    return packet(PUBLISH, flags, body + payload)


def subscribe(packet_id, filters, version=4) -> bytes:
    """filters: list of (filter, options byte)."""
    body = struct.pack("!H", packet_id)
    if version == 5:
        body += varint(0)
    for f, opts in filters:
        body += mqtt_string(f) + bytes([opts])
    return packet(SUBSCRIBE, 0x02, body)


def unsubscribe(packet_id, filters, version=4) -> bytes:
    body = struct.pack("!H", packet_id)
    if version == 5:
        body += varint(0)
    for f in filters:
        body += mqtt_string(f)
    return packet(UNSUBSCRIBE, 0x02, body)


def ack(ptype, packet_id) -> bytes:
    return packet(ptype, 0x02 if ptype == PUBREL else 0, struct.pack("!H", packet_id))


def pingreq() -> bytes:
    return packet(PINGREQ, 0, b"")


def disconnect() -> bytes:
    return packet(DISCONNECT, 0, b"")


class Packet:
    """A received packet: type, flags, body; PUBLISH fields parsed for convenience."""

    def __init__(self, ptype, flags, body, version=4):
        self.type, self.flags, self.body = ptype, flags, body
        self.packet_id = None
        if ptype == PUBLISH:
            self.dup = bool(flags & 0x08)
            self.qos = (flags >> 1) & 3
            self.retain = bool(flags & 1)
            n = struct.unpack("!H", body[:2])[0]
            self.topic = body[2:2 + n].decode()
            rest = body[2 + n:]
            if self.qos:
                self.packet_id = struct.unpack("!H", rest[:2])[0]
                rest = rest[2:]
            if version == 5:
                plen, used = _read_varint(rest)
                rest = rest[used + plen:]
            self.payload = rest
        elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK) and len(body) >= 2:
            self.packet_id = struct.unpack("!H", body[:2])[0]

    def __repr__(self):
        return "Packet(type=%d, flags=%#x, body=%r)" % (self.type, self.flags, self.body[:64])


def _read_varint(b: bytes):
    value, shift = 0, 0
    for i, byte in enumerate(b[:4]):
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i + 1
    raise ValueError("bad varint")


class Closed(Exception):
    """The broker closed the connection."""


class RawClient:
    def __init__(self, port, host="127.0.0.1", timeout=5.0, version=4):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.version = version

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk

    def recv(self, timeout=5.0) -> Packet:
        """The next packet; raises Closed when the broker closes, socket.timeout on silence."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                try:
                    length, used = _read_varint(self.buf[1:])
                    total = 1 + used + length
                    if len(self.buf) >= total:
                        first = self.buf[0]
                        body = self.buf[1 + used:total]
                        self.buf = self.buf[total:]
                        return Packet(first >> 4, first & 0x0F, body, self.version)
                except ValueError:
                    pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("no packet within %.1fs" % timeout)
            self._fill(remaining)

    def expect(self, ptype, timeout=5.0) -> Packet:
        p = self.recv(timeout)
        assert p.type == ptype, "expected packet type %d, got %r" % (ptype, p)
        return p

    def connect(self, client_id="", **kw) -> Packet:
        """Sends CONNECT and returns the CONNACK."""
        self.send(connect(client_id, version=self.version, **kw))
        return self.expect(CONNACK)

    def closed_within(self, timeout=5.0) -> bool:
        """True when the broker closes the connection within `timeout` (packets are skipped)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.recv(max(0.01, deadline - time.monotonic()))
        except Closed:
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
