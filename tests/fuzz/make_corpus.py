#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_decode into tests/fuzz/corpus/.

Each file is one byte choosing the protocol version (3, 4 or 5) followed by one or more
valid packets of that version, built here by hand from the specification's layouts so the
seeds do not depend on the encoder they help to test. Run it again after changing it:
    python3 tests/fuzz/make_corpus.py
"""

import pathlib
import struct

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"


# --- data representation (MQTT 5.0 section 1.5) ------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def utf8(s):
    b = s.encode() if isinstance(s, str) else s
    return u16(len(b)) + b


binary = utf8


def packet(first_byte, body):
    return bytes([first_byte]) + varint(len(body)) + body


# --- 5.0 properties (section 2.2.2.2) ------------------------------------------------------------

def p_byte(pid, v):
    return bytes([pid, v])


def p_u16(pid, v):
    return bytes([pid]) + u16(v)


def p_u32(pid, v):
    return bytes([pid]) + u32(v)


def p_varint(pid, v):
    return bytes([pid]) + varint(v)


def p_str(pid, s):
    return bytes([pid]) + utf8(s)


def p_user(k, v):
    return bytes([0x26]) + utf8(k) + utf8(v)


def props(*items):
    body = b"".join(items)
    return varint(len(body)) + body


# --- packets --------------------------------------------------------------------------------------

def connect(level, client_id, *, clean=True, keep_alive=60, will=None, username=None,
            password=None, properties=b""):
    name = "MQIsdp" if level == 3 else "MQTT"
    flags = 0x02 if clean else 0
    payload = utf8(client_id)
    if will:
        topic, message, qos, retain, will_props = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        if level == 5:
            payload += will_props
        payload += utf8(topic) + binary(message)
    if username is not None:
        flags |= 0x80
        payload += utf8(username)
    if password is not None:
        flags |= 0x40
        payload += binary(password)
    variable = utf8(name) + bytes([level, flags]) + u16(keep_alive)
    if level == 5:
        variable += properties or props()
    return packet(0x10, variable + payload)


def connack(level, code, session_present=False, properties=b""):
    body = bytes([1 if session_present else 0, code])
    if level == 5:
        body += properties or props()
    return packet(0x20, body)


def publish(level, topic, payload, *, qos=0, dup=False, retain=False, packet_id=1,
            properties=b""):
    first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0)
    body = utf8(topic)
    if qos:
        body += u16(packet_id)
    if level == 5:
        body += properties or props()
    return packet(first, body + payload)


def ack(first, level, packet_id, reason=None, properties=None):
    body = u16(packet_id)
    if level == 5 and reason is not None:
        body += bytes([reason])
        if properties is not None:
            body += properties
    return packet(first, body)


def subscribe(level, packet_id, filters, properties=b""):
    body = u16(packet_id)
    if level == 5:
        body += properties or props()
    for f, options in filters:
        body += utf8(f) + bytes([options])
    return packet(0x82, body)


def suback(level, packet_id, codes, properties=b""):
    body = u16(packet_id)
    if level == 5:
        body += properties or props()
    return packet(0x90, body + bytes(codes))


def unsubscribe(level, packet_id, filters, properties=b""):
    body = u16(packet_id)
    if level == 5:
        body += properties or props()
    return packet(0xA2, body + b"".join(utf8(f) for f in filters))


def unsuback(level, packet_id, codes=(), properties=b""):
    body = u16(packet_id)
    if level == 5:
        body += (properties or props()) + bytes(codes)
    return packet(0xB0, body)


PINGREQ = packet(0xC0, b"")
PINGRESP = packet(0xD0, b"")


def disconnect(level, reason=None, properties=None):
    body = b""
    if level == 5 and reason is not None:
        body = bytes([reason]) + (properties if properties is not None else b"")
    return packet(0xE0, body)


def auth(reason=None, properties=None):
    body = b""
    if reason is not None:
        body = bytes([reason]) + (properties if properties is not None else b"")
    return packet(0xF0, body)


# --- the seeds ------------------------------------------------------------------------------------

def seeds():
    v31, v311, v5 = 3, 4, 5
    will5 = props(p_u32(0x18, 30), p_byte(0x01, 1), p_u32(0x02, 3600), p_str(0x03, "text/plain"),
                  p_str(0x08, "reply/to"), p_str(0x09, b"\x01\x02"), p_user("k", "v"))
    pub5_props = props(p_byte(0x01, 1), p_u32(0x02, 60), p_u16(0x23, 7), p_str(0x08, "resp"),
                       p_str(0x09, b"corr"), p_user("a", "1"), p_user("a", "2"),
                       p_str(0x03, "application/json"))
    reason_props = props(p_str(0x1F, "because"), p_user("x", "y"))

    yield "v31_connect", v31, connect(v31, "client-3.1", will=("w/t", b"bye", 1, False, b""),
                                      username="user", password=b"pass")
    yield "v31_publish_qos1", v31, publish(v31, "a/b", b"hello", qos=1, packet_id=10)
    yield "v31_session", v31, (connect(v31, "c") + subscribe(v31, 1, [("a/+", 1)]) +
                               publish(v31, "a/x", b"1") + PINGREQ + disconnect(v31))

    yield "v311_connect", v311, connect(v311, "client-1", clean=False, keep_alive=30,
                                        will=("will/topic", b"gone", 2, True, b""),
                                        username="alice", password=b"\x00secret")
    yield "v311_connect_empty_id", v311, connect(v311, "", keep_alive=0)
    yield "v311_connack", v311, connack(v311, 0, session_present=True) + connack(v311, 5)
    yield "v311_publish_qos0", v311, publish(v311, "sport/tennis", b"0123456789abcdef")
    yield "v311_publish_qos2_dup_retain", v311, publish(v311, "s/t/p", b"\x00\xff" * 64, qos=2,
                                                        dup=True, retain=True, packet_id=65535)
    yield "v311_acks", v311, (ack(0x40, v311, 1) + ack(0x50, v311, 2) + ack(0x62, v311, 2) +
                              ack(0x70, v311, 2))
    yield "v311_subscribe", v311, subscribe(v311, 7, [("sport/#", 0), ("+/+", 1), ("$SYS/x", 2)])
    yield "v311_suback", v311, suback(v311, 7, [0x00, 0x01, 0x02, 0x80])
    yield "v311_unsubscribe", v311, unsubscribe(v311, 8, ["sport/#", "/finance"])
    yield "v311_unsuback_ping_disconnect", v311, (unsuback(v311, 8) + PINGREQ + PINGRESP +
                                                  disconnect(v311))

    yield "v5_connect", v5, connect(
        v5, "client-5", keep_alive=120, will=("w", b"payload", 1, True, will5), username="bob",
        password=b"pw",
        properties=props(p_u32(0x11, 300), p_u16(0x21, 20), p_u32(0x27, 65536), p_u16(0x22, 10),
                         p_byte(0x19, 1), p_byte(0x17, 0), p_user("app", "coromq"),
                         p_str(0x15, "SCRAM"), p_str(0x16, b"\x01\x02\x03")))
    yield "v5_connack", v5, connack(
        v5, 0x00, session_present=True,
        properties=props(p_u32(0x11, 0), p_u16(0x21, 100), p_byte(0x24, 1), p_byte(0x25, 1),
                         p_u32(0x27, 1 << 20), p_str(0x12, "auto-1"), p_u16(0x22, 16),
                         p_byte(0x28, 1), p_byte(0x29, 1), p_byte(0x2A, 1), p_u16(0x13, 30),
                         p_str(0x1A, "info"), p_str(0x1C, "other:1883"))) + connack(v5, 0x87)
    yield "v5_publish_props", v5, publish(v5, "sport/tennis/player1", b"x" * 256, qos=1,
                                          packet_id=42, properties=pub5_props)
    yield "v5_publish_alias_empty_topic", v5, publish(v5, "", b"aliased", qos=0,
                                                      properties=props(p_u16(0x23, 7)))
    yield "v5_publish_sub_ids", v5, publish(v5, "a/b", b"", qos=2, retain=True, packet_id=3,
                                            properties=props(p_varint(0x0B, 1),
                                                             p_varint(0x0B, 268435455)))
    yield "v5_acks", v5, (ack(0x40, v5, 1) + ack(0x40, v5, 2, 0x10) +
                          ack(0x50, v5, 3, 0x80, reason_props) + ack(0x62, v5, 3, 0x92, props()) +
                          ack(0x70, v5, 3, 0x00, reason_props))
    yield "v5_subscribe", v5, subscribe(
        v5, 9, [("sport/#", 0x00), ("$share/g/a/+", 0x01), ("x", 0x02 | 0x04 | 0x08 | 0x20)],
        properties=props(p_varint(0x0B, 5), p_user("k", "v")))
    yield "v5_suback", v5, suback(v5, 9, [0x00, 0x01, 0x02, 0x80, 0x8F, 0x9E, 0xA1, 0xA2],
                                  properties=reason_props)
    yield "v5_unsubscribe_unsuback", v5, (
        unsubscribe(v5, 11, ["sport/#", "$share/g/a"], properties=props(p_user("k", "v"))) +
        unsuback(v5, 11, [0x00, 0x11], properties=reason_props))
    yield "v5_disconnect_auth", v5, (
        auth(0x18, props(p_str(0x15, "SCRAM"), p_str(0x16, b"\x10\x20"))) + auth() +
        disconnect(v5, 0x04, props(p_u32(0x11, 10), p_str(0x1F, "bye"), p_str(0x1C, "srv"))) +
        disconnect(v5, 0x00) + disconnect(v5))
    yield "v5_session", v5, (connect(v5, "s") + subscribe(v5, 1, [("t/#", 1)]) +
                             publish(v5, "t/1", b"\x00" * 16, qos=1, packet_id=1) +
                             ack(0x40, v5, 1) + PINGREQ + PINGRESP + disconnect(v5))


def main():
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.glob("*.bin"):
        old.unlink()
    for name, version, data in seeds():
        (CORPUS / f"{name}.bin").write_bytes(bytes([version]) + data)
    print(f"wrote {len(list(CORPUS.glob('*.bin')))} seeds to {CORPUS}")


if __name__ == "__main__":
    main()
