"""The REST management API (Gmqtt's endpoints): real HTTP over loopback with curl (and raw
sockets where curl would hide what is tested), real MQTT clients (mosquitto_sub with a
persistent session going offline and online, paho-mqtt, raw clients), and the JSON checked
field by field against the shapes of Gmqtt's README.

Every broker here runs the REST API on 127.0.0.1 port 0 with the user admin:secret; the
port it got is read from its start-up line.
"""
import base64
import datetime
import http.client
import json
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import rawmqtt
from mqttclients import (MosquittoSub, Paho, mosquitto_pub, raw_connect, raw_next,
                         raw_subscribe, unique)

ROOT = Path(__file__).resolve().parents[2]
USER = ("admin", "secret")
HTTP_ARGS = ("--http", "127.0.0.1:0", "--http-user", "admin:secret")

CLIENT_KEYS = ["client_id", "username", "remote_addr", "clean_session", "keep_alive",
               "connected_at"]
SESSION_KEYS = ["client_id", "status", "remote_addr", "clean_session", "subscriptions",
                "max_inflight", "inflight_len", "max_msg_queue", "msg_queue_len",
                "msg_queue_dropped", "connected_at", "offline_at"]
SUBSCRIPTION_KEYS = ["client_id", "qos", "name", "at"]
PAGE_KEYS = ["list", "page", "page_size", "current_count", "total_count", "total_page"]
OK = {"code": 0, "result": []}
ZERO_TIME = "0001-01-01T00:00:00Z"
RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([+-]\d\d:\d\d|Z)$")


# --- helpers --------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.body[:300])


def _parse_curl_output(raw: bytes) -> Response:
    """curl -i output: header blocks (1xx ones first, e.g. 100 Continue), then the body."""
    while True:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        if 100 <= status < 200:
            raw = rest
            continue
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Response(status, headers, rest)


class Rest:
    """The REST API of one broker, called with curl."""

    def __init__(self, broker):
        self.broker = broker
        self.mqtt_port = broker.port
        started = next(l for l in broker.log_lines if "started on" in l)
        self.port = int(re.search(r"http://[^,\s]+:(\d+)", started).group(1))
        self.base = "http://127.0.0.1:%d" % self.port

    def call(self, method, path, form=None, json_body=None, multipart=None, auth=USER,
             headers=(), data=None, extra=()) -> Response:
        cmd = ["curl", "-s", "-S", "-i", "--max-time", "15", "-X", method]
        if auth is not None:
            cmd += ["-u", "%s:%s" % auth]
        for h in headers:
            cmd += ["-H", h]
        if form is not None:
            for k, v in form.items():
                cmd += ["--data-urlencode", "%s=%s" % (k, v)]
        if json_body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary",
                    json_body if isinstance(json_body, str) else json.dumps(json_body)]
        if multipart is not None:
            for k, v in multipart.items():
                cmd += ["-F", "%s=%s" % (k, v)]
        if data is not None:
            cmd += ["--data-binary", data]
        cmd += list(extra) + [self.base + path]
        r = subprocess.run(cmd, capture_output=True, timeout=20)
        assert r.returncode == 0, "curl failed (%d): %s" % (r.returncode, r.stderr)
        return _parse_curl_output(r.stdout)

    def get(self, path, **kw) -> Response:
        return self.call("GET", path, **kw)

    def get_ok(self, path):
        r = self.get(path)
        assert r.status == 200, r
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        return r.json()

    def post(self, path, **kw) -> Response:
        return self.call("POST", path, **kw)

    def post_ok(self, path, **kw):
        r = self.post(path, **kw)
        assert r.status == 200, r
        assert r.json() == OK
        return r

    def session(self, cid):
        return self.get_ok("/session/" + urllib.parse.quote(cid, safe=""))

    def connection(self) -> http.client.HTTPConnection:
        """A keep-alive connection (http.client), for many quick requests."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)


def auth_header(user=USER[0], password=USER[1]):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def keepalive_call(conn, method, path, body=None, headers=None):
    h = dict(auth_header())
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    return r.status, r.read()


def assert_error(r: Response, status):
    assert r.status == status, r
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert list(body) == ["code", "message"], body
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


def parse_time(text) -> datetime.datetime:
    """An RFC 3339 time as the API writes it (nanoseconds, offset) as an aware datetime."""
    m = RFC3339.match(text)
    assert m, "not RFC 3339 with an offset: %r" % text
    base, fraction, offset = m.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    offset = "+00:00" if offset == "Z" else offset
    return datetime.datetime.fromisoformat("%s.%s%s" % (base, fraction, offset))


def assert_recent(text, before, after):
    t = parse_time(text).timestamp()
    assert before - 1 <= t <= after + 1, "%s not between %s and %s" % (text, before, after)


def wait_until(predicate, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def http_exchange(port, data: bytes, timeout=5.0) -> bytes:
    """Sends raw bytes and reads until the server closes (or `timeout`)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def raw_request(path, method="GET", extra_headers="", body=b"", version="1.1"):
    token = base64.b64encode(b"admin:secret").decode()
    head = ("%s %s HTTP/%s\r\nHost: x\r\nAuthorization: Basic %s\r\n%s" %
            (method, path, version, token, extra_headers))
    if body:
        head += "Content-Length: %d\r\n" % len(body)
    return head.encode() + b"\r\n" + body


def persistent_offline(rest, cid, topic="t/+", qos=1):
    """A persistent session subscribed to `topic`, left offline (DISCONNECT)."""
    c = raw_connect(rest.mqtt_port, cid, clean=False)
    raw_subscribe(c, topic, qos)
    c.send(rawmqtt.disconnect())
    assert c.closed_within(3)
    wait_until(lambda: rest.session(cid)["status"] == "offline", what=cid + " offline")


