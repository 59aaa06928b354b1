"""MQTT over TLS (mqtts:// listeners): clients we did not write (mosquitto_pub/mosquitto_sub,
paho, openssl s_client) against certificates made at test time by tlsutil.

Covers: server authentication with --cafile (and refusal without a trusted CA), mutual TLS,
the TLS 1.2 minimum, bad input on the TLS port (plain MQTT, a handshake that never finishes),
start-up errors for missing / unreadable / mismatched files, the certificate user name, and
certificate reload on SIGHUP (existing connections stay, new ones see the new certificate, a
bad new certificate is refused and the old one kept).
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest

import conftest
import rawmqtt
import tlsutil
from mqttclients import HOST, MosquittoSub, Paho, unique, wait_log_count
from mqttclients import mosquitto_pub as tcp_pub

REFUSED_TLS = r"INFO refused remote=127\.0\.0\.1:\d+ reason=TLS handshake failed: .* transport=tls"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return tlsutil.make_pki(tmp_path_factory.mktemp("pki"))


def start(make_broker, pki, *extra, cert=None, key=None, **flags):
    """A broker with mqtt:// then mqtts:// on loopback; returns (broker, tcp port, tls port)."""
    url = "mqtts://127.0.0.1:0" + tlsutil.tls_query(cert or pki.server_crt, key or pki.server_key,
                                                    **flags)
    b = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener", url, *extra)
    assert len(b.ports) == 2, b.log()
    return b, b.ports[0], b.ports[1]


def tls_args(pki, client=False, cafile=None):
    args = ["--cafile", cafile or pki.ca_crt]
    if client:
        args += ["--cert", pki.client_crt, "--key", pki.client_key]
    return args


def pub(port, topic, message, extra=(), timeout=10):
    """mosquitto_pub; returns the CompletedProcess (the caller checks the outcome)."""
    cmd = ["mosquitto_pub", "-p", str(port), "-h", HOST, "-t", topic, "-m", message,
           "-i", unique("pub")] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def paho_tls(port, pki, client_id, client_cert=False, username=None):
    p = Paho(port, client_id)
    p.client.tls_set(ca_certs=pki.ca_crt, tls_version=ssl.PROTOCOL_TLS_CLIENT,
                     certfile=pki.client_crt if client_cert else None,
                     keyfile=pki.client_key if client_cert else None)
    if username is not None:
        p.client.username_pw_set(username, "pw")
    return p


