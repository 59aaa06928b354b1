"""Authentication, access control and hook plugins, seen from real clients.

- The built-in password file plugin with files made by Debian's mosquitto_passwd ($7$
  PBKDF2-SHA512 and -H sha512's $6$), mosquitto_pub/mosquitto_sub with -u/-P, anonymous
  clients allowed or refused.
- The built-in ACL file plugin in Mosquitto's format: a refused subscription gets SUBACK 0x80
  (Mosquitto 2.0 grants it and delivers nothing), a refused publish is acknowledged and
  dropped, patterns with %c and %u, wills.
- SIGHUP reloads both files; a broken file keeps the old one.
- Hook chains (tests/plugins/probe_plugin.cpp loaded with --plugin): the order, the first
  non-pass answer wins, built-in plugins first; a hook that times out or throws counts as deny
  (drop for publish); a slow hook does not hold up anyone else.
- Plugin loading errors stop start-up with a clear message (exit code 2).
"""
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import rawmqtt
import tlsutil
from conftest import coromq_binary
from mqttclients import (MosquittoSub, mosquitto_pub, raw_connect, raw_next, raw_publish_qos1,
                         raw_subscribe, unique, wait_log_count)

BUILD = Path(coromq_binary()).resolve().parents[1]
PROBE = BUILD / "tests" / "plugins" / "libprobe_plugin.so"
NO_ENTRY = BUILD / "tests" / "plugins" / "libno_entry_plugin.so"

BAD_USER_OR_PASSWORD = 0x04
NOT_AUTHORIZED = 0x05
SERVER_UNAVAILABLE = 0x03


def mosquitto_passwd(path, user, password, sha512=False, create=False):
    """Adds (or changes) a user with Debian's mosquitto_passwd, as an operator would."""
    assert shutil.which("mosquitto_passwd"), "mosquitto_passwd missing (apt-get install mosquitto)"
    cmd = ["mosquitto_passwd"] + (["-H", "sha512"] if sha512 else []) + \
          (["-c"] if create else []) + ["-b", str(path), user, password]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr


@pytest.fixture
def passwords(tmp_path):
    """alice/secret ($7$, mosquitto_passwd's default) and bob/hunter2 ($6$, -H sha512)."""
    path = tmp_path / "passwords"
    mosquitto_passwd(path, "alice", "secret", create=True)
    mosquitto_passwd(path, "bob", "hunter2", sha512=True)
    text = path.read_text()
    assert "alice:$7$" in text and "bob:$6$" in text
    return path


def connack_code(port, version=4, **kw):
    """Connects with a raw client; returns the CONNACK return code (5.0: reason code)."""
    c = rawmqtt.RawClient(port, version=version)
    try:
        ack = c.connect(unique("c"), **kw)
        return ack.body[1]
    finally:
        c.close()


def pub_result(port, *creds):
    """Runs mosquitto_pub with -u/-P; returns (exit code, stderr)."""
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "t", "-m", "x"] + list(creds)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    return r.returncode, r.stderr


def start_fails(*args, timeout=10):
    """Runs coromq expecting it to refuse to start; returns (exit code, stderr)."""
    r = subprocess.run([coromq_binary(), "--listener", "mqtt://127.0.0.1:0", *args],
                       capture_output=True, text=True, timeout=timeout)
    assert "started on" not in r.stderr, "coromq started:\n" + r.stderr
    return r.returncode, r.stderr


def probe(name, **options):
    """--plugin/--plugin_opt arguments loading the probe plugin as NAME."""
    assert PROBE.exists(), "%s not built" % PROBE
    args = ["--plugin", "%s=%s" % (name, PROBE)]
    for key, value in options.items():
        args += ["--plugin_opt", "%s:%s=%s" % (name, key, value)]
    return args


def log_index(broker, pattern):
    """Index of the first log line containing `pattern`, or None."""
    for i, line in enumerate(list(broker.log_lines)):
        if pattern in line:
            return i
    return None


# --- password file ------------------------------------------------------------------------------