@pytest.fixture
def rest(make_broker):
    return Rest(make_broker(*HTTP_ARGS))


# --- authentication ---------------------------------------------------------------------------

ENDPOINTS = [("GET", "/clients"), ("GET", "/client/x"), ("GET", "/sessions"),
             ("GET", "/session/x"), ("GET", "/subscriptions"), ("GET", "/subscriptions/x"),
             ("POST", "/publish"), ("POST", "/subscribe"), ("POST", "/unsubscribe"),
             ("DELETE", "/client/x"), ("GET", "/openapi.json"), ("GET", "/no/such/endpoint")]


def _check_401(r):
    assert_error(r, 401)
    assert r.headers["www-authenticate"] == 'Basic realm="coromq", charset="UTF-8"'


def test_every_endpoint_needs_credentials(rest):
    for method, path in ENDPOINTS:
        _check_401(rest.call(method, path, auth=None))
        _check_401(rest.call(method, path, auth=("admin", "wrong")))


@pytest.mark.parametrize("header", [
    "Basic " + base64.b64encode(b"admin:secretx").decode(),     # longer password
    "Basic " + base64.b64encode(b"admin:secre").decode(),       # prefix of it
    "Basic " + base64.b64encode(b"Admin:secret").decode(),      # user name is case-sensitive
    "Basic " + base64.b64encode(b"adminsecret").decode(),       # no colon
    "Basic " + base64.b64encode(b":").decode(),
    "Basic not*base64",
    "Basic",
    "Bearer " + base64.b64encode(b"admin:secret").decode(),
], ids=["longer", "prefix", "case", "no-colon", "empty", "not-base64", "no-token", "bearer"])
def test_wrong_credentials(rest, header):
    _check_401(rest.get("/clients", auth=None, headers=["Authorization: " + header]))


def test_right_credentials_several_users(make_broker):
    rest = Rest(make_broker("--http", "127.0.0.1:0", "--http-user", "admin:secret",
                            "--http-user", "ops:p:a:s:s"))
    assert rest.get("/clients").status == 200
    assert rest.get("/clients", auth=("ops", "p:a:s:s")).status == 200    # colons in the password
    # The scheme is case-insensitive; surrounding blanks are tolerated.
    token = base64.b64encode(b"ops:p:a:s:s").decode()
    assert rest.get("/clients", auth=None,
                    headers=["Authorization: basic  %s " % token]).status == 200
    _check_401(rest.get("/clients", auth=("ops", "secret")))           # another user's password


def test_no_users_on_loopback_needs_no_credentials(make_broker):
    rest = Rest(make_broker("--http", "127.0.0.1:0"))
    r = rest.get("/clients", auth=None)
    assert r.status == 200
    assert r.json()["total_count"] == 0