def read_until_closed(sock, timeout=5.0) -> bytes:
    """Everything the peer sends until it closes; fails when it is still open after `timeout`."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "still open after %.1fs (received %r)" % (timeout, data[:64])
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except socket.timeout:
            continue
        if not chunk:
            return data
        data += chunk


# --- server authentication ----------------------------------------------------------------


def test_mosquitto_clients_over_tls_with_cafile(make_broker, pki):
    b, tcp, tls = start(make_broker, pki)
    topic = unique("tls/pubsub")
    sub = MosquittoSub(tls, topic, count=2, extra=tls_args(pki)).wait_subscribed()
    r = pub(tls, topic, "over-tls", tls_args(pki))
    assert r.returncode == 0, r.stderr
    tcp_pub(tcp, topic, "over-tcp")                 # and across transports
    code, messages = sub.finish()
    assert code == 0, sub.lines
    assert [m[3] for m in messages] == ["over-tls", "over-tcp"]
    assert b.wait_for_log(r"INFO connected client_id=\S+ .* transport=tls$")
    # The disconnect line names the transport too; a plain TCP client's says nothing.
    assert b.wait_for_log(r"INFO disconnected client_id=\S+ .*reason=client disconnected "
                          r"transport=tls$"), b.log()
    assert b.wait_for_log(r"INFO disconnected client_id=\S+ .*reason=client disconnected$"), \
        b.log()


def test_tls_refused_without_a_trusted_ca(make_broker, pki):
    b, tcp, tls = start(make_broker, pki)
    topic = unique("tls/untrusted")
    sub = MosquittoSub(tcp, topic).wait_subscribed()
    # A CA that did not sign the server certificate, then the system's CAs: both refuse.
    for trust in (["--cafile", pki.other_ca_crt], ["--capath", "/etc/ssl/certs"]):
        r = pub(tls, topic, "must-not-arrive", trust)
        assert r.returncode != 0, "mosquitto_pub %s succeeded against an untrusted server" % trust
    assert wait_log_count(b, REFUSED_TLS, 2), b.log()
    assert not b.wait_for_log(r"connected client_id=.* transport=tls", timeout=0.1), b.log()
    # A client that trusts the CA still gets through, and nothing was delivered before it.
    assert pub(tls, topic, "trusted", tls_args(pki)).returncode == 0
    code, messages = sub.finish()
    assert [m[3] for m in messages] == ["trusted"]


def test_server_certificate_names_localhost_and_loopback(make_broker, pki):
    """Hostname verification passes for both names in the SAN (mosquitto checks it)."""
    b, tcp, tls = start(make_broker, pki)
    for host in ("127.0.0.1", "localhost"):
        r = subprocess.run(["mosquitto_pub", "-h", host, "-p", str(tls), "-t", unique("tls/h"),
                            "-m", "x", "--cafile", pki.ca_crt], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0, "%s: %s" % (host, r.stderr)
    # A certificate for localhost from another CA is refused even with that name.
    b2, _, tls2 = start(make_broker, pki, cert=pki.rogue_server_crt, key=pki.rogue_server_key)
    assert pub(tls2, unique("tls/h"), "x", tls_args(pki)).returncode != 0


# --- mutual TLS ---------------------------------------------------------------------------


def test_mutual_tls_accepts_a_valid_client_certificate(make_broker, pki):
    b, tcp, tls = start(make_broker, pki, cafile=pki.ca_crt, require_client_cert=True)
    topic = unique("mtls/ok")
    sub = MosquittoSub(tls, topic, extra=tls_args(pki, client=True)).wait_subscribed()
    r = pub(tls, topic, "with-cert", tls_args(pki, client=True))
    assert r.returncode == 0, r.stderr
    code, messages = sub.finish()
    assert code == 0 and [m[3] for m in messages] == ["with-cert"]


def test_mutual_tls_refuses_clients_without_a_valid_certificate(make_broker, pki):
    b, tcp, tls = start(make_broker, pki, cafile=pki.ca_crt, require_client_cert=True)
    topic = unique("mtls/refused")
    sub = MosquittoSub(tls, topic, extra=tls_args(pki, client=True)).wait_subscribed()
    attempts = {
        "no certificate": tls_args(pki),
        "certificate from an untrusted CA": tls_args(pki) + ["--cert", pki.rogue_client_crt,
                                                              "--key", pki.rogue_client_key],
    }
    for what, args in attempts.items():
        r = pub(tls, topic, "must-not-arrive", args)
        assert r.returncode != 0, "%s: accepted" % what
    assert wait_log_count(b, REFUSED_TLS, 2), b.log()
    assert wait_log_count(b, r"INFO connected client_id=", 1)
    assert not wait_log_count(b, r"INFO connected client_id=", 2, timeout=0.3), b.log()
    # The legitimate subscriber was not disturbed.
    assert pub(tls, topic, "legit", tls_args(pki, client=True)).returncode == 0
    code, messages = sub.finish()
    assert [m[3] for m in messages] == ["legit"]


def test_optional_client_certificate_with_a_ca(make_broker, pki):
    """With a CA but without require_client_cert a certificate is optional, but one that is
    presented must still be valid."""
    b, tcp, tls = start(make_broker, pki, cafile=pki.ca_crt)
    assert pub(tls, unique("opt"), "no-cert", tls_args(pki)).returncode == 0
    assert pub(tls, unique("opt"), "cert", tls_args(pki, client=True)).returncode == 0
    rogue = tls_args(pki) + ["--cert", pki.rogue_client_crt, "--key", pki.rogue_client_key]
    assert pub(tls, unique("opt"), "rogue", rogue).returncode != 0


def test_certificate_common_name_becomes_the_username(make_broker, pki):
    url = "mqtts://127.0.0.1:0" + tlsutil.tls_query(pki.server_crt, pki.server_key, pki.ca_crt,
                                                    require_client_cert=True,
                                                    cn_as_username=True)
    b = make_broker("--listener", url, "--http", "127.0.0.1:0")
    tls, http = b.ports
    client_id = unique("cn")
    p = paho_tls(tls, pki, client_id, client_cert=True, username="claimed-name")
    try:
        p.connect()
        with urllib.request.urlopen("http://127.0.0.1:%d/client/%s" % (http, client_id),
                                    timeout=5) as res:
            body = json.loads(res.read())
        data = body.get("data", body)
        assert data["username"] == "alice", body     # the CN, not what CONNECT claimed
    finally:
        p.close()


# --- protocol versions and bad input --------------------------------------------------------


def test_tls_1_1_refused_tls_1_2_accepted(make_broker, pki):
    b, tcp, tls = start(make_broker, pki)
    # SECLEVEL=0 lets our own client offer TLS 1.1 at all, so the refusal is the broker's.
    old = tlsutil.s_client(tls, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert old.returncode != 0, old.stdout
    assert "Cipher is (NONE)" in old.stdout, old.stdout
    assert "alert protocol version" in old.stderr, old.stderr       # the broker's alert
    assert b.wait_for_log(r"reason=TLS handshake failed: unsupported protocol .*transport=tls")
    for version, label in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        r = tlsutil.s_client(tls, version, "-CAfile", pki.ca_crt, "-verify_return_error")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Protocol  : %s" % label in r.stdout or "New, %s" % label in r.stdout, r.stdout
        assert "Verify return code: 0 (ok)" in r.stdout


def test_plain_mqtt_to_a_tls_port_is_refused(make_broker, pki):
    b, tcp, tls = start(make_broker, pki)
    topic = unique("tls/plain")
    sub = paho_tls(tls, pki, unique("tls-sub"))
    try:
        sub.connect()
        sub.subscribe(topic)
        # Raw MQTT CONNECT bytes: no CONNACK, the connection is closed.
        s = socket.create_connection((HOST, tls), timeout=5)
        s.sendall(rawmqtt.connect(unique("plain")))
        data = read_until_closed(s)
        s.close()
        assert not data.startswith(b"\x20\x02"), data
        # mosquitto_pub without TLS options fails too.
        r = pub(tls, topic, "plain")
        assert r.returncode != 0, "plain MQTT to the TLS port succeeded"
        assert wait_log_count(b, REFUSED_TLS, 2), b.log()
        # Nothing else disturbed: the TLS subscriber still receives, from either transport.
        tcp_pub(tcp, topic, "after-1")
        assert pub(tls, topic, "after-2", tls_args(pki)).returncode == 0
        got = [m.payload for m in sub.expect_messages(2)]
        assert got == [b"after-1", b"after-2"]
        assert not sub.disconnected.is_set()
    finally:
        sub.close()


def test_tls_to_a_plain_port_is_refused(make_broker, pki):
    b, tcp, tls = start(make_broker, pki)
    r = pub(tcp, unique("tls/on-tcp"), "x", tls_args(pki))
    assert r.returncode != 0
    tcp_pub(tcp, unique("tls/on-tcp"), "plain still works")


@pytest.mark.parametrize("sent", [b"", b"\x16\x03\x01\x02\x00\x01"], ids=["nothing", "partial"])
def test_tls_handshake_that_never_finishes_is_closed(make_broker, pki, sent):
    b, tcp, tls = start(make_broker, pki, "--connect_timeout", "1")
    s = socket.create_connection((HOST, tls), timeout=5)
    began = time.monotonic()
    s.sendall(sent) if sent else None
    read_until_closed(s, timeout=5)
    took = time.monotonic() - began
    s.close()
    assert 0.5 <= took < 4, "closed after %.2fs, connect_timeout is 1s" % took
    assert b.wait_for_log(r"refused remote=\S+ reason=TLS handshake timed out transport=tls")
    # The broker still serves TLS.
    assert pub(tls, unique("tls/after"), "x", tls_args(pki)).returncode == 0


def test_many_stalled_handshakes_do_not_block_others(make_broker, pki):
    b, tcp, tls = start(make_broker, pki, "--connect_timeout", "2")
    stalled = [socket.create_connection((HOST, tls), timeout=5) for _ in range(20)]
    try:
        topic = unique("tls/stalled")
        sub = MosquittoSub(tls, topic, extra=tls_args(pki)).wait_subscribed()
        assert pub(tls, topic, "through", tls_args(pki)).returncode == 0
        code, messages = sub.finish()
        assert [m[3] for m in messages] == ["through"]
    finally:
        for s in stalled:
            s.close()


# --- start-up errors ------------------------------------------------------------------------


def run_broker(*args, timeout=10):
    return subprocess.run([conftest.coromq_binary(), *args], capture_output=True, text=True,
                          timeout=timeout)


def start_error(pki, tmp_path, case):
    """(listener URL, the path the message must name) for a broken TLS set-up."""
    missing = str(tmp_path / "no-such-file.pem")
    directory = tmp_path / "a-directory.pem"
    directory.mkdir(exist_ok=True)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("this is not PEM\n")
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    cert, key, ca = pki.server_crt, pki.server_key, None
    named = {
        "missing cert": (missing, key, ca, missing),
        "missing key": (cert, missing, ca, missing),
        "missing ca": (cert, key, missing, missing),
        "unreadable cert (a directory)": (str(directory), key, ca, str(directory)),
        "unreadable key (a directory)": (cert, str(directory), ca, str(directory)),
        "cert not PEM": (str(garbage), key, ca, str(garbage)),
        "key not PEM": (cert, str(garbage), ca, str(garbage)),
        "empty cert": (str(empty), key, ca, str(empty)),
        "ca not PEM": (cert, key, str(garbage), str(garbage)),
        "key of another certificate": (cert, pki.server2_key, ca, pki.server2_key),
        "key given as the cert": (key, key, ca, key),
    }
    cert, key, ca, names = named[case]
    return "mqtts://127.0.0.1:0" + tlsutil.tls_query(cert, key, ca), names


START_ERRORS = ["missing cert", "missing key", "missing ca", "unreadable cert (a directory)",
                "unreadable key (a directory)", "cert not PEM", "key not PEM", "empty cert",
                "ca not PEM", "key of another certificate", "key given as the cert"]


@pytest.mark.parametrize("case", START_ERRORS)
def test_bad_certificate_files_fail_at_start_up(pki, tmp_path, case):
    url, names = start_error(pki, tmp_path, case)
    for scheme in ("mqtts", "wss"):
        r = run_broker("--listener", url.replace("mqtts://", scheme + "://", 1))
        assert r.returncode != 0, "%s over %s started:\n%s" % (case, scheme, r.stderr)
        assert "started" not in r.stderr
        assert names in r.stderr, "%s: the message does not name %s:\n%s" % (case, names,
                                                                             r.stderr)
        assert r.stderr.startswith("coromq: listener %s://" % scheme), r.stderr


def test_unreadable_file_permissions_fail_at_start_up(pki, tmp_path):
    """chmod 000 only denies a non-root user; as root the same check runs as 'nobody'."""
    locked = tmp_path / "locked"
    locked.mkdir()
    key = locked / "server.key"
    shutil.copy(pki.server_key, key)
    os.chmod(key, 0)
    cmd = [conftest.coromq_binary(), "--listener",
           "mqtts://127.0.0.1:0" + tlsutil.tls_query(pki.server_crt, key)]
    if os.geteuid() == 0:
        # 'nobody' can read the certificates and run the binary (world-readable), not the key.
        # pytest's own temporary directories are 0700: open them to others, nothing else.
        for d in [tmp_path, *tmp_path.parents, pki.dir]:
            mode = os.stat(d).st_mode
            if not mode & 0o001:
                os.chmod(d, mode | 0o005)
        os.chmod(pki.server_crt, 0o644)
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    assert r.returncode != 0, r.stderr
    assert "cannot read private key file '%s'" % key in r.stderr, r.stderr


def test_tls_listener_without_certificate_is_a_configuration_error(pki):
    r = run_broker("--listener", "mqtts://127.0.0.1:0")
    assert r.returncode == 2, r.stderr
    assert "needs a certificate and a key" in r.stderr
    r = run_broker("--listener", "wss://127.0.0.1:0/mqtt?certfile=" + pki.server_crt)
    assert r.returncode == 2 and "needs a certificate and a key" in r.stderr, r.stderr


def test_client_certificates_required_without_a_ca_is_an_error(pki):
    r = run_broker("--listener", "mqtts://127.0.0.1:0" + tlsutil.tls_query(
        pki.server_crt, pki.server_key, require_client_cert=True))
    assert r.returncode != 0
    assert "needs a CA file" in r.stderr, r.stderr


def test_tls_option_on_a_plain_listener_is_an_error(pki):
    r = run_broker("--listener", "mqtt://127.0.0.1:0?certfile=" + pki.server_crt)
    assert r.returncode == 2
    assert "needs a TLS listener" in r.stderr, r.stderr


def test_global_tls_defaults_apply_to_listeners_without_files(make_broker, pki):
    b = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener", "mqtts://127.0.0.1:0",
                    "--tls-cert", pki.server_crt, "--tls-key", pki.server_key,
                    "--tls-ca", pki.ca_crt, "--tls-require-client-cert", "true")
    tcp, tls = b.ports
    assert pub(tls, unique("g"), "x", tls_args(pki, client=True)).returncode == 0
    assert pub(tls, unique("g"), "x", tls_args(pki)).returncode != 0


def rest_username(http, client_id):
    with urllib.request.urlopen("http://127.0.0.1:%d/client/%s" % (http, client_id),
                                timeout=5) as res:
        body = json.loads(res.read())
    return body.get("data", body)["username"]


def test_url_switches_set_to_false_override_the_global_tls_defaults(make_broker, pki):
    """--tls-require-client-cert true and --tls-cn-as-username true are defaults: a listener
    whose URL says require_client_cert=false and cn_as_username=false keeps its own values,
    a listener that leaves them out takes the defaults."""
    own = "mqtts://127.0.0.1:0" + tlsutil.tls_query(pki.server_crt, pki.server_key,
                                                    require_client_cert=False,
                                                    cn_as_username=False)
    inherits = "mqtts://127.0.0.1:0" + tlsutil.tls_query(pki.server_crt, pki.server_key)
    b = make_broker("--listener", own, "--listener", inherits, "--http", "127.0.0.1:0",
                    "--tls-ca", pki.ca_crt, "--tls-require-client-cert", "true",
                    "--tls-cn-as-username", "true")
    own_port, inherits_port, http = b.ports

    # require_client_cert: off where the URL says false, on where the default applies.
    r = pub(own_port, unique("own"), "no-cert", tls_args(pki))
    assert r.returncode == 0, r.stderr
    assert pub(inherits_port, unique("inh"), "no-cert", tls_args(pki)).returncode != 0
    r = pub(inherits_port, unique("inh"), "cert", tls_args(pki, client=True))
    assert r.returncode == 0, r.stderr
    # The CA default still applies to the listener that switched the requirement off: a
    # certificate it is shown must be valid.
    rogue = tls_args(pki) + ["--cert", pki.rogue_client_crt, "--key", pki.rogue_client_key]
    assert pub(own_port, unique("own"), "rogue", rogue).returncode != 0

    # cn_as_username: CONNECT's user name stays where the URL says false, the certificate's
    # CN replaces it where the default applies.
    for port, expected in ((own_port, "claimed-name"), (inherits_port, "alice")):
        client_id = unique("cn")
        p = paho_tls(port, pki, client_id, client_cert=True, username="claimed-name")
        try:
            p.connect()
            assert rest_username(http, client_id) == expected, b.log()
        finally:
            p.close()


def test_url_switches_set_to_true_apply_without_a_global_default(make_broker, pki):
    """The other direction still works: no --tls-* switches, the URL turns them on."""
    url = "mqtts://127.0.0.1:0" + tlsutil.tls_query(pki.server_crt, pki.server_key,
                                                    require_client_cert=True)
    b = make_broker("--listener", url, "--tls-ca", pki.ca_crt,
                    "--tls-require-client-cert", "false")
    tls = b.ports[0]
    assert pub(tls, unique("t"), "no-cert", tls_args(pki)).returncode != 0
    r = pub(tls, unique("t"), "cert", tls_args(pki, client=True))
    assert r.returncode == 0, r.stderr


def test_global_tls_default_missing_file_fails_at_start_up(pki, tmp_path):
    missing = str(tmp_path / "gone.crt")
    r = run_broker("--listener", "mqtts://127.0.0.1:0", "--tls-cert", missing,
                   "--tls-key", pki.server_key)
    assert r.returncode != 0 and missing in r.stderr, r.stderr


def test_tls_defaults_from_a_config_file(make_broker, pki):
    """tls_cert / tls_key / tls_ca as config-file keys (the listeners come from the command
    line, which the conftest always gives)."""
    conf = "tls_cert = %s\ntls_key = %s\ntls_ca = %s\ntls_require_client_cert = true\n" % (
        pki.server_crt, pki.server_key, pki.ca_crt)
    b = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener", "mqtts://127.0.0.1:0",
                    config_text=conf)
    assert len(b.ports) == 2, b.log()
    assert pub(b.ports[1], unique("conf"), "x", tls_args(pki, client=True)).returncode == 0
    assert pub(b.ports[1], unique("conf"), "x", tls_args(pki)).returncode != 0


# --- certificate reload on SIGHUP -------------------------------------------------------------


def install(pki, live, name):
    """Puts `name`.crt/.key from the PKI at live/server.crt and live/server.key (atomically)."""
    for ext in ("crt", "key"):
        tmp = live / ("incoming." + ext)
        shutil.copy(pki.dir / ("%s.%s" % (name, ext)), tmp)
        os.replace(tmp, live / ("server." + ext))


def reload(b, expect_ok=True, timeout=5.0):
    """Sends SIGHUP and waits for the broker's verdict on every TLS listener."""
    ok = r"INFO reloaded TLS certificate for "
    bad = r"ERROR TLS reload for .* failed, keeping the old certificate: "
    n_ok = sum(1 for l in list(b.log_lines) if "reloaded TLS certificate" in l)
    n_bad = sum(1 for l in list(b.log_lines) if "failed, keeping the old" in l)
    listeners = len(b.ports) - 1
    b.proc.send_signal(signal.SIGHUP)
    if expect_ok:
        assert wait_log_count(b, ok, n_ok + listeners, timeout), b.log()
    else:
        assert wait_log_count(b, bad, n_bad + listeners, timeout), b.log()


