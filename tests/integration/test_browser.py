"""A real browser: Debian's Chromium, headless, loads a page served by the test that uses
MQTT.js's browser bundle (tests/integration/js/node_modules/mqtt/dist/mqtt.min.js) to talk to
coromq over ws://, and writes what it received into the page; the test reads the DOM back with
--dump-dom.

Timing without sleeps: --dump-dom dumps the DOM once the page has loaded, so the page ends with
a parser-blocking <script src="/gate.js"> that this test's HTTP server answers only after the
page has reported (POST /event) that it is done, or failed. The WebSocket work runs while the
parser waits. Virtual time (--virtual-time-budget) is not used: it would fast-forward MQTT.js's
own timers (connect timeout, keep-alive).
"""
import base64
import hashlib
import json
import queue
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import tlsutil
from mqttclients import unique
from mqttclients import mosquitto_pub as tcp_pub

CHROMIUM = "/usr/bin/chromium"
BUNDLE = Path(__file__).resolve().parent / "js" / "node_modules" / "mqtt" / "dist" / "mqtt.min.js"

PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>coromq browser test</title></head>
<body>
<p id="status">loading</p>
<p id="result"></p>
<script src="/mqtt.min.js"></script>
<script>
(function () {
  const params = new URLSearchParams(location.search);
  const topic = params.get('topic');
  const publish = params.get('publish');
  const status = document.getElementById('status');
  const report = (event, text) => {
    status.textContent = event + (text ? ': ' + text : '');
    fetch('/event', {method: 'POST', body: JSON.stringify({event: event, text: text || ''})});
  };
  try {
    const client = mqtt.connect(params.get('broker'), {
      clientId: params.get('client_id'),
      reconnectPeriod: 0,
      connectTimeout: 10000,
    });
    client.on('connect', () => {
      report('connected');
      client.subscribe(topic, {qos: 1}, (err) => {
        if (err) { report('error', 'subscribe: ' + err.message); return; }
        report('subscribed');
        if (publish) { client.publish(topic, publish, {qos: 1}); }
      });
    });
    client.on('message', (t, payload) => {
      const text = 'received on ' + t + ': ' + payload.toString();
      document.getElementById('result').textContent = text;
      report('done');
      client.end();
    });
    client.on('error', (e) => report('error', e.message));
    client.on('close', () => {
      if (!status.textContent.startsWith('done')) { report('error', 'closed'); }
    });
  } catch (e) {
    report('error', 'exception: ' + e);
  }
})();
</script>
<script src="/gate.js"></script>
</body>
</html>
"""


class PageServer:
    """The page, the MQTT.js bundle, /event (the page's reports) and /gate.js, on loopback."""

    def __init__(self):
        self.events = queue.Queue()
        self.finished = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code, body, content_type):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = urllib.parse.urlsplit(self.path).path
                if path == "/index.html":
                    self._send(200, PAGE.encode(), "text/html; charset=utf-8")
                elif path == "/mqtt.min.js":
                    self._send(200, BUNDLE.read_bytes(), "text/javascript")
                elif path == "/gate.js":
                    outer.finished.wait(20)
                    self._send(200, b"/* done */\n", "text/javascript")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                event = json.loads(body or b"{}")
                outer.events.put(event)
                if event.get("event") in ("done", "error"):
                    outer.finished.set()
                self._send(204, b"", "text/plain")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, **params):
        return "http://127.0.0.1:%d/index.html?%s" % (self.port, urllib.parse.urlencode(params))

    def wait_for(self, name, timeout=20.0):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(event)
            if event["event"] == name:
                return event
            assert event["event"] != "error", "the page reported %r" % event
        raise AssertionError("the page did not report %r within %.0fs: %r" % (name, timeout, seen))

    def close(self):
        self.finished.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Chromium:
    """Headless Chromium dumping the DOM of one page, with a fresh profile."""

    def __init__(self, url, profile_dir, extra=()):
        if not Path(CHROMIUM).exists():
            pytest.fail("%s is missing: run scripts/install-deps --test (apt-get install "
                        "chromium)" % CHROMIUM)
        if not BUNDLE.exists():
            pytest.fail("MQTT.js is not installed: run scripts/install-deps --test "
                        "(cd tests/integration/js && npm ci)")
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
               "--user-data-dir=%s" % profile_dir, *extra, "--dump-dom", url]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def dom(self, timeout=45):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("chromium did not finish in %ds:\n%s" % (timeout, err[-3000:]))
        assert self.proc.returncode == 0, "chromium exited %d:\n%s" % (self.proc.returncode,
                                                                     err[-3000:])
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def page_server():
    s = PageServer()
    yield s
    s.close()