def test_no_users_on_other_address_refuses_to_start(tmp_path):
    from conftest import coromq_binary
    r = subprocess.run([coromq_binary(), "--listener", "mqtt://127.0.0.1:0", "--http",
                        "0.0.0.0:0"], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "http_server.user" in r.stderr + r.stdout


# --- clients ------------------------------------------------------------------------------------

def test_clients_empty(rest):
    body = rest.get_ok("/clients")
    assert body == {"list": [], "page": 1, "page_size": 20, "current_count": 0,
                    "total_count": 0, "total_page": 0}
    assert list(body) == PAGE_KEYS


def test_clients_fields(rest):
    cid = unique("paho")
    before = time.time()
    paho = Paho(rest.mqtt_port, cid, clean_session=True, keepalive=37)
    paho.client.username_pw_set("alice", "pw")
    try:
        paho.connect()
        after = time.time()
        local = paho.client.socket().getsockname()
        body = rest.get_ok("/clients")
        assert list(body) == PAGE_KEYS
        assert (body["page"], body["page_size"], body["current_count"], body["total_count"],
                body["total_page"]) == (1, 20, 1, 1, 1)
        [c] = body["list"]
        assert list(c) == CLIENT_KEYS
        assert c["client_id"] == cid
        assert c["username"] == "alice"
        assert c["remote_addr"] == "%s:%d" % local
        assert c["clean_session"] is True
        assert c["keep_alive"] == 37
        assert_recent(c["connected_at"], before, after)
        assert rest.get_ok("/client/" + cid) == c
    finally:
        paho.close()


def test_client_without_username_and_persistent(rest):
    cid = unique("mosq")
    sub = MosquittoSub(rest.mqtt_port, "x/y", qos=1, count=1, wait=20,
                       extra=["-c", "-i", cid, "-k", "15"]).wait_subscribed()
    try:
        c = rest.get_ok("/client/" + cid)
        assert list(c) == CLIENT_KEYS
        assert (c["username"], c["clean_session"], c["keep_alive"]) == ("", False, 15)
        parse_time(c["connected_at"])
    finally:
        sub.kill()


def test_client_not_found(rest):
    assert_error(rest.get("/client/nobody"), 404)
    assert_error(rest.get("/session/nobody"), 404)
    assert_error(rest.get("/client/"), 404)         # no id: no such endpoint
    # An offline persistent session is a session, not a client.
    cid = unique("offline")
    persistent_offline(rest, cid)
    assert_error(rest.get("/client/" + cid), 404)
    assert rest.session(cid)["status"] == "offline"
    assert rest.get_ok("/clients")["total_count"] == 0
    assert rest.get_ok("/sessions")["total_count"] == 1


def test_client_id_needing_percent_encoding(rest):
    cid = "odd id/with?chars&%"
    c = raw_connect(rest.mqtt_port, cid)
    try:
        quoted = urllib.parse.quote(cid, safe="")
        assert rest.get_ok("/client/" + quoted)["client_id"] == cid
        assert rest.get_ok("/session/" + quoted)["client_id"] == cid
        assert rest.get_ok("/subscriptions/" + quoted)["list"] == []
        assert_error(rest.get("/client/bad%zzescape"), 400)
    finally:
        c.close()


# --- sessions -------------------------------------------------------------------------------

def test_session_of_mosquitto_sub_offline_and_online(rest):
    """mosquitto_sub with a persistent session: online, killed (offline, messages queue up),
    back online (gets them), each state checked field by field."""
    cid, topic = unique("mosq"), unique("sess") + "/t"
    before = time.time()
    first = MosquittoSub(rest.mqtt_port, topic, qos=1, count=10, wait=30,
                         extra=["-c", "-i", cid]).wait_subscribed()
    after = time.time()
    try:
        s = rest.session(cid)
        assert list(s) == SESSION_KEYS
        assert s["client_id"] == cid
        assert s["status"] == "online"
        assert re.match(r"^127\.0\.0\.1:\d+$", s["remote_addr"])
        assert s["clean_session"] is False
        assert s["subscriptions"] == 1
        assert (s["max_inflight"], s["inflight_len"]) == (20, 0)
        assert (s["max_msg_queue"], s["msg_queue_len"], s["msg_queue_dropped"]) == (20, 0, 0)
        assert_recent(s["connected_at"], before, after)
        assert s["offline_at"] == ZERO_TIME
        first_connected = s["connected_at"]
        [listed] = rest.get_ok("/sessions")["list"]
        assert listed == s
    finally:
        first.kill()   # SIGKILL: no DISCONNECT

    offline = wait_until(lambda: (lambda s: s if s["status"] == "offline" else None)(
        rest.session(cid)), what="offline")
    assert offline["connected_at"] == first_connected
    went_offline = parse_time(offline["offline_at"])
    assert went_offline >= parse_time(first_connected)
    assert rest.get_ok("/clients")["list"] == []
    for i in range(3):
        mosquitto_pub(rest.mqtt_port, topic, "queued %d" % i, qos=1)
    wait_until(lambda: rest.session(cid)["msg_queue_len"] == 3, what="3 queued")

    again = MosquittoSub(rest.mqtt_port, topic, qos=1, count=3, wait=20,
                         extra=["-c", "-i", cid])
    try:
        code, messages = again.finish()
        assert code == 0
        assert [m[3] for m in messages] == ["queued 0", "queued 1", "queued 2"]
    finally:
        again.kill()
    # It exited after 3 messages (DISCONNECT): offline again, the queue drained (mosquitto_sub
    # may leave before acknowledging the last ones: those stay in flight).
    s = wait_until(lambda: (lambda s: s if s["status"] == "offline" else None)(
        rest.session(cid)), what="offline again")
    assert (s["msg_queue_len"], s["subscriptions"]) == (0, 1)
    assert s["inflight_len"] <= 3
    assert parse_time(s["connected_at"]) > parse_time(first_connected)
    assert parse_time(s["offline_at"]) >= went_offline


def test_session_queue_drops_and_inflight(rest):
    """msg_queue_len, msg_queue_dropped (past max_msgqueue_messages = 20) and inflight_len
    (QoS 1 sent, PUBACK withheld)."""
    cid, topic = unique("queue"), unique("queue") + "/t"
    persistent_offline(rest, cid, topic, 1)
    for i in range(25):
        rest.post_ok("/publish", form={"topic": topic, "qos": "1", "payload": str(i)})
    s = rest.session(cid)
    assert (s["msg_queue_len"], s["msg_queue_dropped"], s["inflight_len"]) == (20, 5, 0)

    c = rawmqtt.RawClient(rest.mqtt_port)
    try:
        assert c.connect(cid, clean=False).body[0] & 1     # session present
        got = [c.expect(rawmqtt.PUBLISH) for _ in range(20)]   # 20 in flight, none acknowledged
        assert [p.payload for p in got] == [str(i).encode() for i in range(20)]
        s = rest.session(cid)
        assert (s["status"], s["inflight_len"], s["msg_queue_len"]) == ("online", 20, 0)
        for p in got[:5]:
            c.send(rawmqtt.ack(rawmqtt.PUBACK, p.packet_id))
        wait_until(lambda: rest.session(cid)["inflight_len"] == 15, what="5 acknowledged")
    finally:
        c.close()


# --- subscriptions ------------------------------------------------------------------------------

def test_subscriptions_fields_and_order(rest):
    a, b = "a-" + unique("s"), "b-" + unique("s")
    before = time.time()
    ca = raw_connect(rest.mqtt_port, a)
    cb = raw_connect(rest.mqtt_port, b)
    try:
        raw_subscribe(cb, "z/#", 2)
        raw_subscribe(ca, "m/+/n", 1, packet_id=1)
        raw_subscribe(ca, "c", 0, packet_id=2)
        after = time.time()
        body = rest.get_ok("/subscriptions")
        assert list(body) == PAGE_KEYS
        assert (body["current_count"], body["total_count"], body["total_page"]) == (3, 3, 1)
        for s in body["list"]:
            assert list(s) == SUBSCRIPTION_KEYS
            assert_recent(s["at"], before, after)
        assert [(s["client_id"], s["name"], s["qos"]) for s in body["list"]] == [
            (a, "c", 0), (a, "m/+/n", 1), (b, "z/#", 2)]        # by client id, then filter
        mine = rest.get_ok("/subscriptions/" + a)
        assert [s["name"] for s in mine["list"]] == ["c", "m/+/n"]
        assert mine["total_count"] == 2
        assert rest.get_ok("/subscriptions/" + b)["list"] == [body["list"][2]]
        # Subscribing again replaces (qos changes, still one entry).
        raw_subscribe(ca, "c", 2, packet_id=3)
        assert [(s["name"], s["qos"]) for s in rest.get_ok("/subscriptions/" + a)["list"]] == [
            ("c", 2), ("m/+/n", 1)]
        assert rest.session(a)["subscriptions"] == 2
    finally:
        ca.close()
        cb.close()


def test_subscriptions_empty_and_unknown(rest):
    assert rest.get_ok("/subscriptions") == {"list": [], "page": 1, "page_size": 20,
                                             "current_count": 0, "total_count": 0,
                                             "total_page": 0}
    c = raw_connect(rest.mqtt_port, "nosubs")
    try:
        assert rest.get_ok("/subscriptions/nosubs")["list"] == []
        assert_error(rest.get("/subscriptions/nobody"), 404)
    finally:
        c.close()


# --- pagination ---------------------------------------------------------------------------------

def test_pagination_edges(rest):
    ids = sorted("page-%02d" % i for i in range(7))
    for cid in ids:
        persistent_offline(rest, cid, "p/" + cid)
    full = rest.get_ok("/sessions?per-page=100")      # per-page larger than the total
    assert [s["client_id"] for s in full["list"]] == ids
    assert (full["page"], full["page_size"], full["current_count"], full["total_count"],
            full["total_page"]) == (1, 100, 7, 7, 1)

    pages = [rest.get_ok("/sessions?page=%d&per-page=3" % p) for p in (1, 2, 3)]
    assert [(p["page"], p["page_size"], p["current_count"], p["total_count"], p["total_page"])
            for p in pages] == [(1, 3, 3, 7, 3), (2, 3, 3, 7, 3), (3, 3, 1, 7, 3)]  # last page
    assert [s for p in pages for s in p["list"]] == full["list"]

    past = rest.get_ok("/sessions?page=4&per-page=3")            # past the end: empty
    assert (past["list"], past["page"], past["current_count"], past["total_count"],
            past["total_page"]) == ([], 4, 0, 7, 3)
    assert rest.get_ok("/sessions?page=4294967295&per-page=1000")["list"] == []

    exact = rest.get_ok("/sessions?per-page=7")                  # exactly one full page
    assert (exact["current_count"], exact["total_page"]) == (7, 1)
    one = rest.get_ok("/sessions?page=7&per-page=1")
    assert [s["client_id"] for s in one["list"]] == [ids[6]]

    default = rest.get_ok("/sessions")                           # defaults: page 1, 20
    assert (default["page"], default["page_size"]) == (1, 20)
    assert rest.get_ok("/sessions?page=&per-page=") == default   # empty values: defaults
    assert rest.get_ok("/sessions?page=1&per-page=20&other=x") == default

    subs = [rest.get_ok("/subscriptions?page=%d&per-page=2" % p) for p in (1, 2, 3, 4, 5)]
    assert [p["current_count"] for p in subs] == [2, 2, 2, 1, 0]
    assert [s["client_id"] for p in subs for s in p["list"]] == ids
    assert rest.get_ok("/clients?page=2&per-page=1") == {
        "list": [], "page": 2, "page_size": 1, "current_count": 0, "total_count": 0,
        "total_page": 0}


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page=1.5", "page=+1",
                                   "page=4294967296", "page=99999999999999999999",
                                   "per-page=0", "per-page=-5", "per-page=1001", "per-page=x",
                                   "page=%zz"])
