"""Configuration: the file's keys are honoured, the command line wins, --listener replaces the
file's listeners, and every mistake stops start-up with a clear message (exit code 2; a port
in use is a run-time failure, exit code 1)."""
import re
import signal
import socket
import subprocess
import threading
import time
import pytest

import rawmqtt
from conftest import ROOT, STARTED, coromq_binary
from mqttclients import (mosquitto_pub, raw_connect, raw_next, raw_publish_qos1, raw_subscribe,
                         unique)

SHIPPED = ROOT / "etc" / "coromq.conf"


def run(*args, timeout=10):
    """Runs coromq to completion (for invocations that must exit by themselves)."""
    return subprocess.run([coromq_binary(), *args], capture_output=True, text=True,
                          timeout=timeout)


def run_must_exit(*args, timeout=5):
    """Runs coromq expecting it to refuse to start. A broker that starts anyway is stopped at
    once and reported."""
    proc = subprocess.Popen([coromq_binary(), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if any("started on" in l for l in list(lines)):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
            reader.join(timeout=2)
            raise AssertionError("coromq started instead of refusing %r:\n%s"
                                 % (args, "".join(lines)))
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        raise AssertionError("coromq neither started nor exited: %r" % (args,))
    reader.join(timeout=2)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.read(),
                                       "".join(lines))


def shipped_keys():
    """The keys etc/coromq.conf sets: the documented set of configuration keys."""
    keys = []
    for line in SHIPPED.read_text().splitlines():
        m = re.match(r"^\s*([a-z_0-9]+)\s*=", line)
        if m and m.group(1) not in keys:
            keys.append(m.group(1))
    return keys


class Spawned:
    """coromq started exactly as given (no listener or logging added, unlike conftest)."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([coromq_binary(), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = []
        deadline = time.monotonic() + 10
        self.ports = []
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
            raise AssertionError("coromq did not start:\n" + "\n".join(self.lines) +
                                 self.proc.stdout.read())

    def stop(self):
        """SIGTERM; returns (exit code, whole output)."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=15)
        return self.proc.returncode, "\n".join(self.lines) + "\n" + out


@pytest.fixture
def conf(tmp_path):
    """Writes a config file; returns its path."""
    def write(text, name="coromq.conf"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


# --- --help, --version, the shipped file ------------------------------------------------------

def test_help_lists_every_key():
    r = run("--help")
    assert r.returncode == 0
    keys = shipped_keys()
    assert len(keys) >= 11
    for key in keys + ["config", "help", "version"]:
        assert "--" + key in r.stdout, "--help does not mention --%s" % key


def test_version():
    meson = (ROOT / "meson.build").read_text()
    version = re.search(r"version:\s*'([^']+)'", meson).group(1)
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout == "coromq %s\n" % version


def test_shipped_config_file_is_valid():
    """etc/coromq.conf itself is accepted (its listener replaced by a free loopback port)."""
    b = Spawned("--config", str(SHIPPED), "--listener", "mqtt://127.0.0.1:0")
    code, out = b.stop()
    assert code == 0, out


# --- keys from the file are honoured ----------------------------------------------------------

def test_file_max_inflight_messages(make_broker):
    broker = make_broker(config_text="# window of one\nmax_inflight_messages = 1\n")
    topic = unique("cfg") + "/t"
    c = raw_connect(broker.port, unique("sub"))
    pub = raw_connect(broker.port, unique("pub"))
    try:
        raw_subscribe(c, topic, 1)
        raw_publish_qos1(pub, topic, b"a", packet_id=1)
        raw_publish_qos1(pub, topic, b"b", packet_id=2)
        first = c.expect(rawmqtt.PUBLISH)
        assert first.payload == b"a"
        assert raw_next(c, 0.3) is None
        c.send(rawmqtt.ack(rawmqtt.PUBACK, first.packet_id))
        assert c.expect(rawmqtt.PUBLISH).payload == b"b"
    finally:
        c.close()
        pub.close()


def test_file_delivery_retry_interval(make_broker):
    broker = make_broker(config_text="delivery_retry_interval = 1\n")
    topic = unique("cfg") + "/t"
    c = raw_connect(broker.port, unique("sub"))
    try:
        raw_subscribe(c, topic, 1)
        mosquitto_pub(broker.port, topic, "x", qos=1)
        first = c.expect(rawmqtt.PUBLISH)
        again = c.expect(rawmqtt.PUBLISH, timeout=4)
        assert again.dup and again.packet_id == first.packet_id
    finally:
        c.close()


def test_file_queue_qos0_messages_and_queue_limit(make_broker):
    """queue_qos0_messages = false and max_msgqueue_messages = 2 from the file."""
    broker = make_broker(config_text="queue_qos0_messages = false\nmax_msgqueue_messages = 2\n")
    cid, topic = unique("sess"), unique("cfg") + "/t"
    c = raw_connect(broker.port, cid, clean=False)
    raw_subscribe(c, topic, 1)
    c.send(rawmqtt.disconnect())
    assert c.closed_within(3)
    assert broker.wait_for_log(r"disconnected client_id=%s " % cid)
    pub = raw_connect(broker.port, unique("pub"))
    pub.send(rawmqtt.publish(topic, b"q0"))
    for i in range(4):
        raw_publish_qos1(pub, topic, b"m%d" % i, packet_id=i + 1)
    pub.close()
    c = rawmqtt.RawClient(broker.port)
    try:
        assert c.connect(cid, clean=False).body == b"\x01\x00"
        got = [c.expect(rawmqtt.PUBLISH) for _ in range(2)]
        assert [p.payload for p in got] == [b"m0", b"m1"]
        for p in got:
            c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        assert raw_next(c, 0.3) is None
    finally:
        c.close()


def test_file_max_packet_size(make_broker):
    """max_packet_size = 64: a 64-byte packet is accepted, a 65-byte one closes the
    connection."""
    broker = make_broker(config_text="max_packet_size = 64\n")
    c = raw_connect(broker.port, unique("big"))
    try:
        topic = "t"
        fits = rawmqtt.publish(topic, b"x" * (64 - 5 - 2), qos=1, packet_id=1)
        assert len(fits) == 64
        c.send(fits)
        c.expect(rawmqtt.PUBACK)
        c.send(rawmqtt.publish(topic, b"x" * (65 - 5 - 2), qos=1, packet_id=2))
        assert c.closed_within(3)
    finally:
        c.close()


def test_file_max_connections(make_broker):
    """max_connections = 2: a third simultaneous connection is closed at once."""
    broker = make_broker(config_text="max_connections = 2\n")
    a = raw_connect(broker.port, unique("a"))
    b = raw_connect(broker.port, unique("b"))
    c = rawmqtt.RawClient(broker.port)
    try:
        try:
            c.send(rawmqtt.connect(unique("c")))
        except OSError:
            pass                                  # already reset
        assert c.closed_within(3)
        a.send(rawmqtt.pingreq())
        a.expect(rawmqtt.PINGRESP)
    finally:
        for x in (a, b, c):
            x.close()


def test_file_connect_timeout(make_broker):
    broker = make_broker(config_text="connect_timeout = 1\n")
    c = rawmqtt.RawClient(broker.port)
    try:
        t0 = time.monotonic()
        assert c.closed_within(4)
        assert time.monotonic() - t0 <= 2.5
    finally:
        c.close()


def test_file_logging_false(conf):
    """logging = false: no connect/disconnect lines (conftest always passes --logging true, so
    this broker is started by hand)."""
    path = conf("logging = false\nlistener = mqtt://127.0.0.1:0\n")
    b = Spawned("--config", str(path))
    c = raw_connect(b.ports[0], unique("quiet"))
    c.send(rawmqtt.disconnect())
    assert c.closed_within(3)
    code, out = b.stop()
    assert code == 0
    assert "connected client_id" not in out and "listening on" not in out, out


def test_command_line_wins_over_file(make_broker):
    """The same key on the command line overrides the file's value."""
    broker = make_broker("--max_inflight_messages", "3",
                         config_text="max_inflight_messages = 1\n")
    topic = unique("cfg") + "/t"
    c = raw_connect(broker.port, unique("sub"))
    pub = raw_connect(broker.port, unique("pub"))
    try:
        raw_subscribe(c, topic, 1)
        for i in range(4):
            raw_publish_qos1(pub, topic, b"m%d" % i, packet_id=i + 1)
        assert [c.expect(rawmqtt.PUBLISH).payload for _ in range(3)] == [b"m0", b"m1", b"m2"]
        assert raw_next(c, 0.3) is None
    finally:
        c.close()
        pub.close()


# --- listeners -------------------------------------------------------------------------------

def test_file_listeners_all_used(conf):
    path = conf("listener = mqtt://127.0.0.1:0\nlistener = mqtt://127.0.0.1:0\n")
    b = Spawned("--config", str(path))
    try:
        assert len(b.ports) == 2 and b.ports[0] != b.ports[1]
        for port in b.ports:
            c = raw_connect(port, unique("l"))
            c.close()
    finally:
        code, out = b.stop()
    assert code == 0, out


def test_command_line_listener_replaces_files(conf):
    """--listener on the command line replaces the file's listeners: the file's would fail
    (its port is taken), and only the command line's is opened."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        path = conf("listener = mqtt://127.0.0.1:%d\nlistener = mqtt://127.0.0.1:0\n"
                    % busy.getsockname()[1])
        b = Spawned("--config", str(path), "--listener", "mqtt://127.0.0.1:0")
        try:
            assert len(b.ports) == 1 and b.ports[0] != busy.getsockname()[1]
            raw_connect(b.ports[0], unique("l")).close()
        finally:
            code, out = b.stop()
        assert code == 0, out
    finally:
        busy.close()


def test_port_in_use_fails_clearly():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        r = run("--listener", "mqtt://127.0.0.1:%d" % port)
        assert r.returncode != 0
        assert "started" not in r.stderr + r.stdout
        assert "127.0.0.1:%d" % port in r.stderr
        assert "in use" in r.stderr.lower(), r.stderr
    finally:
        busy.close()


def test_port_taken_by_another_coromq(broker):
    r = run("--listener", "mqtt://127.0.0.1:%d" % broker.port)
    assert r.returncode != 0
    assert "in use" in r.stderr.lower(), r.stderr


# --- mistakes ----------------------------------------------------------------------------

def _assert_rejected(r, path, line, key):
    assert r.returncode == 2, "exit %d\nstdout: %s\nstderr: %s" % (r.returncode, r.stdout,
                                                                   r.stderr)
    assert "%s:%d" % (path, line) in r.stderr, r.stderr
    assert key in r.stderr, r.stderr


def test_unknown_key_names_key_and_line(conf):
    path = conf("# comment\n\nmax_inflight_messages = 5\nmax_infligth_messages = 5\n")
    r = run("--config", str(path))
    _assert_rejected(r, path, 4, "max_infligth_messages")


def test_line_without_equals_rejected(conf):
    path = conf("logging = true\nlogging true\n")
    r = run("--config", str(path))
    _assert_rejected(r, path, 2, "logging true")


@pytest.mark.parametrize("line", [
    pytest.param("max_inflight_messages = many", id="not-a-number"),
    pytest.param("connect_timeout = 99999999999", id="above-uint32"),
    pytest.param("threads = 1.5", id="fraction"),
    pytest.param("queue_qos0_messages = maybe", id="not-a-bool"),
    pytest.param("logging =", id="empty"),
    pytest.param("max_connections = -1", id="negative-max_connections"),
    pytest.param("max_inflight_messages = -5", id="negative-max_inflight_messages"),
    pytest.param("max_packet_size = 1", id="max_packet_size-below-2"),
    pytest.param("listener = tcp://127.0.0.1:1883", id="listener-scheme"),
    pytest.param("listener = mqtt://127.0.0.1:99999", id="listener-port"),
    pytest.param("listener = mqtt://not-an-address:1883", id="listener-address"),
])
def test_bad_value_names_key_and_line(conf, line):
    """etc/coromq.conf: "An unknown key or a bad value stops start-up with the file and line
    named (exit code 2)"."""
    path = conf("# header\nlistener = mqtt://127.0.0.1:0\n%s\n" % line)
    r = run_must_exit("--config", str(path))
    _assert_rejected(r, path, 3, line.split("=")[0].strip())


def test_bad_file_listener_rejected_even_with_command_line_listener(conf):
    """A bad value in the file is an error even when the command line replaces that key."""
    path = conf("listener = tcp://127.0.0.1:1883\n")
    r = run_must_exit("--config", str(path), "--listener", "mqtt://127.0.0.1:0")
    _assert_rejected(r, path, 1, "listener")


def test_missing_config_file():
    r = run("--config", "/nonexistent/coromq.conf")
    assert r.returncode == 2
    assert "/nonexistent/coromq.conf" in r.stderr


@pytest.mark.parametrize("args, key", [
    pytest.param(["--no_such_key", "1"], "no_such_key", id="unknown-option"),
    pytest.param(["--max_inflight_messages", "lots"], "max_inflight_messages", id="not-a-number"),
    pytest.param(["--logging", "perhaps"], "logging", id="not-a-bool"),
    pytest.param(["--listener", "tcp://127.0.0.1:1"], "listener", id="listener-scheme"),
    pytest.param(["--connect_timeout", "-1"], "connect_timeout", id="negative"),
])
def test_bad_command_line_exits_2(args, key):
    if key != "listener":
        args = args + ["--listener", "mqtt://127.0.0.1:0"]
    r = run_must_exit(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert key in r.stderr
