"""Abuse of resources rather than of the protocol: lengths declared but never sent, bytes sent
one at a time, connections that never say CONNECT, clients that never read, and a storm of
take-overs. After each, the broker is still up, serves a new client, has closed what it had to,
and its memory (VmRSS) stayed bounded.

Every wait is bounded; each test takes a few seconds at most.
"""
import os
import selectors
import socket
import struct
import threading
import time
import uuid

import pytest

import rawmqtt
from rawmqtt import (CONNACK, PINGRESP, PUBACK, PUBLISH, SUBACK, Closed, RawClient, mqtt_string)

MIB = 1024 * 1024


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def rss_bytes(broker):
    with open("/proc/%d/status" % broker.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for coromq")


def rss_slack(broker):
    """Extra RSS to allow under AddressSanitizer, which keeps freed memory in quarantine
    (256 MiB by default) instead of reusing it: a bounded broker that churns through memory
    grows by up to that much there."""
    with open("/proc/%d/maps" % broker.proc.pid) as f:
        return 256 * MIB if "libasan" in f.read() else 0


def open_fds(broker):
    return len(os.listdir("/proc/%d/fd" % broker.proc.pid))


def wait_until(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def assert_serves(broker):
    """The broker is up, and a new client can connect, subscribe and receive (QoS 1)."""
    assert broker.proc.poll() is None, "coromq died:\n" + broker.log()
    topic = unique("healthy") + "/t"
    sub, pub = RawClient(broker.port), RawClient(broker.port)
    try:
        assert sub.connect(unique("h-sub")).body == b"\x00\x00"
        sub.send(rawmqtt.subscribe(1, [(topic, 1)]))
        assert sub.expect(SUBACK).body == b"\x00\x01\x01"
        assert pub.connect(unique("h-pub")).body == b"\x00\x00"
        pub.send(rawmqtt.publish(topic, b"alive", qos=1, packet_id=1))
        assert pub.expect(PUBACK).packet_id == 1
        p = sub.expect(PUBLISH)
        assert (p.topic, p.payload, p.qos) == (topic, b"alive", 1)
        sub.send(rawmqtt.ack(PUBACK, p.packet_id))
        sub.send(rawmqtt.disconnect())
        pub.send(rawmqtt.disconnect())
    finally:
        sub.close()
        pub.close()


def closed_silently(client, timeout):
    try:
        client.recv(timeout)
    except Closed:
        return True
    except socket.timeout:
        return False
    return False


class Reader(threading.Thread):
    """Reads everything a client receives and counts PUBLISH packets per topic, fast enough
    to keep up with a flood (no per-packet copies of the whole buffer)."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.counts = {}
        self.acked = 0
        self.stop = False
        self.error = None

    def run(self):
        sock = self.client.sock
        sock.settimeout(0.2)
        buf = bytearray(self.client.buf)
        pos = 0
        while not self.stop:
            try:
                chunk = sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError as e:
                self.error = e
                return
            if not chunk:
                return
            buf += chunk
            while True:
                if len(buf) - pos < 2:
                    break
                length, shift, i = 0, 0, pos + 1
                while i < len(buf) and i < pos + 5:
                    length |= (buf[i] & 0x7F) << shift
                    shift += 7
                    i += 1
                    if not buf[i - 1] & 0x80:
                        break
                else:
                    break
                if len(buf) - i < length:
                    break
                first = buf[pos]
                if first >> 4 == PUBLISH:
                    n = struct.unpack_from("!H", buf, i)[0]
                    topic = bytes(buf[i + 2:i + 2 + n]).decode()
                    self.counts[topic] = self.counts.get(topic, 0) + 1
                    if (first >> 1) & 3 == 1:
                        pid = bytes(buf[i + 2 + n:i + 4 + n])
                        sock.sendall(b"\x40\x02" + pid)
                        self.acked += 1
                pos = i + length
            if pos > (1 << 20):
                del buf[:pos]
                pos = 0


# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["before CONNECT", "after CONNECT"])
def test_huge_declared_length_closes_without_allocating(make_broker, where):
    """200 MB declared against --max_packet_size 10000: the connection is closed after the
    fixed header, and nothing near the declared size is ever allocated (20 times over)."""
    broker = make_broker("--max_packet_size", "10000")
    before = rss_bytes(broker)
    declared = 200 * 1000 * 1000
    for _ in range(20):
        c = RawClient(broker.port)
        if where == "after CONNECT":
            assert c.connect(unique("big")).body == b"\x00\x00"
            header = b"\x30" + rawmqtt.varint(declared)
        else:
            header = b"\x10" + rawmqtt.varint(declared)
        c.send(header + mqtt_string("a/b") + b"x" * 4000)   # and some body, which is ignored
        assert closed_silently(c, 3), "not closed after declaring %d bytes" % declared
        c.close()
    assert rss_bytes(broker) - before < 8 * MIB + rss_slack(broker), (before, rss_bytes(broker))
    assert_serves(broker)


def test_max_packet_size_boundary(make_broker):
    """With --max_packet_size 10000, a PUBLISH of exactly 10000 bytes (fixed header included)
    is delivered; one of 10001 bytes closes the connection."""
    broker = make_broker("--max_packet_size", "10000")
    topic = unique("edge")
    sub = RawClient(broker.port)
    assert sub.connect(unique("edge-sub")).body == b"\x00\x00"
    sub.send(rawmqtt.subscribe(1, [(topic, 0)]))
    sub.expect(SUBACK)

    def publish_of_size(total):
        # fixed header = 1 + 2 bytes of remaining length (for 128..16383)
        payload = b"p" * (total - 3 - 2 - len(topic))
        data = rawmqtt.publish(topic, payload)
        assert len(data) == total
        return data

    pub = RawClient(broker.port)
    assert pub.connect(unique("edge-pub")).body == b"\x00\x00"
    pub.send(publish_of_size(10000))
    p = sub.expect(PUBLISH)
    assert len(p.payload) == 10000 - 5 - len(topic)
    pub.send(publish_of_size(10001))
    assert closed_silently(pub, 3)
    pub.close()
    with pytest.raises(socket.timeout):
        sub.recv(0.3)                 # the oversized one was not delivered
    sub.close()
    assert_serves(broker)


def test_byte_at_a_time_sender_is_served(broker):
    """CONNECT, SUBSCRIBE and PUBLISH sent one byte per segment with small pauses: the broker
    reassembles them and answers each in full."""
    topic = unique("slow") + "/t"
    other = RawClient(broker.port)
    assert other.connect(unique("other")).body == b"\x00\x00"
    other.send(rawmqtt.subscribe(1, [(topic, 1)]))
    other.expect(SUBACK)

    c = RawClient(broker.port)
    data = (rawmqtt.connect(unique("trickle"), keep_alive=30)
            + rawmqtt.subscribe(5, [(topic, 1)])
            + rawmqtt.publish(topic, b"drip" * 8, qos=1, packet_id=6)
            + rawmqtt.pingreq())
    for b in data:
        c.send(bytes([b]))
        time.sleep(0.002)
    assert c.expect(CONNACK).body == b"\x00\x00"
    assert c.expect(SUBACK).body == b"\x00\x05\x01"
    got = {}
    for _ in range(3):                 # PUBACK, PINGRESP and its own message, in some order
        p = c.recv(3)
        got[p.type] = p
    assert got[PUBACK].packet_id == 6
    assert PINGRESP in got
    assert got[PUBLISH].payload == b"drip" * 8
    p = other.expect(PUBLISH)
    assert (p.topic, p.payload) == (topic, b"drip" * 8)
    c.close()
    other.close()
    assert_serves(broker)


def test_half_open_connections_are_closed_after_connect_timeout(make_broker):
    """500 sockets that never send CONNECT (and 50 that send half of one) with
    --connect_timeout 1: none is closed early, all are closed after about a second, healthy
    clients are served meanwhile, and the broker's descriptors go back to where they were."""
    broker = make_broker("--connect_timeout", "1")
    fds_before = open_fds(broker)
    socks, opened = [], {}
    try:
        for i in range(550):
            s = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
            opened[s] = time.monotonic()
            if i >= 500:
                s.sendall(rawmqtt.connect(unique("half"))[:7])
            socks.append(s)
        started = time.monotonic()
        assert_serves(broker)              # served while 550 sockets wait
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        closed = set()
        early = 0
        deadline = started + 6
        while len(closed) < len(socks) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(64)
                except ConnectionResetError:
                    data = b""
                assert data == b"", "a half-open connection got an answer: %r" % data
                if time.monotonic() - opened[key.fileobj] < 0.9:
                    early += 1
                closed.add(key.fileobj)
                sel.unregister(key.fileobj)
        assert len(closed) == len(socks), "%d of %d still open after 6 s" % (
            len(socks) - len(closed), len(socks))
        assert early == 0, "%d closed before the timeout" % early
        assert wait_until(lambda: open_fds(broker) <= fds_before, 3), (fds_before,
                                                                       open_fds(broker))
        assert wait_until(lambda: broker.log().count("INFO refused remote=") >= 550, 3)
    finally:
        for s in socks:
            s.close()
    assert_serves(broker)


def test_timeouts_are_logged_as_timeouts(make_broker):
    """An operator reading the log can tell a timeout from a network error: a connection
    without CONNECT is refused "no CONNECT in time", a silent client is disconnected
    "keep-alive timeout" (the reasons the watchdog gives)."""
    broker = make_broker("--connect_timeout", "1")
    idle = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
    quiet = RawClient(broker.port)
    assert quiet.connect(unique("quiet"), keep_alive=1).body == b"\x00\x00"
    assert closed_silently(quiet, 4)
    idle.settimeout(4)
    assert idle.recv(1) == b""
    idle.close()
    quiet.close()
    assert broker.wait_for_log(r"INFO refused remote=\S+ reason=", 2)
    assert broker.wait_for_log(r"INFO disconnected client_id=quiet-\S+ .*reason=", 2)
    refused = [l for l in broker.log_lines if "INFO refused remote=" in l]
    gone = [l for l in broker.log_lines if "INFO disconnected client_id=quiet-" in l]
    assert refused[0].endswith("reason=no CONNECT in time"), refused
    assert gone[0].endswith("reason=keep-alive timeout"), gone


def test_stalled_packet_after_connect_hits_keep_alive(broker):
    """After CONNECT with keep-alive 1, half a PUBLISH and then silence: closed after 1.5 s
    [MQTT-3.1.2-24] (a partial packet is not a Control Packet received)."""
    c = RawClient(broker.port)
    assert c.connect(unique("stall"), keep_alive=1).body == b"\x00\x00"
    whole = rawmqtt.publish("a/b", b"x" * 100)
    started = time.monotonic()
    c.send(whole[:20])
    assert closed_silently(c, 4)
    assert 1.2 < time.monotonic() - started < 3.5
    c.close()
    assert_serves(broker)


def test_subscriber_that_never_reads_does_not_stall_others_or_grow_the_broker(broker):
    """A QoS 0 flood (50k messages of 1 KiB) to a subscriber that never reads: the publisher
    is never held up, a reading subscriber gets the flood and the closing QoS 1 message, and
    the broker's memory stays bounded (max_outbox_messages drops for the stalled one)."""
    topic = unique("flood") + "/t"
    end_topic = topic + "/end"
    base = rss_bytes(broker)

    stalled = RawClient(broker.port)     # connects and subscribes, then reads nothing
    stalled.send(rawmqtt.connect(unique("stalled")) + rawmqtt.subscribe(1, [(topic, 0)]))

    reader_client = RawClient(broker.port)
    assert reader_client.connect(unique("reader")).body == b"\x00\x00"
    reader_client.send(rawmqtt.subscribe(1, [(topic, 0), (end_topic, 1)]))
    reader_client.expect(SUBACK)
    reader = Reader(reader_client)
    reader.start()
    time.sleep(0.2)                 # the stalled subscriber's SUBSCRIBE is in

    pub = RawClient(broker.port)
    assert pub.connect(unique("flooder")).body == b"\x00\x00"
    one = rawmqtt.publish(topic, b"m" * 1024)
    n, batch = 50_000, 500
    peak = 0
    started = time.monotonic()
    for i in range(n // batch):
        pub.send(one * batch)
        if i % 10 == 0:
            peak = max(peak, rss_bytes(broker))
    pub.send(rawmqtt.publish(end_topic, b"end", qos=1, packet_id=1) + rawmqtt.pingreq())
    answers = {p.type: p for p in (pub.recv(10), pub.recv(10))}   # in either order
    assert answers[PUBACK].packet_id == 1 and PINGRESP in answers, answers
    flood_seconds = time.monotonic() - started
    assert wait_until(lambda: reader.counts.get(end_topic) == 1, 10), reader.counts
    peak = max(peak, rss_bytes(broker))
    reader.stop = True
    reader.join(2)
    assert flood_seconds < 20
    # QoS 0 may be dropped for a reader that falls behind, but one that reads keeps up.
    assert reader.counts.get(topic, 0) >= n * 0.9, reader.counts
    assert peak - base < 200 * MIB + rss_slack(broker), "RSS grew by %.0f MiB" % (
        (peak - base) / MIB)
    # Now the stalled subscriber reads what was kept for it: whole packets, and fewer than were
    # published (socket buffers + max_outbox_messages; the rest were dropped, not queued).
    late = Reader(stalled)
    late.start()
    seen = -1
    while late.counts.get(topic, 0) != seen:
        seen = late.counts.get(topic, 0)
        time.sleep(1)
    late.stop = True
    assert late.error is None, late.error
    assert 0 < seen < n, "the stalled subscriber got %d of %d" % (seen, n)
    stalled.close()
    pub.close()
    assert_serves(broker)


@pytest.mark.parametrize("kind", ["PINGREQ", "QoS 1 PUBLISH"])
def test_client_that_never_reads_its_answers_does_not_grow_the_broker(broker, kind):
    """A client floods packets that each get an answer (PINGRESP [MQTT-3.12.4-1], PUBACK) and
    never reads one. Once the socket buffers are full the answers have nowhere to go, and the
    broker must push back (stop reading from that client, so its sends block) or drop it,
    rather than queue answers without bound.

    Up to 64 MiB is sent. Passing: the sender is blocked (no progress for 2 s) or
    disconnected, and the broker's RSS grew by less than 200 MiB. Failing: the whole 64 MiB
    went in without a single answer read, or the RSS ran away (the test stops at +400 MiB).
    """
    base = rss_bytes(broker)
    slack = rss_slack(broker)
    c = RawClient(broker.port)
    # (Default socket buffers: a tiny SO_RCVBUF on loopback can stall TCP itself, which would
    # hide what the broker does.)
    assert c.connect(unique("deaf")).body == b"\x00\x00"
    if kind == "PINGREQ":
        chunk = rawmqtt.pingreq() * 100_000
    else:
        chunk = b"".join(rawmqtt.publish("nobody/listens", b"", qos=1, packet_id=i + 1)
                         for i in range(20_000))
    limit = 64 * MIB
    sent = [0]
    outcome = ["sending"]

    def flood():
        try:
            while sent[0] < limit:
                c.sock.sendall(chunk)
                sent[0] += len(chunk)
            outcome[0] = "all sent"
        except OSError:
            if outcome[0] == "sending":
                outcome[0] = "closed by the broker"

    c.sock.settimeout(None)
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    peak, last_sent = 0, -1
    last_progress = started = time.monotonic()
    give_up = 40 if slack else 20      # a sanitized broker fills the socket buffers slowly
    while t.is_alive() and time.monotonic() - started < give_up:
        peak = max(peak, rss_bytes(broker))
        if peak - base > 400 * MIB + slack:
            outcome[0] = "runaway"    # stop before it hurts the machine
            break
        if sent[0] != last_sent:
            last_sent, last_progress = sent[0], time.monotonic()
        elif time.monotonic() - last_progress > 2:
            outcome[0] = "blocked"    # back-pressure: what a bounded broker does
            break
        time.sleep(0.1)
    peak = max(peak, rss_bytes(broker))
    result = outcome[0]
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    t.join(5)
    what = "%s after %.0f MB of %s; RSS grew by %.0f MiB" % (result, sent[0] / 1e6, kind,
                                                            (peak - base) / MIB)
    assert result in ("blocked", "closed by the broker"), what
    assert peak - base < 200 * MIB + slack, what
    assert_serves(broker)


def test_client_id_takeover_storm(broker):
    """200 CONNECTs with one client id from 4 threads at once [MQTT-3.1.4-2]: each gets
    CONNACK 0 and all but one are then disconnected (taken over); exactly one CONNACK says
    "no session" (the first; the others resume it [MQTT-3.2.2-2]); the survivor works; the
    log shows 200 connects and 199 take-overs; every taken-over connection's will went out;
    no descriptor is left behind; a bystander is unaffected."""
    cid = unique("storm")
    will_topic = unique("storm-will") + "/t"
    watcher = RawClient(broker.port)
    assert watcher.connect(unique("watcher")).body == b"\x00\x00"
    watcher.send(rawmqtt.subscribe(1, [(will_topic, 0)]))
    watcher.expect(SUBACK)
    watcher_reader = Reader(watcher)
    watcher_reader.start()
    fds_before = open_fds(broker)

    clients, acks, errors = [], [], []
    lock = threading.Lock()

    def storm(k):
        for i in range(50):
            try:
                c = RawClient(broker.port)
                c.send(rawmqtt.connect(cid, clean=False,
                                       will=(will_topic, b"will %d-%d" % (k, i), 0, False)))
                p = c.expect(CONNACK)
                with lock:
                    clients.append(c)
                    acks.append(p.body)
            except Exception as e:    # noqa: BLE001 - reported below
                with lock:
                    errors.append(repr(e))

    threads = [threading.Thread(target=storm, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    assert len(acks) == 200
    assert all(a[1] == 0 for a in acks), acks
    assert sum(1 for a in acks if a == b"\x00\x00") == 1, "session present must be 0 once"

    def still_open():
        alive = []
        for c in clients:
            try:
                c.sock.setblocking(False)
                data = c.sock.recv(1)
                if data:
                    alive.append(c)
            except BlockingIOError:
                alive.append(c)
            except OSError:
                pass
            finally:
                c.sock.setblocking(True)
        return alive

    assert wait_until(lambda: len(still_open()) == 1, 5), "%d connections left open" % len(
        still_open())
    assert wait_until(lambda: broker.log().count("reason=taken over") == 199, 5)
    assert broker.log().count("INFO connected client_id=%s " % cid) == 200
    assert wait_until(lambda: watcher_reader.counts.get(will_topic, 0) == 199, 5), \
        watcher_reader.counts
    survivor = still_open()[0]
    survivor.sock.settimeout(5)
    survivor.send(rawmqtt.pingreq())
    assert survivor.expect(PINGRESP)
    survivor.send(rawmqtt.disconnect())          # no will for a clean DISCONNECT
    for c in clients:
        c.close()
    assert wait_until(lambda: broker.log().count("disconnected client_id=%s " % cid) == 200, 5)
    assert wait_until(lambda: open_fds(broker) <= fds_before, 5), (fds_before, open_fds(broker))
    time.sleep(0.2)
    assert watcher_reader.counts.get(will_topic, 0) == 199
    watcher_reader.stop = True
    # Drop the persistent session the storm left behind.
    c = RawClient(broker.port)
    assert c.connect(cid, clean=True).body == b"\x00\x00"
    c.send(rawmqtt.disconnect())
    c.close()
    assert_serves(broker)
