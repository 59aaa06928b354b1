"""Clients we did not write, wrapped for deterministic tests: paho-mqtt 1.6.1 in its own network
thread, mosquitto_sub/mosquitto_pub as bounded subprocesses, plus small rawmqtt shortcuts.

Every wait here is for a condition (CONNACK, SUBACK, a message, a closed socket) with a
deadline; nothing sleeps blindly.
"""
import queue
import socket
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as mqtt

import rawmqtt

HOST = "127.0.0.1"


def unique(prefix: str) -> str:
    """A client id or topic segment no other test (or earlier run) uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


class Paho:
    """One paho-mqtt client. Never reconnects on its own (a reconnect would hide what a test
    is looking for, and would fight a takeover)."""

    def __init__(self, port, client_id, clean_session=True, keepalive=60, will=None,
                 protocol=mqtt.MQTTv311):
        kw = {} if protocol == mqtt.MQTTv5 else {"clean_session": clean_session}
        self.client = mqtt.Client(client_id=client_id, protocol=protocol,
                                  reconnect_on_failure=False, **kw)
        self.port, self.keepalive, self.protocol = port, keepalive, protocol
        self.client_id = client_id
        self.messages = queue.Queue()
        self._cond = threading.Condition()
        self._acked = {}            # mid -> granted QoS list (SUBACK) or None (UNSUBACK)
        self.connack = None         # (session_present, rc)
        self.disconnect_rc = None
        self.disconnected = threading.Event()
        if will:
            self.client.will_set(*will)   # topic, payload, qos, retain
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_unsubscribe = self._on_unsubscribe
        self.client.on_message = lambda c, u, msg: self.messages.put(msg)
        self.client.on_disconnect = self._on_disconnect

    # Callbacks (paho's network thread).
    def _on_connect(self, client, userdata, flags, rc, *v5):
        with self._cond:
            rc = rc.value if hasattr(rc, "value") else int(rc)     # 5.0: ReasonCodes
            self.connack = (bool(flags.get("session present")), rc)
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted, *v5):
        with self._cond:
            self._acked[mid] = [int(g) if not hasattr(g, "value") else g.value for g in granted]
            self._cond.notify_all()

    def _on_unsubscribe(self, client, userdata, mid, *v5):
        with self._cond:
            self._acked[mid] = None
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, rc, *v5):
        self.disconnect_rc = rc
        self.disconnected.set()

    def _wait(self, predicate, timeout, what):
        with self._cond:
            assert self._cond.wait_for(predicate, timeout), "paho %s: no %s within %.1fs" % (
                self.client_id, what, timeout)

    def connect(self, timeout=5.0) -> bool:
        """Connects and waits for CONNACK; asserts it accepted; returns session present."""
        self.client.connect(HOST, self.port, self.keepalive)
        self.client.loop_start()
        self._wait(lambda: self.connack is not None, timeout, "CONNACK")
        assert self.connack[1] == 0, "CONNACK refused: %r" % (self.connack,)
        return self.connack[0]

    def subscribe(self, topic, qos=0, timeout=5.0):
        """Subscribes and waits for SUBACK; returns the granted QoS list."""
        rc, mid = self.client.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS
        self._wait(lambda: mid in self._acked, timeout, "SUBACK")
        return self._acked[mid]

    def unsubscribe(self, topic, timeout=5.0):
        rc, mid = self.client.unsubscribe(topic)
        assert rc == mqtt.MQTT_ERR_SUCCESS
        self._wait(lambda: mid in self._acked, timeout, "UNSUBACK")

    def publish(self, topic, payload, qos=0, retain=False, timeout=5.0):
        """Publishes and waits until paho is done with it (PUBACK / PUBCOMP for QoS 1 / 2)."""
        info = self.client.publish(topic, payload, qos, retain)
        info.wait_for_publish(timeout)
        assert info.is_published(), "paho %s: publish to %s not acknowledged" % (
            self.client_id, topic)

    def expect_message(self, timeout=5.0):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("paho %s: no message within %.1fs" % (self.client_id, timeout))

    def expect_messages(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        return [self.expect_message(max(0.01, deadline - time.monotonic())) for _ in range(n)]

    def expect_no_message(self, within=0.5):
        try:
            msg = self.messages.get(timeout=within)
        except queue.Empty:
            return
        raise AssertionError("paho %s: unexpected message %s %r" % (self.client_id, msg.topic,
                                                                   msg.payload))

    def wait_disconnected(self, timeout=5.0) -> bool:
        return self.disconnected.wait(timeout)

    def disconnect(self, timeout=5.0):
        """Sends DISCONNECT and waits until paho has closed the socket."""
        self.client.disconnect()
        assert self.disconnected.wait(timeout), "paho %s did not disconnect" % self.client_id
        self.client.loop_stop()

    def abort(self):
        """Closes the TCP connection without DISCONNECT (as a crashed client would)."""
        sock = self.client.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        self.disconnected.wait(5.0)
        self.client.loop_stop()

    def close(self):
        """Cleanup for `finally`: disconnects if still connected, stops the thread."""
        if self.client.is_connected():
            self.client.disconnect()
            self.disconnected.wait(2.0)
        self.client.loop_stop()


class MosquittoSub:
    """mosquitto_sub in debug mode, so the test can wait for its SUBACK before publishing.
    Message lines are printed as 'MSG <topic> <retain> <qos> <payload>'."""

    def __init__(self, port, topic, qos=0, count=1, wait=10, extra=()):
        # stdbuf: mosquitto_sub's debug lines are block-buffered into a pipe otherwise.
        cmd = ["stdbuf", "-oL", "mosquitto_sub", "-d", "-p", str(port), "-h", HOST, "-t", topic,
               "-q", str(qos), "-C", str(count), "-W", str(wait), "-F", "MSG %t %r %q %p"] + list(extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self.lines = []
        self.messages = []
        self.subscribed = threading.Event()
        self.connack = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if "received CONNACK" in line:
                self.connack = line
            if "received SUBACK" in line:
                self.subscribed.set()
            if line.startswith("MSG "):
                _, topic, retain, qos, payload = (line.split(" ", 4) + [""])[:5]
                self.messages.append((topic, int(retain), int(qos), payload))

    def wait_subscribed(self, timeout=5.0):
        assert self.subscribed.wait(timeout), "mosquitto_sub: no SUBACK\n" + "\n".join(self.lines)
        return self

    def finish(self, timeout=15.0):
        """Waits for mosquitto_sub to exit; returns (exit code, messages)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("mosquitto_sub did not exit\n" + "\n".join(self.lines))
        self._reader.join(timeout=2)
        return self.proc.returncode, self.messages

    def kill(self, sig=None):
        if self.proc.poll() is None:
            if sig is None:
                self.proc.kill()
            else:
                self.proc.send_signal(sig)
            self.proc.wait(timeout=5)
        self._reader.join(timeout=2)


