"""Throw-away certificates for the TLS tests, made with the `openssl` command line at test time
(no private key is ever committed), and small `openssl s_client` helpers.

make_pki(directory) writes:
  ca.crt / ca.key                  the test CA (trusted by clients and, for mutual TLS, the broker)
  server.crt / server.key          CN=localhost, SAN DNS:localhost, IP:127.0.0.1, serial 0x1001
  server2.crt / server2.key        the same names, a new key and serial 0x1002 (for reload tests)
  client.crt / client.key          CN=alice, clientAuth, signed by the test CA
  other-ca.crt / other-ca.key      a CA nobody trusts
  rogue-client.crt / .key          CN=mallory, signed by other-ca (a certificate, but untrusted)
  rogue-server.crt / .key          a server certificate for localhost signed by other-ca

Keys are EC P-256: they are made in milliseconds, and every client we test supports them.
"""
import hashlib
import re
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_SERIAL = 0x1001
SERVER2_SERIAL = 0x1002


def openssl(*args, input=None, timeout=20):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, input=input,
                       timeout=timeout)
    assert r.returncode == 0, "openssl %s failed:\n%s" % (" ".join(args), r.stderr)
    return r.stdout


def _key(path: Path):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))


def _ca(directory: Path, name: str, cn: str):
    key, crt = directory / (name + ".key"), directory / (name + ".crt")
    _key(key)
    openssl("req", "-x509", "-new", "-key", str(key), "-sha256", "-days", "2", "-subj", "/CN=" + cn,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", str(crt))
    return crt, key


def _leaf(directory: Path, name: str, cn: str, ca: str, serial: int, extensions: str):
    key, crt = directory / (name + ".key"), directory / (name + ".crt")
    csr, ext = directory / (name + ".csr"), directory / (name + ".ext")
    _key(key)
    openssl("req", "-new", "-key", str(key), "-subj", "/CN=" + cn, "-out", str(csr))
    ext.write_text(extensions)
    openssl("x509", "-req", "-in", str(csr), "-CA", str(directory / (ca + ".crt")),
            "-CAkey", str(directory / (ca + ".key")), "-set_serial", str(serial), "-days", "2",
            "-sha256", "-extfile", str(ext), "-out", str(crt))
    csr.unlink()
    ext.unlink()
    return crt, key


SERVER_EXT = ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
CLIENT_EXT = ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=clientAuth\n")


@dataclass
class Pki:
    dir: Path

    def __getattr__(self, name):
        # pki.server_crt -> dir/server.crt, pki.rogue_client_key -> dir/rogue-client.key
        stem, _, ext = name.rpartition("_")
        if ext not in ("crt", "key") or not stem:
            raise AttributeError(name)
        return str(self.dir / ("%s.%s" % (stem.replace("_", "-"), ext)))


def make_pki(directory) -> Pki:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    _ca(d, "ca", "coromq test CA")
    _ca(d, "other-ca", "untrusted test CA")
    _leaf(d, "server", "localhost", "ca", SERVER_SERIAL, SERVER_EXT)
    _leaf(d, "server2", "localhost", "ca", SERVER2_SERIAL, SERVER_EXT)
    _leaf(d, "client", "alice", "ca", 0x2001, CLIENT_EXT)
    _leaf(d, "rogue-client", "mallory", "other-ca", 0x3001, CLIENT_EXT)
    _leaf(d, "rogue-server", "localhost", "other-ca", 0x3002, SERVER_EXT)
    return Pki(d)


def tls_query(certfile, keyfile, cafile=None, **flags) -> str:
    """The query part of an mqtts:// or wss:// listener URL."""
    items = ["certfile=" + str(certfile), "keyfile=" + str(keyfile)]
    if cafile:
        items.append("cafile=" + str(cafile))
    items += ["%s=%s" % (k, "true" if v else "false") for k, v in flags.items()]
    return "?" + "&".join(items)


def cert_serial(path) -> int:
    out = openssl("x509", "-in", str(path), "-noout", "-serial")
    return int(out.strip().split("=", 1)[1], 16)


def cert_fingerprint(path) -> str:
    out = openssl("x509", "-in", str(path), "-noout", "-fingerprint", "-sha256")
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def s_client(port, *extra, host="127.0.0.1", timeout=10):
    """Runs `openssl s_client -connect host:port` with stdin closed; returns the
    CompletedProcess (stdout and stderr as text)."""
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (host, port), "-servername", "localhost",
           *extra]
    return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout)


def served_certificate(port, host="127.0.0.1"):
    """(serial, sha256 fingerprint) of the leaf certificate a TLS listener presents to a new
    connection, read with `openssl s_client -showcerts`."""
    r = s_client(port, "-showcerts", host=host)
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.stdout,
                      re.S)
    assert pems, "s_client showed no certificate (rc %d):\n%s\n%s" % (r.returncode, r.stdout,
                                                                      r.stderr)
    out = openssl("x509", "-noout", "-serial", "-fingerprint", "-sha256", input=pems[0] + "\n")
    serial = int(re.search(r"serial=([0-9A-Fa-f]+)", out).group(1), 16)
    fingerprint = re.search(r"Fingerprint=([0-9A-Fa-f:]+)", out).group(1).replace(":", "").lower()
    return serial, fingerprint


def python_client_context(pki: Pki, cafile=None, client=None) -> ssl.SSLContext:
    """A verifying client context for Python sockets (raw MQTT or WebSocket over TLS)."""
    ctx = ssl.create_default_context(cafile=cafile or pki.ca_crt)
    if client:
        ctx.load_cert_chain(*client)
    return ctx


def der_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()