def test_bad_page_numbers(rest, query):
    for path in ("/clients", "/sessions", "/subscriptions"):
        assert_error(rest.get(path + "?" + query), 400)
    c = raw_connect(rest.mqtt_port, "pager")
    try:
        assert_error(rest.get("/subscriptions/pager?" + query), 400)
    finally:
        c.close()


def test_many_sessions_page_through_the_router(rest):
    """1100 sessions: pages larger than one router step, and the skipped part walked in
    steps; the pages join up to the full ordered listing."""
    ids = []
    for i in range(1100):
        cid = "many-%04d" % i
        c = rawmqtt.RawClient(rest.mqtt_port)
        c.send(rawmqtt.connect(cid, clean=False) + rawmqtt.disconnect())
        ids.append(cid)
        c.expect(rawmqtt.CONNACK)
        c.close()
    wait_until(lambda: rest.get_ok("/sessions?per-page=1")["total_count"] == 1100,
               timeout=20, what="1100 sessions")
    p1 = rest.get_ok("/sessions?per-page=1000")
    p2 = rest.get_ok("/sessions?page=2&per-page=1000")
    assert (p1["current_count"], p2["current_count"], p2["total_page"]) == (1000, 100, 2)
    assert [s["client_id"] for s in p1["list"] + p2["list"]] == ids
    p5 = rest.get_ok("/sessions?page=5&per-page=250")
    assert [s["client_id"] for s in p5["list"]] == ids[1000:]
    assert rest.get_ok("/clients?per-page=1000")["total_count"] == 0
    # The one subscription is found after walking 1100 sessions without any.
    rest.post_ok("/subscribe", form={"clientId": ids[-1], "topic": "last/#"})
    subs = rest.get_ok("/subscriptions")
    assert [(s["client_id"], s["name"]) for s in subs["list"]] == [(ids[-1], "last/#")]
    assert rest.get_ok("/subscriptions?page=2&per-page=1")["list"] == []


