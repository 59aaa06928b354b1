"""Shared fixtures for the integration suite: the built coromq binary on loopback.

The binary is taken from $COROMQ_BIN (scripts/test sets it; the sanitizer stage points it at
the ASan/UBSan build), else build/src/coromq. Each broker listens on 127.0.0.1 port 0 and the
port it got is read from its start-up line, so tests never collide on ports.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"started on (.*)$")


def coromq_binary() -> str:
    path = os.environ.get("COROMQ_BIN", str(ROOT / "build" / "src" / "coromq"))
    if not os.access(path, os.X_OK):
        pytest.exit(f"coromq binary not found at {path} (build first, or set COROMQ_BIN)", 2)
    return path


class Broker:
    """A running coromq process. `port` is its first listener's port."""

    def __init__(self, args=(), config_text=None, tmp_path=None):
        cmd = [coromq_binary(), "--logging", "true"]
        if config_text is not None:
            conf = Path(tmp_path) / "coromq.conf"
            conf.write_text(config_text)
            cmd += ["--config", str(conf)]
        if not any(a == "--listener" for a in args):
            cmd += ["--listener", "mqtt://127.0.0.1:0"]
        cmd += list(args)
        self.cmd = cmd
        self.log_lines = []
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self.ports = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log_lines.append(line.rstrip("\n"))
            m = STARTED.search(line)
            if m:
                self.ports = [int(u.rsplit(":", 1)[1]) for u in m.group(1).split(", ")]
                break
        if not self.ports:
            self.proc.kill()
            out = self.proc.stdout.read() if self.proc.stdout else ""
            raise RuntimeError("coromq did not start:\n" + "\n".join(self.log_lines) + out)
        self.port = self.ports[0]
        # Keep draining the log so the broker never blocks on a full pipe.
        import threading
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log_lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.log_lines)

    def wait_for_log(self, pattern: str, timeout: float = 5.0) -> bool:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(rx.search(l) for l in list(self.log_lines)):
                return True
            time.sleep(0.02)
        return False

    def stop(self, sig=signal.SIGTERM, timeout=15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("coromq did not stop within %.0fs" % timeout)
        self._reader.join(timeout=2)
        return self.proc.returncode


@pytest.fixture
def broker(tmp_path):
    """A coromq on defaults (but loopback, port 0). Asserts a clean exit 0 on SIGTERM."""
    b = Broker(tmp_path=tmp_path)
    yield b
    code = b.stop()
    assert code == 0, "coromq exited with %s\n%s" % (code, b.log())
    assert "runtime error" not in b.log(), b.log()      # UBSan
    assert "AddressSanitizer" not in b.log(), b.log()


@pytest.fixture
def make_broker(tmp_path):
    """Factory for brokers with extra arguments or a config file; all stopped at the end."""
    started = []

    def make(*args, config_text=None):
        b = Broker(args=args, config_text=config_text, tmp_path=tmp_path)
        started.append(b)
        return b

    yield make
    for b in started:
        code = b.stop()
        assert code == 0, "coromq exited with %s\n%s" % (code, b.log())
        assert "runtime error" not in b.log(), b.log()
        assert "AddressSanitizer" not in b.log(), b.log()