def test_mosquitto_passwd_users_connect_with_the_right_password(make_broker, passwords):
    b = make_broker("--password_file", str(passwords))
    assert pub_result(b.port, "-u", "alice", "-P", "secret")[0] == 0     # $7$
    assert pub_result(b.port, "-u", "bob", "-P", "hunter2")[0] == 0      # $6$
    code, err = pub_result(b.port, "-u", "alice", "-P", "hunter2")
    assert code != 0 and "bad user name or password" in err
    code, err = pub_result(b.port, "-u", "mallory", "-P", "secret")
    assert code != 0 and "bad user name or password" in err
    assert connack_code(b.port, username="alice", password="secret") == 0
    assert connack_code(b.port, username="alice", password="Secret") == BAD_USER_OR_PASSWORD
    assert connack_code(b.port, username="alice") == BAD_USER_OR_PASSWORD   # no password
    assert connack_code(b.port, username="", password="") == BAD_USER_OR_PASSWORD


def test_messages_flow_between_authenticated_mosquitto_clients(make_broker, passwords):
    b = make_broker("--password_file", str(passwords))
    topic = unique("auth")
    sub = MosquittoSub(b.port, topic, qos=1, extra=["-u", "bob", "-P", "hunter2"])
    sub.wait_subscribed()
    mosquitto_pub(b.port, topic, "hello", qos=1, extra=["-u", "alice", "-P", "secret"])
    code, messages = sub.finish()
    assert code == 0
    assert messages == [(topic, 0, 1, "hello")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return tlsutil.make_pki(tmp_path_factory.mktemp("pki"))


def test_certificate_user_needs_no_password(make_broker, passwords, pki):
    """With cn_as_username the verified client certificate authenticates the client, as
    Mosquitto's use_identity_as_username does: no password is asked for its CN (alice)."""
    url = "mqtts://127.0.0.1:0" + tlsutil.tls_query(pki.server_crt, pki.server_key, pki.ca_crt,
                                                    require_client_cert=True,
                                                    cn_as_username=True)
    b = make_broker("--password_file", str(passwords), "--listener", "mqtt://127.0.0.1:0",
                    "--listener", url)
    tcp, tls = b.ports
    cert = ["--cafile", pki.ca_crt, "--cert", pki.client_crt, "--key", pki.client_key]
    code, err = pub_result(tls, *cert)
    assert code == 0, err
    # Without the certificate, alice still needs her password.
    assert connack_code(tcp, username="alice") == BAD_USER_OR_PASSWORD
    assert connack_code(tcp) == NOT_AUTHORIZED


def test_anonymous_refused_by_default_when_there_is_a_password_file(make_broker, passwords):
    b = make_broker("--password_file", str(passwords))
    code, err = pub_result(b.port)
    assert code != 0 and "not authorised" in err
    assert connack_code(b.port) == NOT_AUTHORIZED
    assert b.wait_for_log(r"refused .*reason=denied by an on_connect hook \(code 5\)")


def test_anonymous_allowed_when_asked_but_passwords_still_checked(make_broker, passwords):
    b = make_broker("--password_file", str(passwords), "--allow_anonymous", "true")
    assert pub_result(b.port)[0] == 0
    assert connack_code(b.port, username="alice", password="wrong") == BAD_USER_OR_PASSWORD
    assert connack_code(b.port, username="alice", password="secret") == 0


def test_allow_anonymous_false_without_a_password_file(make_broker):
    """As Mosquitto: anonymous clients refused, any client with a user name accepted."""
    b = make_broker("--allow_anonymous", "false")
    assert connack_code(b.port) == NOT_AUTHORIZED
    assert connack_code(b.port, username="anyone", password="anything") == 0
    assert connack_code(b.port, username="anyone") == 0


def test_mqtt5_clients_get_5_0_reason_codes(make_broker, passwords):
    b = make_broker("--password_file", str(passwords))
    assert connack_code(b.port, version=5, username="alice", password="nope") == 0x86
    assert connack_code(b.port, version=5) == 0x87
    assert connack_code(b.port, version=5, username="alice", password="secret") == 0


def test_password_file_in_the_config_file(make_broker, passwords):
    b = make_broker(config_text="password_file = %s\nallow_anonymous = true\n" % passwords)
    assert connack_code(b.port) == 0
    assert connack_code(b.port, username="bob", password="hunter2") == 0
    assert connack_code(b.port, username="bob", password="x") == BAD_USER_OR_PASSWORD


def test_unusable_password_file_stops_start_up(tmp_path):
    code, err = start_fails("--password_file", str(tmp_path / "missing"))
    assert code == 2
    assert "key 'password_file': cannot read password file '%s'" % (tmp_path / "missing") in err
    plain = tmp_path / "plain"
    plain.write_text("# users\nalice:secret\n")   # not hashed: Mosquitto 2.0 refuses it too
    code, err = start_fails("--password_file", str(plain))
    assert code == 2
    assert "%s:2: user 'alice': not a mosquitto_passwd hash" % plain in err


def test_sighup_reloads_the_password_file(make_broker, passwords):
    b = make_broker("--password_file", str(passwords))
    mosquitto_passwd(passwords, "carol", "pw1")
    assert connack_code(b.port, username="carol", password="pw1") == BAD_USER_OR_PASSWORD
    b.proc.send_signal(signal.SIGHUP)
    assert wait_log_count(b, r"password_file: reloaded .* \(3 users\)", 1)
    assert connack_code(b.port, username="carol", password="pw1") == 0

    mosquitto_passwd(passwords, "alice", "new-secret")   # a changed password
    b.proc.send_signal(signal.SIGHUP)
    assert wait_log_count(b, r"password_file: reloaded", 2)
    assert connack_code(b.port, username="alice", password="secret") == BAD_USER_OR_PASSWORD
    assert connack_code(b.port, username="alice", password="new-secret") == 0

    passwords.write_text("carol\n")                       # broken: the old users stay
    b.proc.send_signal(signal.SIGHUP)
    assert b.wait_for_log(r"password_file: reload failed, keeping the old users: .*:1: "
                          r"expected USER:HASH")
    assert connack_code(b.port, username="carol", password="pw1") == 0


# --- ACL file -----------------------------------------------------------------------------------

ACL = """\
# anonymous clients
topic read public/#

user alice
topic readwrite sensors/#
topic deny sensors/secret
topic write logs/alice

user admin
topic readwrite #

pattern readwrite clients/%c/#
pattern read inbox/%u/#
"""


@pytest.fixture
def acl(tmp_path):
    path = tmp_path / "acl"
    path.write_text(ACL)
    return path


def suback(port, filters, version=4, **connect):
    """SUBSCRIBE with (filter, qos) pairs in one packet; returns the SUBACK's codes."""
    c = raw_connect(port, unique("s"), **connect) if version == 4 else None
    if c is None:
        c = rawmqtt.RawClient(port, version=5)
        assert c.connect(unique("s"), **connect).body[1] == 0
    try:
        c.send(rawmqtt.subscribe(7, filters, version=version))
        ack = c.expect(rawmqtt.SUBACK)
        body = ack.body[2:]
        if version == 5:
            body = body[1 + body[0]:]   # property length (short) and properties
        return list(body)
    finally:
        c.close()


def test_acl_refused_subscription_gets_suback_0x80(make_broker, acl):
    b = make_broker("--acl_file", str(acl))
    alice = {"username": "alice"}
    assert suback(b.port, [("sensors/+/temp", 2)], **alice) == [2]
    assert suback(b.port, [("sensors/kitchen", 1)], **alice) == [1]
    assert suback(b.port, [("sensors/secret", 0)], **alice) == [0x80]      # deny wins
    assert suback(b.port, [("sensors/#", 0)], **alice) == [0x80]           # covers secret
    assert suback(b.port, [("logs/alice", 0)], **alice) == [0x80]          # write only
    assert suback(b.port, [("#", 0)], **alice) == [0x80]
    # One SUBSCRIBE, several filters: each gets its own answer.
    assert suback(b.port, [("sensors/a", 1), ("other", 1), ("public/x", 0)], **alice) == \
        [1, 0x80, 0x80]
    assert suback(b.port, [("other", 1)], version=5, **alice) == [0x87]
    assert suback(b.port, [("#", 2)], username="admin") == [2]
    assert b.wait_for_log(r"acl_file: denied SUBSCRIBE client_id=\S+ filter=sensors/secret")


def test_acl_covering_uses_mqtt_wildcard_semantics(make_broker, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text("topic read sensors/#\ntopic read rooms/+\n")
    b = make_broker("--acl_file", str(acl))
    assert suback(b.port, [("sensors/+/temp", 0), ("sensors", 0), ("sensors/#", 0)]) == [0, 0, 0]
    assert suback(b.port, [("rooms/kitchen", 0), ("rooms/+", 0), ("rooms/#", 0)]) == [0, 0, 0x80]
    assert suback(b.port, [("+/kitchen", 0), ("$SYS/#", 0)]) == [0x80, 0x80]


def test_acl_anonymous_section_and_mosquitto_sub(make_broker, acl):
    b = make_broker("--acl_file", str(acl))
    topic = "public/" + unique("news")
    sub = MosquittoSub(b.port, topic, qos=1)
    sub.wait_subscribed()
    mosquitto_pub(b.port, topic, "for everyone", qos=1, extra=["-u", "admin"])
    code, messages = sub.finish()
    assert code == 0 and messages == [(topic, 0, 1, "for everyone")]
    assert suback(b.port, [("sensors/x", 0)]) == [0x80]                  # alice's, not anonymous


def test_acl_refused_publish_is_acknowledged_and_dropped(make_broker, acl):
    b = make_broker("--acl_file", str(acl))
    admin = raw_connect(b.port, unique("admin"), username="admin")
    assert raw_subscribe(admin, "#", qos=1) == [1]
    alice = raw_connect(b.port, unique("alice"), username="alice")
    raw_publish_qos1(alice, "other/topic", "not allowed", packet_id=1)   # PUBACK all the same
    raw_publish_qos1(alice, "sensors/secret", "denied", packet_id=2)
    raw_publish_qos1(alice, "sensors/kitchen", "allowed", packet_id=3)
    # QoS 2: PUBREC as usual, then nothing delivered.
    alice.send(rawmqtt.publish("other/q2", "x", qos=2, packet_id=4))
    alice.expect(rawmqtt.PUBREC)
    alice.send(rawmqtt.ack(rawmqtt.PUBREL, 4))
    alice.expect(rawmqtt.PUBCOMP)
    mosquitto_pub(b.port, "logs/alice", "written", extra=["-u", "alice"])
    got = admin.expect(rawmqtt.PUBLISH)
    assert (got.topic, got.payload) == ("sensors/kitchen", b"allowed")
    admin.send(rawmqtt.ack(rawmqtt.PUBACK, got.packet_id))
    got = admin.expect(rawmqtt.PUBLISH)
    assert (got.topic, got.payload) == ("logs/alice", b"written")
    assert raw_next(admin, 0.3) is None
    assert b.wait_for_log(r"acl_file: dropped PUBLISH client_id=\S+ topic=other/topic")
    # Anonymous clients only read public/#: their publishes are dropped too.
    mosquitto_pub(b.port, "public/x", "anon")
    assert raw_next(admin, 0.3) is None
    admin.close()
    alice.close()


def test_acl_patterns_fill_in_client_id_and_user_name(make_broker, acl):
    b = make_broker("--acl_file", str(acl))
    admin = raw_connect(b.port, unique("admin"), username="admin")
    assert raw_subscribe(admin, "#", qos=1) == [1]
    dev = raw_connect(b.port, "dev1")
    raw_publish_qos1(dev, "clients/dev1/state", "mine", packet_id=1)
    raw_publish_qos1(dev, "clients/dev2/state", "not mine", packet_id=2)
    got = admin.expect(rawmqtt.PUBLISH)
    assert (got.topic, got.payload) == ("clients/dev1/state", b"mine")
    admin.send(rawmqtt.ack(rawmqtt.PUBACK, got.packet_id))
    assert raw_next(admin, 0.3) is None
    assert raw_subscribe(dev, "clients/dev1/#") == [0]
    assert raw_subscribe(dev, "clients/+/state", packet_id=2) == [0x80]
    # %u: each user its own inbox; anonymous clients none.
    assert suback(b.port, [("inbox/bob/#", 0)], username="bob") == [0]
    assert suback(b.port, [("inbox/alice/#", 0)], username="bob") == [0x80]
    assert suback(b.port, [("inbox/+/#", 0)], username="bob") == [0x80]
    assert suback(b.port, [("inbox/+/#", 0)]) == [0x80]
    dev.close()
    admin.close()


def test_acl_will_to_a_forbidden_topic_is_dropped(make_broker, acl):
    b = make_broker("--acl_file", str(acl))
    admin = raw_connect(b.port, unique("admin"), username="admin")
    assert raw_subscribe(admin, "#", qos=0) == [0]
    for topic in ("other/will", "sensors/will"):
        c = raw_connect(b.port, unique("w"), username="alice", will=(topic, "gone", 0, False))
        c.close()   # no DISCONNECT: the will goes out, if the ACL lets it
    got = admin.expect(rawmqtt.PUBLISH)
    assert (got.topic, got.payload) == ("sensors/will", b"gone")
    assert raw_next(admin, 0.3) is None
    assert b.wait_for_log(r"acl_file: dropped will client_id=\S+ topic=other/will")
    admin.close()


def test_sighup_reloads_the_acl_file(make_broker, acl):
    b = make_broker("--acl_file", str(acl))
    assert suback(b.port, [("extra/x", 0)], username="alice") == [0x80]
    acl.write_text(ACL.replace("topic write logs/alice", "topic read extra/#"))
    b.proc.send_signal(signal.SIGHUP)
    assert wait_log_count(b, r"acl_file: reloaded", 1)
    assert suback(b.port, [("extra/x", 0)], username="alice") == [0]
    acl.write_text("user alice\ntopic reed extra/#\n")          # broken: the old rules stay
    b.proc.send_signal(signal.SIGHUP)
    assert b.wait_for_log(r"acl_file: reload failed, keeping the old rules: .*:2: unknown "
                          r"access 'reed'")
    assert suback(b.port, [("extra/x", 0)], username="alice") == [0]


def test_sighup_acl_reload_removes_subscriptions_the_new_rules_forbid(make_broker, acl):
    """Access taken away by a reload applies to subscriptions made before it, online and
    offline; subscriptions still allowed stay."""
    b = make_broker("--acl_file", str(acl))
    alice_id = unique("alice")
    alice = raw_connect(b.port, alice_id, username="alice")
    assert raw_subscribe(alice, "sensors/t", qos=1) == [1]
    assert raw_subscribe(alice, "clients/%s/#" % alice_id, packet_id=2) == [0]   # a pattern
    offline_id = unique("away")
    away = raw_connect(b.port, offline_id, username="alice", clean=False)
    assert raw_subscribe(away, "sensors/t") == [0]
    away.close()
    admin = raw_connect(b.port, unique("admin"), username="admin")
    assert raw_subscribe(admin, "sensors/#") == [0]

    acl.write_text(ACL.replace("topic readwrite sensors/#", "topic read other/#"))
    b.proc.send_signal(signal.SIGHUP)
    assert b.wait_for_log(r"acl_file: removed 2 subscriptions the new rules forbid")

    publisher = raw_connect(b.port, unique("p"), username="admin")
    raw_publish_qos1(publisher, "sensors/t", "after")
    got = admin.expect(rawmqtt.PUBLISH)          # admin may still read everything
    assert got.payload == b"after"
    assert raw_next(alice, 0.5) is None          # alice's subscription is gone
    back = raw_connect(b.port, offline_id, username="alice", clean=False)
    assert raw_next(back, 0.5) is None           # and the offline session's too
    for c in (alice, back, admin, publisher):
        c.close()


def test_unusable_acl_file_stops_start_up(tmp_path):
    code, err = start_fails("--acl_file", str(tmp_path / "missing"))
    assert code == 2 and "key 'acl_file': cannot read ACL file" in err
    bad = tmp_path / "acl"
    bad.write_text("user alice\ntopic read a/#/b\n")
    code, err = start_fails("--acl_file", str(bad))
    assert code == 2 and "%s:2: 'a/#/b' is not a valid topic filter" % bad in err


def test_password_and_acl_files_together(make_broker, passwords, acl):
    b = make_broker("--password_file", str(passwords), "--acl_file", str(acl))
    assert suback(b.port, [("sensors/a", 1)], username="alice", password="secret") == [1]
    assert connack_code(b.port, username="alice", password="bad") == BAD_USER_OR_PASSWORD
    topic = "sensors/" + unique("t")
    sub = MosquittoSub(b.port, topic, extra=["-u", "alice", "-P", "secret"])
    sub.wait_subscribed()
    mosquitto_pub(b.port, topic, "hi", extra=["-u", "alice", "-P", "secret"])
    assert sub.finish()[1] == [(topic, 0, 0, "hi")]


# --- hook chains --------------------------------------------------------------------------------

def test_chain_runs_in_order_and_the_first_non_pass_answer_wins(make_broker):
    b = make_broker(*probe("a", connect="pass"), *probe("b", connect="deny", connect_code=4),
                    *probe("c", connect="allow"))
    assert connack_code(b.port) == BAD_USER_OR_PASSWORD
    assert b.wait_for_log("probe b: on_connect")
    ia, ib = log_index(b, "probe a: on_connect"), log_index(b, "probe b: on_connect")
    assert ia is not None and ia < ib
    assert log_index(b, "probe c: on_connect") is None   # b decided: c is never asked


def test_an_earlier_allow_ends_the_chain(make_broker):
    b = make_broker(*probe("a", connect="allow", subscribe="allow", subscribe_qos=0),
                    *probe("b", connect="deny", subscribe="deny"))
    c = raw_connect(b.port, unique("c"))
    assert raw_subscribe(c, "x", qos=2) == [0]     # a's grant, capped at QoS 0
    c.close()
    assert b.wait_for_log("probe b: on_accept")   # a passed on_accept: b was asked
    assert log_index(b, "probe b: on_connect") is None
    assert log_index(b, "probe b: on_subscribe") is None


def test_builtin_plugins_come_first_and_only_veto(make_broker, passwords, acl):
    b = make_broker("--password_file", str(passwords), "--acl_file", str(acl),
                    *probe("p", connect="allow", subscribe="allow", subscribe_qos=1))
    # A refusal of a built-in plugin is final: the probe is not asked.
    assert connack_code(b.port, username="alice", password="bad") == BAD_USER_OR_PASSWORD
    assert log_index(b, "probe p: on_connect") is None
    # What they let through goes on down the chain.
    assert suback(b.port, [("sensors/a", 2), ("other", 2)], username="alice",
                  password="secret") == [1, 0x80]
    assert b.wait_for_log("probe p: on_connect")
    # Asked about sensors/a only: acl_file had refused "other" already.
    assert b.wait_for_log("probe p: on_subscribe")
    time.sleep(0.2)
    assert sum("probe p: on_subscribe" in line for line in list(b.log_lines)) == 1


def test_publish_chain_drop_and_disconnect(make_broker):
    b = make_broker(*probe("a", publish="drop"))
    sub = raw_connect(b.port, unique("sub"))
    assert raw_subscribe(sub, "t/#", qos=1) == [1]
    c = raw_connect(b.port, unique("pub"))
    raw_publish_qos1(c, "t/x", "dropped")            # acknowledged [MQTT-3.3.5-2]
    assert raw_next(sub, 0.3) is None
    c.close()
    sub.close()

    b2 = make_broker(*probe("a", publish="disconnect"))
    c = raw_connect(b2.port, unique("pub"))
    c.send(rawmqtt.publish("t/x", "bye", qos=1, packet_id=1))
    assert c.closed_within(3)
    assert b2.wait_for_log(r"disconnected .*reason=disconnected by an on_publish hook")


def test_hook_timeout_on_connect_counts_as_deny(make_broker):
    b = make_broker("--hook_timeout_ms", "300", *probe("slow", delay_ms=5000))
    t0 = time.monotonic()
    assert connack_code(b.port) == SERVER_UNAVAILABLE
    assert time.monotonic() - t0 < 3
    assert b.wait_for_log(r"plugin slow: on_connect timed out after 300 ms")


def test_hook_timeout_on_subscribe_and_publish(make_broker):
    # "gate" allows the CONNECT, so the slow probe is only reached by SUBSCRIBE and PUBLISH.
    b = make_broker("--hook_timeout_ms", "300", *probe("gate", connect="allow"),
                    *probe("slow", delay_ms=5000, delay_user="late"))
    watcher = raw_connect(b.port, unique("w"))
    assert raw_subscribe(watcher, "t/#", qos=1) == [1]
    late = raw_connect(b.port, unique("late"), username="late")
    t0 = time.monotonic()
    assert raw_subscribe(late, "t/#", qos=1) == [0x80]
    raw_publish_qos1(late, "t/x", "too slow", packet_id=2)   # acknowledged, dropped
    assert time.monotonic() - t0 < 3
    assert raw_next(watcher, 0.3) is None
    assert b.wait_for_log(r"plugin slow: on_subscribe timed out after 300 ms")
    assert b.wait_for_log(r"plugin slow: on_publish timed out after 300 ms")
    late.close()
    watcher.close()


def test_a_throwing_hook_counts_as_deny_and_drop(make_broker):
    b = make_broker(*probe("boom", **{"throw": "connect"}))
    assert connack_code(b.port) == SERVER_UNAVAILABLE
    assert b.wait_for_log(r"plugin boom: on_connect threw: probe boom throws in connect")

    b2 = make_broker(*probe("boom", **{"throw": "subscribe,publish"}))
    watcher = raw_connect(b2.port, unique("w"))
    assert raw_subscribe(watcher, "t/#", qos=1) == [0x80]
    c = raw_connect(b2.port, unique("c"))
    raw_publish_qos1(c, "t/x", "dropped")
    assert b2.wait_for_log(r"plugin boom: on_publish threw")
    # The broker carries on serving both clients.
    c.send(rawmqtt.pingreq())
    c.expect(rawmqtt.PINGRESP)
    c.close()
    watcher.close()


def test_a_slow_hook_does_not_hold_up_other_clients(make_broker):
    """One I/O thread; one client's on_connect awaits a 3 s operation; meanwhile another
    client's messages go round as fast as ever."""
    b = make_broker("--threads", "1", "--hook_timeout_ms", "20000",
                    *probe("remote", delay_ms=3000, delay_user="slow"))
    fast = raw_connect(b.port, unique("fast"))
    assert raw_subscribe(fast, "echo", qos=1) == [1]
    slow = rawmqtt.RawClient(b.port)
    t0 = time.monotonic()
    slow.send(rawmqtt.connect(unique("slow"), username="slow"))
    assert b.wait_for_log("probe remote: on_connect client_id=slow")
    for i in range(20):
        s = time.monotonic()
        fast.send(rawmqtt.publish("echo", "m%d" % i, qos=1, packet_id=100 + i))
        got = sorted([fast.recv(), fast.recv()], key=lambda p: p.type)   # PUBLISH, PUBACK
        assert [p.type for p in got] == [rawmqtt.PUBLISH, rawmqtt.PUBACK]
        assert got[0].payload == b"m%d" % i and got[1].packet_id == 100 + i
        fast.send(rawmqtt.ack(rawmqtt.PUBACK, got[0].packet_id))
        assert time.monotonic() - s < 0.5
    assert time.monotonic() - t0 < 2.5, "the other client waited for the slow hook"
    ack = slow.expect(rawmqtt.CONNACK, timeout=10)
    assert ack.body[1] == 0 and time.monotonic() - t0 >= 2.9
    slow.close()
    fast.close()


# --- loading plugins ----------------------------------------------------------------------------

def test_missing_plugin_file_is_a_clear_start_up_error(tmp_path):
    missing = tmp_path / "libnothere.so"
    code, err = start_fails("--plugin", str(missing))
    assert code == 2
    assert "coromq: plugin 'nothere' (%s): no such file" % missing in err


def test_missing_entry_point_is_a_clear_start_up_error():
    assert NO_ENTRY.exists(), "%s not built" % NO_ENTRY
    code, err = start_fails("--plugin", str(NO_ENTRY))
    assert code == 2
    assert ("coromq: plugin 'no_entry_plugin' (%s): no entry point `extern \"C\" "
            "coromq_create_plugin`" % NO_ENTRY) in err


def test_other_plugin_loading_errors(tmp_path):
    junk = tmp_path / "libjunk.so"
    junk.write_text("not an ELF file\n")
    code, err = start_fails("--plugin", str(junk))
    assert code == 2 and "plugin 'junk' (%s): cannot load:" % junk in err
    # The entry point refuses its options (it throws): the message is passed on.
    code, err = start_fails(*probe("p", colour="blue"))
    assert code == 2 and "plugin 'p' (%s): unknown option 'colour'" % PROBE in err
    code, err = start_fails("--plugin", str(PROBE), "--plugin", str(PROBE))
    assert code == 2 and "two plugins named 'probe_plugin'" in err
    code, err = start_fails("--plugin_opt", "ghost:k=v")
    assert code == 2 and "key 'plugin_opt': no plugin named 'ghost'" in err
    code, err = start_fails("--plugin", str(PROBE), "--plugin_opt", "probe_plugin=k")
    assert code == 2 and "expected NAME:KEY=VALUE" in err
    code, err = start_fails("--hook_timeout_ms", "0")
    assert code == 2 and "hook_timeout_ms" in err


def test_plugins_and_their_options_in_the_config_file(make_broker):
    b = make_broker(config_text="plugin = gate=%s\nplugin_opt = gate:connect=deny\n"
                                "plugin_opt = gate:connect_code=4\n" % PROBE)
    assert connack_code(b.port) == BAD_USER_OR_PASSWORD
    assert b.wait_for_log(r"coromq: plugins: gate \(")
