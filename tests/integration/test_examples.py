"""The programs in examples/, run as built, each on free loopback ports, each checked from real
clients, each stopped with SIGINT or SIGTERM (a clean exit 0 after "stopped").

- gmqtt_server: the Go example of Gmqtt's README in C++ (TCP + TLS listeners, auth and ACL
  hooks);
- async_auth: an on_connect hook that awaits a (simulated) remote lookup;
- acl_hook: Gmqtt's OnSubscribe example (root: any QoS, others: at most QoS 1);
- publish_policy: Gmqtt's OnPublish example (a subscribe-only user, QoS 2 dropped) and a
  publish-only user;
- rate_limiter: a token bucket per address on on_accept;
- libpayload_limit.so: a plugin built as a shared object, loaded by the stock binary.
"""
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import rawmqtt
from conftest import coromq_binary
from mqttclients import (MosquittoSub, mosquitto_pub, raw_connect, raw_next, raw_publish_qos1,
                         raw_subscribe, unique)

BUILD = Path(coromq_binary()).resolve().parents[1]
EXAMPLES = BUILD / "examples"
STARTED = re.compile(r"started on (.*)$")


class Example:
    """An example program, started and waited for until it prints its start-up line."""

    def __init__(self, name, *args):
        path = EXAMPLES / name
        assert path.exists(), "%s not built" % path
        self.proc = subprocess.Popen([str(path), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = []
        self.ports = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            m = STARTED.search(line)
            if m:
                self.ports = [int(u.rsplit(":", 1)[1]) for u in m.group(1).split(", ")]
                break
        if not self.ports:
            self.proc.kill()
            raise AssertionError("%s did not start:\n%s%s" % (name, "\n".join(self.lines),
                                                             self.proc.stdout.read()))
        self.port = self.ports[0]
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self, sig=signal.SIGTERM):
        """Signals the program; asserts a graceful stop (exit 0, "stopped")."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("example did not stop:\n" + "\n".join(self.lines))
        self._reader.join(timeout=2)
        out = "\n".join(self.lines)
        assert self.proc.returncode == 0, out
        assert "stopped" in out, out
        assert "runtime error" not in out and "AddressSanitizer" not in out, out


@pytest.fixture
def example():
    """Factory: example(NAME, ARGS...). Stops each one with SIGTERM at the end (a test may
    stop one itself, with another signal)."""
    started = []

    def start(name, *args):
        e = Example(name, *args)
        started.append(e)
        return e

    yield start
    for e in started:
        e.stop()


def loopback(port=0):
    return ["--listener", "mqtt://127.0.0.1:%d" % port]


def connack(port, **kw):
    c = rawmqtt.RawClient(port)
    try:
        return c.connect(unique("c"), **kw).body[1]
    finally:
        c.close()


# --- gmqtt_server: the Go example ---------------------------------------------------------------

@pytest.fixture
def certificate(tmp_path):
    """A throw-away self-signed certificate for localhost / 127.0.0.1."""
    crt, key = tmp_path / "server.crt", tmp_path / "server.key"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(crt),
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return crt, key


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_gmqtt_server_tcp_and_tls_with_hooks(example, certificate, sig):
    crt, key = certificate
    e = example("gmqtt_server", "--tcp", "127.0.0.1:0", "--tls", "127.0.0.1:0",
                "--cert", str(crt), "--key", str(key))
    tcp, tls = e.ports
    assert tcp != tls
    # OnConnect: authentication.
    assert connack(tcp, username="root", password="root-secret") == 0
    assert connack(tcp, username="root", password="wrong") == 0x04
    assert connack(tcp) == 0x04
    # OnSubscribe: root gets what it asks for, others at most QoS 1.
    root = raw_connect(tcp, unique("root"), username="root", password="root-secret")
    assert raw_subscribe(root, "#", qos=2) == [2]
    alice = raw_connect(tcp, unique("alice"), username="alice", password="alice-secret")
    assert raw_subscribe(alice, "news/#", qos=2) == [1]
    # The TLS listener serves the same broker.
    mosquitto_pub(tls, "news/tls", "over tls", qos=1,
                  extra=["--cafile", str(crt), "--insecure", "-u", "alice", "-P", "alice-secret"])
    got = alice.expect(rawmqtt.PUBLISH)
    assert (got.topic, got.payload, got.qos) == ("news/tls", b"over tls", 1)
    got = root.expect(rawmqtt.PUBLISH)
    assert (got.topic, got.qos) == ("news/tls", 1)
    # A graceful stop closes the clients.
    e.stop(sig)
    assert alice.closed_within(5) and root.closed_within(5)


def test_gmqtt_server_fails_clearly_without_its_certificate(tmp_path):
    r = subprocess.run([str(EXAMPLES / "gmqtt_server"), "--tcp", "127.0.0.1:0", "--tls",
                        "127.0.0.1:0", "--cert", str(tmp_path / "none.crt"), "--key",
                        str(tmp_path / "none.key")], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "none.crt" in r.stderr


# --- async_auth ---------------------------------------------------------------------------------

def test_async_auth_checks_credentials_after_a_remote_lookup(example):
    e = example("async_auth", *loopback(), "--lookup_ms", "300", "--user", "alice:secret",
                "--user", "bob:hunter2")
    t0 = time.monotonic()
    assert connack(e.port, username="alice", password="secret") == 0
    assert time.monotonic() - t0 >= 0.29
    assert connack(e.port, username="bob", password="hunter2") == 0
    assert connack(e.port, username="alice", password="hunter2") == 0x04
    assert connack(e.port) == 0x05
    topic = unique("t")
    sub = MosquittoSub(e.port, topic, extra=["-u", "bob", "-P", "hunter2"])
    sub.wait_subscribed()
    mosquitto_pub(e.port, topic, "hi", extra=["-u", "alice", "-P", "secret"])
    assert sub.finish()[1] == [(topic, 0, 0, "hi")]


def test_async_auth_lookups_overlap_on_a_single_thread(example):
    """Ten CONNECTs each awaiting a 1 s lookup, one I/O thread: all answered in about 1 s."""
    e = example("async_auth", *loopback(), "--threads", "1", "--lookup_ms", "1000",
                "--user", "alice:secret")
    clients = [rawmqtt.RawClient(e.port) for _ in range(10)]
    t0 = time.monotonic()
    for c in clients:
        c.send(rawmqtt.connect(unique("c"), username="alice", password="secret"))
    for c in clients:
        assert c.expect(rawmqtt.CONNACK, timeout=10).body[1] == 0
    elapsed = time.monotonic() - t0
    assert 0.95 <= elapsed < 3.0, elapsed
    for c in clients:
        c.close()


def test_async_auth_other_clients_flow_while_a_lookup_is_pending(example):
    e = example("async_auth", *loopback(), "--threads", "1", "--lookup_ms", "2000",
                "--user", "alice:secret")
    fast = raw_connect(e.port, unique("fast"), username="alice", password="secret")
    assert raw_subscribe(fast, "echo", qos=0) == [0]
    pending = rawmqtt.RawClient(e.port)
    t0 = time.monotonic()
    pending.send(rawmqtt.connect(unique("slow"), username="alice", password="secret"))
    for i in range(10):
        fast.send(rawmqtt.publish("echo", "m%d" % i))
        assert fast.expect(rawmqtt.PUBLISH, timeout=1).payload == b"m%d" % i
    assert time.monotonic() - t0 < 1.5
    assert pending.expect(rawmqtt.CONNACK, timeout=10).body[1] == 0
    assert time.monotonic() - t0 >= 1.9
    pending.close()
    fast.close()


# --- acl_hook -----------------------------------------------------------------------------------

def test_acl_hook_root_any_qos_others_at_most_qos_1(example):
    e = example("acl_hook", *loopback())
    root = raw_connect(e.port, unique("r"), username="root")
    assert raw_subscribe(root, "a/#", qos=2) == [2]
    assert raw_subscribe(root, "b/#", qos=0, packet_id=2) == [0]
    user = raw_connect(e.port, unique("u"), username="alice")
    assert raw_subscribe(user, "a/#", qos=2) == [1]
    assert raw_subscribe(user, "b/#", qos=0, packet_id=2) == [0]
    anon = raw_connect(e.port, unique("n"))
    assert raw_subscribe(anon, "a/#", qos=2) == [1]
    # The granted QoS is what the subscriber gets.
    mosquitto_pub(e.port, "a/x", "m", qos=2)
    assert root.expect(rawmqtt.PUBLISH).qos == 2
    assert user.expect(rawmqtt.PUBLISH).qos == 1
    for c in (root, user, anon):
        c.close()


# --- publish_policy -----------------------------------------------------------------------------

def test_publish_policy_the_seed_on_publish_example(example):
    e = example("publish_policy", *loopback())
    watcher = raw_connect(e.port, unique("w"))
    assert raw_subscribe(watcher, "t/#", qos=2) == [2]
    c = raw_connect(e.port, unique("p"), username="alice")
    raw_publish_qos1(c, "t/1", "qos1")
    got = watcher.expect(rawmqtt.PUBLISH)
    assert (got.topic, got.qos) == ("t/1", 1)
    watcher.send(rawmqtt.ack(rawmqtt.PUBACK, got.packet_id))
    # QoS 2: acknowledged (PUBREC, PUBCOMP) and delivered to no one.
    c.send(rawmqtt.publish("t/2", "qos2", qos=2, packet_id=2))
    c.expect(rawmqtt.PUBREC)
    c.send(rawmqtt.ack(rawmqtt.PUBREL, 2))
    c.expect(rawmqtt.PUBCOMP)
    assert raw_next(watcher, 0.3) is None
    # "subscribeonly" may subscribe, and is disconnected when it publishes.
    so = raw_connect(e.port, unique("so"), username="subscribeonly")
    assert raw_subscribe(so, "t/#", qos=1) == [1]
    so.send(rawmqtt.publish("t/3", "nope", qos=1, packet_id=3))
    assert so.closed_within(3)
    assert raw_next(watcher, 0.3) is None
    # "publishonly" may publish, not subscribe.
    po = raw_connect(e.port, unique("po"), username="publishonly")
    assert raw_subscribe(po, "t/#", qos=1) == [0x80]
    raw_publish_qos1(po, "t/4", "from po")
    assert watcher.expect(rawmqtt.PUBLISH).payload == b"from po"
    for x in (watcher, c, po):
        x.close()


# --- rate_limiter -------------------------------------------------------------------------------

def test_rate_limiter_closes_connections_over_the_rate(example):
    e = example("rate_limiter", *loopback(), "--rate", "2", "--burst", "3")
    allowed = [raw_connect(e.port, unique("c")) for _ in range(3)]   # the burst
    over = rawmqtt.RawClient(e.port)
    over.send(rawmqtt.connect(unique("over")))
    assert over.closed_within(3)                                      # closed, no CONNACK
    time.sleep(0.6)                                                   # one token back
    allowed.append(raw_connect(e.port, unique("later")))
    for c in allowed + [over]:
        c.close()


# --- a plugin built as a shared object ----------------------------------------------------------

def test_shared_object_plugin_loaded_by_the_stock_binary(make_broker):
    plugin = EXAMPLES / "libpayload_limit.so"
    assert plugin.exists(), "%s not built" % plugin
    b = make_broker("--plugin", str(plugin), "--plugin_opt", "payload_limit:max_payload=8",
                    "--plugin_opt", "payload_limit:banned=evil,worse")
    assert b.wait_for_log(r"coromq: plugins: payload_limit \(")
    sub = raw_connect(b.port, unique("sub"))
    assert raw_subscribe(sub, "t", qos=1) == [1]
    pub = raw_connect(b.port, unique("pub"))
    raw_publish_qos1(pub, "t", "x" * 9, packet_id=1)   # too large: acknowledged, dropped
    raw_publish_qos1(pub, "t", "x" * 8, packet_id=2)
    got = sub.expect(rawmqtt.PUBLISH)
    assert got.payload == b"x" * 8
    assert b.wait_for_log(r"payload_limit: dropped 9 bytes from pub-")
    c = rawmqtt.RawClient(b.port)
    assert c.connect("evil").body[1] == 0x05
    c.close()
    sub.close()
    pub.close()


def test_shared_object_plugin_refuses_unknown_options():
    r = subprocess.run([coromq_binary(), "--listener", "mqtt://127.0.0.1:0", "--plugin",
                        str(EXAMPLES / "libpayload_limit.so"), "--plugin_opt",
                        "payload_limit:max_size=3"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "unknown option 'max_size' (max_payload, banned)" in r.stderr