def run_page(tmp_path, page_server, **params):
    return Chromium(page_server.url(**params), tmp_path / "chromium-profile")


def test_chromium_mqttjs_over_ws_round_trip(make_broker, page_server, tmp_path):
    b = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener", "ws://127.0.0.1:0")
    tcp, ws = b.ports
    topic = unique("browser/echo")
    client_id = unique("chromium")
    browser = run_page(tmp_path, page_server, broker="ws://127.0.0.1:%d/mqtt" % ws, topic=topic,
                       publish="hello from chromium", client_id=client_id)
    try:
        page_server.wait_for("done")
        dom = browser.dom()
    finally:
        browser.kill()
    assert '<p id="result">received on %s: hello from chromium</p>' % topic in dom, dom
    assert '<p id="status">done</p>' in dom, dom
    assert b.wait_for_log(r"INFO connected client_id=%s .* transport=ws$" % client_id), b.log()


def test_chromium_receives_from_mosquitto_pub_on_tcp(make_broker, page_server, tmp_path):
    b = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener", "ws://127.0.0.1:0/browser")
    tcp, ws = b.ports
    topic = unique("browser/from-tcp")
    browser = run_page(tmp_path, page_server, broker="ws://127.0.0.1:%d/browser" % ws,
                       topic=topic, client_id=unique("chromium"))
    try:
        page_server.wait_for("subscribed")
        tcp_pub(tcp, topic, "from mosquitto_pub", qos=1)
        page_server.wait_for("done")
        dom = browser.dom()
    finally:
        browser.kill()
    assert '<p id="result">received on %s: from mosquitto_pub</p>' % topic in dom, dom


def spki_hash(cert_path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)), the form --ignore-certificate-errors-spki-list
    takes: Chromium then trusts exactly this key, and nothing else."""
    pub = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-noout", "-pubkey"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         capture_output=True, check=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_chromium_mqttjs_over_wss(make_broker, page_server, tmp_path):
    pki = tlsutil.make_pki(tmp_path / "pki")
    b = make_broker("--listener", "wss://127.0.0.1:0/mqtt" + tlsutil.tls_query(pki.server_crt,
                                                                                 pki.server_key))
    topic = unique("browser/wss")
    browser = Chromium(page_server.url(broker="wss://127.0.0.1:%d/mqtt" % b.port, topic=topic,
                                       publish="over wss", client_id=unique("chromium")),
                       tmp_path / "chromium-profile",
                       extra=["--ignore-certificate-errors-spki-list=" + spki_hash(pki.server_crt)])
    try:
        page_server.wait_for("done")
        dom = browser.dom()
    finally:
        browser.kill()
    assert '<p id="result">received on %s: over wss</p>' % topic in dom, dom
    assert b.wait_for_log(r"INFO connected client_id=chromium-\S+ .* transport=wss$"), b.log()


def test_chromium_refuses_wss_from_an_untrusted_server(make_broker, page_server, tmp_path):
    """Without the pin the test CA is unknown to Chromium: the page reports an error and the
    broker logs a failed handshake (so the test above really depends on the pin)."""
    pki = tlsutil.make_pki(tmp_path / "pki")
    b = make_broker("--listener", "wss://127.0.0.1:0/mqtt" + tlsutil.tls_query(pki.server_crt,
                                                                                 pki.server_key))
    browser = Chromium(page_server.url(broker="wss://127.0.0.1:%d/mqtt" % b.port,
                                       topic=unique("browser/untrusted"), publish="x",
                                       client_id=unique("chromium")),
                       tmp_path / "chromium-profile")
    try:
        event = page_server.wait_for("error")
        assert event["text"], event
        dom = browser.dom()
    finally:
        browser.kill()
    assert '<p id="result"></p>' in dom, dom
    assert b.wait_for_log(r"refused remote=\S+ reason=TLS handshake failed: .*transport=wss"), \
        b.log()
    assert "connected client_id=" not in b.log()