def test_many_subscriptions_of_one_session(rest):
    cid = unique("subs")
    c = raw_connect(rest.mqtt_port, cid)
    filters = sorted("f/%04d" % i for i in range(1100))
    conn = rest.connection()
    try:
        for f in filters:                           # one keep-alive connection
            status, body = keepalive_call(
                conn, "POST", "/subscribe",
                body=urllib.parse.urlencode({"clientId": cid, "topic": f, "qos": "1"}),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert (status, json.loads(body)) == (200, OK)
        status, body = keepalive_call(conn, "GET", "/subscriptions/%s?page=2&per-page=1000" % cid)
        page = json.loads(body)
        assert (page["current_count"], page["total_count"], page["total_page"]) == (100, 1100, 2)
        assert [s["name"] for s in page["list"]] == filters[1000:]
        status, body = keepalive_call(conn, "GET", "/subscriptions?per-page=1000")
        assert [s["name"] for s in json.loads(body)["list"]] == filters[:1000]
        assert rest.session(cid)["subscriptions"] == 1100
    finally:
        conn.close()
        c.close()


def test_listing_while_clients_come_and_go(rest):
    """Pages stay ordered and self-consistent while clients connect and disconnect, and MQTT
    traffic is not stalled by the listings."""
    for i in range(300):
        c = rawmqtt.RawClient(rest.mqtt_port)
        c.send(rawmqtt.connect("stable-%03d" % i, clean=False) + rawmqtt.disconnect())
        c.expect(rawmqtt.CONNACK)
        c.close()
    stop = threading.Event()
    errors = []

    def churn():
        n = 0
        while not stop.is_set():
            try:
                c = raw_connect(rest.mqtt_port, "churn-%03d" % (n % 50))
                c.close()
            except Exception as e:      # noqa: BLE001 -- reported below
                errors.append(e)
            n += 1

    latencies = []
    topic = unique("ping")
    pinger = Paho(rest.mqtt_port, unique("pinger"))
    pinger.connect()
    pinger.subscribe(topic, 0)
    threads = [threading.Thread(target=churn, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    conn = rest.connection()
    try:
        for round_ in range(15):
            for path in ("/sessions?per-page=100&page=%d" % (round_ % 4 + 1),
                         "/clients?per-page=7", "/subscriptions?per-page=50"):
                status, body = keepalive_call(conn, "GET", path)
                assert status == 200
                page = json.loads(body)
                ids = [(e["client_id"], e.get("name")) for e in page["list"]]
                assert ids == sorted(set(ids)), "unordered or duplicated: %r" % ids
                assert page["current_count"] == len(page["list"])
                assert page["total_page"] == -(-page["total_count"] // page["page_size"])
            t0 = time.monotonic()
            pinger.client.publish(topic, b"ping", 0)
            pinger.expect_message(timeout=2)
            latencies.append(time.monotonic() - t0)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        conn.close()
        pinger.close()
    assert not errors, errors[:3]
    assert max(latencies) < 1.0, latencies
    body = rest.get_ok("/sessions?per-page=1000")
    stable = [s["client_id"] for s in body["list"] if s["client_id"].startswith("stable-")]
    assert stable == ["stable-%03d" % i for i in range(300)]


# --- publish --------------------------------------------------------------------------------

def test_publish_form_reaches_mosquitto_sub(rest):
    topic = unique("pub") + "/t"
    sub = MosquittoSub(rest.mqtt_port, topic, qos=2, count=3).wait_subscribed()
    rest.post_ok("/publish", form={"qos": "0", "topic": topic, "payload": "zero"})
    rest.post_ok("/publish", form={"qos": "1", "topic": topic, "payload": "a b&c=d+é"})
    rest.post_ok("/publish", form={"qos": "2", "topic": topic, "payload": ""})
    code, messages = sub.finish()
    assert code == 0
    assert messages == [(topic, 0, 0, "zero"), (topic, 0, 1, "a b&c=d+é"), (topic, 0, 2, "")]


def test_publish_json_and_multipart_reach_paho(rest):
    topic = unique("pub") + "/t"
    paho = Paho(rest.mqtt_port, unique("paho"))
    try:
        paho.connect()
        paho.subscribe(topic + "/#", 2)
        rest.post_ok("/publish", json_body={"qos": 1, "topic": topic + "/json",
                                            "payload": "{\"x\": [1, 2]}"})
        rest.post_ok("/publish", json_body={"qos": "2", "topic": topic + "/json2",
                                            "payload": "s", "retain": False})
        rest.post_ok("/publish", multipart={"qos": "1", "topic": topic + "/multi",
                                            "payload": "from -F"})
        got = [paho.expect_message() for _ in range(3)]
        assert [(m.topic, m.payload, m.qos, m.retain) for m in got] == [
            (topic + "/json", b'{"x": [1, 2]}', 1, False),
            (topic + "/json2", b"s", 2, False),
            (topic + "/multi", b"from -F", 1, False)]
        # Delivered QoS is the lower of the message's and the subscription's.
        low = unique("low")
        paho.subscribe(low, 0)
        rest.post_ok("/publish", form={"qos": "2", "topic": low, "payload": "q"})
        m = paho.expect_message()
        assert (m.topic, m.qos) == (low, 0)
        # qos omitted: 0. payload omitted: empty.
        rest.post_ok("/publish", form={"topic": topic + "/defaults"})
        m = paho.expect_message()
        assert (m.topic, m.payload, m.qos) == (topic + "/defaults", b"", 0)
    finally:
        paho.close()


def test_publish_retained(rest):
    topic = unique("ret") + "/t"
    rest.post_ok("/publish", form={"qos": "1", "topic": topic, "payload": "kept",
                                   "retain": "true"})
    sub = MosquittoSub(rest.mqtt_port, topic, qos=1, count=1).wait_subscribed()
    code, messages = sub.finish()
    assert (code, messages) == (0, [(topic, 1, 1, "kept")])
    rest.post_ok("/publish", json_body={"topic": topic, "payload": "", "retain": True})
    c = raw_connect(rest.mqtt_port, unique("late"))
    try:
        raw_subscribe(c, topic, 1)
        assert raw_next(c, 0.5) is None          # the empty retained message removed it
    finally:
        c.close()


@pytest.mark.parametrize("form,why", [
    ({"qos": "3", "topic": "a"}, "qos"),
    ({"qos": "-1", "topic": "a"}, "qos"),
    ({"qos": "x", "topic": "a"}, "qos"),
    ({"qos": "01", "topic": "a"}, "qos"),
    ({"qos": "1"}, "topic"),
    ({"qos": "1", "topic": ""}, "topic"),
    ({"topic": "a/+"}, "wildcard"),
    ({"topic": "a/#"}, "wildcard"),
    ({"topic": "#"}, "wildcard"),
    ({"topic": "a", "retain": "maybe"}, "retain"),
])
def test_publish_bad_parameters(rest, form, why):
    message = assert_error(rest.post("/publish", form=form), 400)
    assert why in message


def test_publish_bad_bodies(rest):
    base = ["Content-Type: application/x-www-form-urlencoded"]
    # Topic not UTF-8, or with U+0000.
    assert_error(rest.post("/publish", headers=base, data="topic=a%FFb"), 400)
    assert_error(rest.post("/publish", headers=base, data="topic=a%00b"), 400)
    assert_error(rest.post("/publish", headers=base, data="topic=a%2"), 400)   # bad escape
    assert_error(rest.post("/publish", json_body="{not json"), 400)
    assert_error(rest.post("/publish", json_body="[1, 2]"), 400)
    assert_error(rest.post("/publish", json_body={"topic": {"nested": 1}}), 400)
    assert_error(rest.post("/publish", json_body={"topic": "a", "qos": 1.5}), 400)
    assert_error(rest.post("/publish", headers=["Content-Type: text/plain"], data="x"), 415)
    assert_error(rest.post("/publish", headers=["Content-Type: multipart/form-data"],
                           data="x"), 400)            # no boundary
    # A JSON null is an absent field.
    rest.post_ok("/publish", json_body={"topic": "n", "qos": None, "payload": None})


# --- subscribe / unsubscribe ----------------------------------------------------------------

def test_subscribe_over_rest_delivers_to_paho(rest):
    cid, topic = unique("paho"), unique("rs") + "/t"
    mosquitto_pub(rest.mqtt_port, topic + "/r", "retained before", qos=1, retain=True)
    paho = Paho(rest.mqtt_port, cid)
    try:
        paho.connect()
        rest.post_ok("/subscribe", form={"qos": "1", "topic": topic + "/#", "clientId": cid})
        m = paho.expect_message()       # the retained message, at once, retain flag set
        assert (m.topic, m.payload, m.qos, m.retain) == (topic + "/r", b"retained before", 1, 1)
        mosquitto_pub(rest.mqtt_port, topic + "/x", "live", qos=2)
        m = paho.expect_message()
        assert (m.topic, m.payload, m.qos, m.retain) == (topic + "/x", b"live", 1, 0)
        [s] = rest.get_ok("/subscriptions/" + cid)["list"]
        assert (s["client_id"], s["name"], s["qos"]) == (cid, topic + "/#", 1)
        # JSON body, qos as a number, Gmqtt's own field spelling clientID.
        rest.post_ok("/subscribe", json_body={"qos": 0, "topic": "other/" + topic,
                                              "clientID": cid})
        mosquitto_pub(rest.mqtt_port, "other/" + topic, "json", qos=1)
        m = paho.expect_message()
        assert (m.topic, m.payload, m.qos) == ("other/" + topic, b"json", 0)
        assert rest.session(cid)["subscriptions"] == 2
    finally:
        paho.close()


def test_subscribe_over_rest_offline_session(rest):
    """A REST subscription joins an offline persistent session; what it matches is queued and
    delivered when mosquitto_sub comes back."""
    cid, topic = unique("mosq"), unique("off") + "/t"
    first = MosquittoSub(rest.mqtt_port, "unrelated/" + topic, qos=1, count=1, wait=20,
                         extra=["-c", "-i", cid]).wait_subscribed()
    first.kill()
    wait_until(lambda: rest.session(cid)["status"] == "offline", what="offline")
    rest.post_ok("/subscribe", multipart={"qos": "2", "topic": topic, "clientId": cid})
    assert rest.session(cid)["subscriptions"] == 2
    mosquitto_pub(rest.mqtt_port, topic, "while offline", qos=1)
    wait_until(lambda: rest.session(cid)["msg_queue_len"] == 1, what="queued")
    again = MosquittoSub(rest.mqtt_port, "unrelated/" + topic, qos=1, count=1, wait=20,
                         extra=["-c", "-i", cid])
    code, messages = again.finish()
    assert (code, messages) == (0, [(topic, 0, 1, "while offline")])


def test_unsubscribe_over_rest(rest):
    cid, topic = unique("paho"), unique("uns") + "/t"
    paho = Paho(rest.mqtt_port, cid)
    try:
        paho.connect()
        paho.subscribe(topic, 1)
        paho.subscribe(topic + "/keep", 1)
        rest.post_ok("/unsubscribe", form={"topic": topic, "clientId": cid})
        assert [s["name"] for s in rest.get_ok("/subscriptions/" + cid)["list"]] == [
            topic + "/keep"]
        mosquitto_pub(rest.mqtt_port, topic, "gone", qos=1)
        mosquitto_pub(rest.mqtt_port, topic + "/keep", "kept", qos=1)
        assert paho.expect_message().payload == b"kept"
        paho.expect_no_message(0.3)
        # Not subscribed: fine (as UNSUBSCRIBE). JSON body.
        rest.post_ok("/unsubscribe", json_body={"topic": topic, "clientId": cid})
        rest.post_ok("/unsubscribe", json_body={"topic": topic + "/keep", "clientID": cid})
        assert rest.session(cid)["subscriptions"] == 0
    finally:
        paho.close()


@pytest.mark.parametrize("path", ["/subscribe", "/unsubscribe"])
def test_subscribe_unsubscribe_errors(rest, path):
    c = raw_connect(rest.mqtt_port, "target")
    try:
        assert "clientId" in assert_error(rest.post(path, form={"topic": "a"}), 400)
        assert "clientId" in assert_error(rest.post(path, form={"topic": "a", "clientId": ""}),
                                          400)
        assert_error(rest.post(path, form={"topic": "a", "clientId": "nobody"}), 404)
        for bad in ("a/#/b", "a+", "#a", ""):
            assert "topic" in assert_error(
                rest.post(path, form={"topic": bad, "clientId": "target"}), 400)
        assert_error(rest.post(path, form={"topic": "/".join(["l"] * 129),
                                           "clientId": "target"}), 400)
        assert_error(rest.post(path, headers=["Content-Type: application/x-www-form-urlencoded"],
                               data="clientId=target&topic=%FF"), 400)
        if path == "/subscribe":
            for q in ("3", "-1", "one"):
                assert "qos" in assert_error(
                    rest.post(path, form={"topic": "a", "clientId": "target", "qos": q}), 400)
            rest.post_ok(path, form={"topic": "/".join(["l"] * 128), "clientId": "target"})
        assert rest.session("target")["subscriptions"] == (1 if path == "/subscribe" else 0)
    finally:
        c.close()


# --- DELETE /client/:id -------------------------------------------------------------------------

def test_delete_client_disconnects_it(rest):
    cid = unique("paho")
    paho = Paho(rest.mqtt_port, cid, clean_session=False)
    try:
        paho.connect()
        paho.subscribe("kick/#", 1)
        r = rest.call("DELETE", "/client/" + cid)
        assert (r.status, r.json()) == (200, OK)
        assert paho.wait_disconnected(3)
        # Answered once the connection detached: gone from /clients at once.
        assert_error(rest.get("/client/" + cid), 404)
        s = rest.session(cid)                    # the persistent session stays
        assert (s["status"], s["subscriptions"]) == ("offline", 1)
        assert rest.broker.wait_for_log(
            r"disconnected client_id=%s .*reason=disconnected by operator" % cid)
        assert_error(rest.call("DELETE", "/client/" + cid), 404)     # offline: not a client
        r = rest.call("DELETE", "/client/%s?drop_session=true" % cid)  # ... but droppable
        assert (r.status, r.json()) == (200, OK)
        assert_error(rest.get("/session/" + cid), 404)
        assert rest.get_ok("/subscriptions")["total_count"] == 0
    finally:
        paho.close()


def test_delete_client_dropping_its_session(rest):
    # paho, not mosquitto_sub: mosquitto_sub reconnects on its own after being kicked.
    cid = unique("paho")
    paho = Paho(rest.mqtt_port, cid, clean_session=False)
    try:
        paho.connect()
        paho.subscribe("drop/t", 1)
        r = rest.call("DELETE", "/client/%s?drop_session=1" % cid)
        assert (r.status, r.json()) == (200, OK)
        assert paho.wait_disconnected(3)
        assert_error(rest.get("/session/" + cid), 404)
        assert rest.get_ok("/sessions")["total_count"] == 0
        assert rest.get_ok("/subscriptions")["total_count"] == 0
        # Reconnecting with clean session 0 finds no session.
        again = Paho(rest.mqtt_port, cid, clean_session=False)
        try:
            assert again.connect() is False
        finally:
            again.close()
    finally:
        paho.close()


def test_delete_client_errors(rest):
    assert_error(rest.call("DELETE", "/client/nobody"), 404)
    assert_error(rest.call("DELETE", "/client/nobody?drop_session=true"), 404)
    c = raw_connect(rest.mqtt_port, "stays")
    try:
        assert_error(rest.call("DELETE", "/client/stays?drop_session=maybe"), 400)
        assert rest.get_ok("/client/stays")["client_id"] == "stays"
    finally:
        c.close()


# --- HTTP: methods, limits, keep-alive, timeouts, stop --------------------------------------

@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/clients", "GET"), ("DELETE", "/sessions", "GET"), ("PUT", "/subscriptions", "GET"),
    ("POST", "/subscriptions/x", "GET"), ("PUT", "/client/x", "GET, DELETE"),
    ("POST", "/session/x", "GET"), ("DELETE", "/session/x", "GET"),
    ("GET", "/publish", "POST"), ("GET", "/subscribe", "POST"), ("DELETE", "/unsubscribe", "POST"),
    ("PATCH", "/publish", "POST"), ("HEAD", "/openapi.json", "GET"),
])
def test_wrong_method(rest, method, path, allow):
    if method == "HEAD":    # curl -X HEAD would wait for a body that never comes
        out = http_exchange(rest.port, raw_request(path, method="HEAD", version="1.0"))
        assert out.startswith(b"HTTP/1.0 405 ")
        assert b"\r\nAllow: GET\r\n" in out
        return
    r = rest.call(method, path)
    assert_error(r, 405)
    assert r.headers["allow"] == allow


def test_unknown_endpoint(rest):
    for path in ("/", "/client", "/clients/", "/session/", "/subscriptions/", "/api/v1/clients"):
        assert_error(rest.get(path), 404)


def test_oversized_body_413(rest):
    big = "x" * (70 * 1024)
    # curl sends Expect: 100-continue: refused from the header alone.
    r = rest.post("/publish", headers=["Content-Type: application/x-www-form-urlencoded"],
                  data="topic=a&payload=" + big)
    assert_error(r, 413)
    # A client that sends its body at once still gets the answer.
    out = http_exchange(rest.port, raw_request("/publish", "POST", body=b"topic=a&payload=" +
                                               big.encode()))
    assert out.startswith(b"HTTP/1.1 413 ")
    assert json.loads(out.split(b"\r\n\r\n", 1)[1])["code"] == 413
    # Chunked, with no length given up front.
    chunk = b"%x\r\n%s\r\n" % (len(big), big.encode())
    out = http_exchange(rest.port, raw_request(
        "/publish", "POST", extra_headers="Transfer-Encoding: chunked\r\n") + chunk + b"0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413 ")
    # Just under the limit is fine.
    payload = "y" * (60 * 1024)
    rest.post_ok("/publish", form={"topic": "big", "payload": payload})


def test_oversized_header_431(rest):
    out = http_exchange(rest.port, raw_request("/clients", extra_headers="X-Big: %s\r\n" %
                                               ("h" * 9000)))
    assert out.startswith(b"HTTP/1.1 431 ")
    assert json.loads(out.split(b"\r\n\r\n", 1)[1])["code"] == 431
    # A header of a few KiB is fine.
    r = rest.get("/clients", headers=["X-Big: " + "h" * 4000])
    assert r.status == 200


def test_malformed_request(rest):
    out = http_exchange(rest.port, b"THIS IS NOT HTTP\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out
    assert json.loads(out.split(b"\r\n\r\n", 1)[1])["code"] == 400


def test_keep_alive_and_pipelining(rest):
    conn = rest.connection()
    try:
        for _ in range(5):
            status, body = keepalive_call(conn, "GET", "/clients")
            assert status == 200
        sock = conn.sock
        status, _ = keepalive_call(conn, "POST", "/publish", body="topic=k",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200
        assert conn.sock is sock                 # still the same connection
    finally:
        conn.close()
    # Two requests in one write: two answers, in order; the second asks to close.
    out = http_exchange(rest.port, raw_request("/sessions") +
                        raw_request("/nope", extra_headers="Connection: close\r\n"))
    first, second = out.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 ") and second.startswith(b"404 ")
    assert b"Connection: close" in second
    # HTTP/1.0 without keep-alive: answered, then closed.
    out = http_exchange(rest.port, raw_request("/clients", version="1.0"))
    assert out.startswith(b"HTTP/1.0 200 ")


def test_idle_connection_times_out(rest):
    s = socket.create_connection(("127.0.0.1", rest.port), timeout=20)
    try:
        s.sendall(b"GET /clients HTTP/1.1\r\nHost: x\r\n")   # and never finishes
        t0 = time.monotonic()
        assert s.recv(1024) == b""                            # closed by the server
        assert 8 <= time.monotonic() - t0 <= 15
    finally:
        s.close()


def test_stop_ends_idle_keep_alive_connections(make_broker):
    broker = make_broker(*HTTP_ARGS)
    rest = Rest(broker)
    conn = rest.connection()
    idle = socket.create_connection(("127.0.0.1", rest.port), timeout=10)  # no request yet
    try:
        status, _ = keepalive_call(conn, "GET", "/clients")
        assert status == 200
        t0 = time.monotonic()
        assert broker.stop(signal.SIGTERM, timeout=10) == 0
        assert time.monotonic() - t0 < 3
        conn.sock.settimeout(3)
        assert conn.sock.recv(10) == b""
        assert idle.recv(10) == b""
    finally:
        conn.close()
        idle.close()


# --- OpenAPI, shared port ---------------------------------------------------------------------

def test_openapi_json(rest):
    r = rest.get("/openapi.json")
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.body == (ROOT / "src" / "rest" / "openapi.json").read_bytes()
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/clients", "/client/{id}", "/sessions", "/session/{id}",
                                 "/subscriptions", "/subscriptions/{id}", "/publish",
                                 "/subscribe", "/unsubscribe", "/openapi.json"}
    schemas = doc["components"]["schemas"]
    assert list(schemas["Client"]["properties"]) == CLIENT_KEYS
    assert list(schemas["Session"]["properties"]) == SESSION_KEYS
    assert list(schemas["Subscription"]["properties"]) == SUBSCRIPTION_KEYS


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_rest_shares_the_websocket_port(make_broker):
    """REST and MQTT over WebSocket on one port (Gmqtt's default config uses 8080 for both)."""
    port = _free_port()
    broker = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener",
                         "ws://127.0.0.1:%d" % port, "--http", "127.0.0.1:%d" % port,
                         "--http-user", "admin:secret")
    rest = Rest(broker)
    assert rest.port == port
    _check_401(rest.get("/clients", auth=None))
    assert rest.get_ok("/clients")["list"] == []
    conn = rest.connection()                     # keep-alive on the shared port too
    try:
        for _ in range(3):
            assert keepalive_call(conn, "GET", "/sessions")[0] == 200
    finally:
        conn.close()

    import paho.mqtt.client as mqtt
    ws = Paho(port, unique("ws"))
    ws.client = mqtt.Client(client_id=ws.client_id, transport="websockets",
                            reconnect_on_failure=False)
    ws.client.ws_set_options(path="/mqtt")
    ws.client.on_connect = ws._on_connect
    ws.client.on_message = lambda c, u, msg: ws.messages.put(msg)
    ws.client.on_subscribe = ws._on_subscribe
    ws.client.on_disconnect = ws._on_disconnect
    try:
        ws.connect()
        ws.subscribe("shared/t", 1)
        [c] = rest.get_ok("/clients")["list"]
        assert c["client_id"] == ws.client_id
        rest.post_ok("/publish", form={"topic": "shared/t", "qos": "1", "payload": "over ws"})
        assert ws.expect_message().payload == b"over ws"
    finally:
        ws.close()