@pytest.fixture
def live_broker(make_broker, pki, tmp_path):
    """mqtt:// + mqtts:// + wss:// reading their certificate from live/server.{crt,key}."""
    live = tmp_path / "live"
    live.mkdir()
    install(pki, live, "server")
    query = tlsutil.tls_query(live / "server.crt", live / "server.key")
    b = make_broker("--listener", "mqtt://127.0.0.1:0", "--listener",
                    "mqtts://127.0.0.1:0" + query, "--listener", "wss://127.0.0.1:0/mqtt" + query)
    return b, live


def test_sighup_reload_keeps_connections_and_serves_the_new_certificate(live_broker, pki):
    b, live = live_broker
    tcp, tls, wss = b.ports
    old = (tlsutil.SERVER_SERIAL, tlsutil.cert_fingerprint(pki.server_crt))
    new = (tlsutil.SERVER2_SERIAL, tlsutil.cert_fingerprint(pki.server2_crt))
    assert tlsutil.served_certificate(tls) == old
    assert tlsutil.served_certificate(wss) == old

    topic = unique("reload")
    sub = paho_tls(tls, pki, unique("reload-sub"))
    try:
        sub.connect()
        sub.subscribe(topic)
        tcp_pub(tcp, topic, "before")
        assert sub.expect_message().payload == b"before"

        install(pki, live, "server2")
        reload(b)
        assert b.wait_for_log(r"SIGHUP received, reloading TLS certificates")

        assert tlsutil.served_certificate(tls) == new
        assert tlsutil.served_certificate(wss) == new
        # The connection made before the reload is still up, both ways.
        tcp_pub(tcp, topic, "after-from-tcp")
        assert pub(tls, topic, "after-from-new-tls", tls_args(pki)).returncode == 0
        sub.publish(topic, "from-the-old-connection")
        got = [m.payload for m in sub.expect_messages(3)]
        assert got == [b"after-from-tcp", b"after-from-new-tls", b"from-the-old-connection"]
        assert not sub.disconnected.is_set()
        assert "disconnected client_id=%s" % sub.client_id not in b.log()
        # And it keeps its certificate: the old session did not renegotiate.
        der = sub.client.socket().getpeercert(binary_form=True)
        assert tlsutil.der_fingerprint(der) == old[1]
    finally:
        sub.close()