def mosquitto_pub(port, topic, message, qos=0, retain=False, extra=(), timeout=10):
    cmd = ["mosquitto_pub", "-p", str(port), "-h", HOST, "-t", topic, "-m", message,
           "-q", str(qos)] + (["-r"] if retain else []) + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, "mosquitto_pub failed (%d): %s" % (r.returncode, r.stderr)


def raw_connect(port, client_id, **kw) -> rawmqtt.RawClient:
    """A RawClient whose CONNECT was accepted (return code 0)."""
    c = rawmqtt.RawClient(port)
    ack = c.connect(client_id, **kw)
    assert ack.body[1] == 0, "CONNACK refused: %r" % ack
    return c


def raw_subscribe(c: rawmqtt.RawClient, topic_filter, qos=0, packet_id=1):
    """Subscribes and returns the SUBACK's return codes."""
    c.send(rawmqtt.subscribe(packet_id, [(topic_filter, qos)]))
    ack = c.expect(rawmqtt.SUBACK)
    assert ack.packet_id == packet_id
    return list(ack.body[2:])


def raw_publish_qos1(c: rawmqtt.RawClient, topic, payload, packet_id=1, retain=False):
    """Publishes QoS 1 and waits for the PUBACK (so the broker has routed it)."""
    c.send(rawmqtt.publish(topic, payload, qos=1, packet_id=packet_id, retain=retain))
    ack = c.expect(rawmqtt.PUBACK)
    assert ack.packet_id == packet_id


def raw_next(c: rawmqtt.RawClient, within=0.5):
    """The next packet within `within` seconds, or None when the broker stays silent."""
    try:
        return c.recv(within)
    except socket.timeout:
        return None


def wait_log_count(broker, pattern, count, timeout=5.0) -> bool:
    """True once at least `count` broker log lines match `pattern` (conftest's wait_for_log
    is satisfied by the first, which is not enough when a client connects more than once)."""
    import re
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for line in list(broker.log_lines) if rx.search(line)) >= count:
            return True
        time.sleep(0.02)
    return False