@pytest.mark.parametrize("breakage", ["garbage certificate", "key of another certificate",
                                      "missing key", "empty certificate"])
def test_sighup_with_a_bad_new_certificate_keeps_the_old(live_broker, pki, breakage):
    b, live = live_broker
    tcp, tls, wss = b.ports
    old = (tlsutil.SERVER_SERIAL, tlsutil.cert_fingerprint(pki.server_crt))
    topic = unique("badreload")
    sub = paho_tls(tls, pki, unique("badreload-sub"))
    try:
        sub.connect()
        sub.subscribe(topic)
        if breakage == "garbage certificate":
            (live / "server.crt").write_text("-----BEGIN CERTIFICATE-----\nnope\n")
        elif breakage == "key of another certificate":
            shutil.copy(pki.server2_key, live / "server.key")
        elif breakage == "missing key":
            (live / "server.key").unlink()
        else:
            (live / "server.crt").write_text("")
        reload(b, expect_ok=False)
        assert b.wait_for_log(r"failed, keeping the old certificate: .*%s" % (live / "server"))
        # New connections still get the old certificate, and work.
        assert tlsutil.served_certificate(tls) == old
        assert tlsutil.served_certificate(wss) == old
        assert pub(tls, topic, "still-served", tls_args(pki)).returncode == 0
        assert sub.expect_message().payload == b"still-served"
        assert not sub.disconnected.is_set()
        assert b.proc.poll() is None
        # Fixing the files and signalling again takes the new certificate.
        install(pki, live, "server2")
        reload(b)
        assert tlsutil.served_certificate(tls)[0] == tlsutil.SERVER2_SERIAL
        assert pub(tls, topic, "fixed", tls_args(pki)).returncode == 0
        assert sub.expect_message().payload == b"fixed"
    finally:
        sub.close()


def test_sighup_without_tls_listeners_is_harmless(broker):
    topic = unique("hup")
    sub = MosquittoSub(broker.port, topic).wait_subscribed()
    broker.proc.send_signal(signal.SIGHUP)
    assert broker.wait_for_log(r"SIGHUP received")
    tcp_pub(broker.port, topic, "still here")
    code, messages = sub.finish()
    assert [m[3] for m in messages] == ["still here"]
