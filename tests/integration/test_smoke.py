"""The broker on its defaults serves real clients: mosquitto_sub and mosquitto_pub."""
import subprocess


def test_mosquitto_pub_reaches_mosquitto_sub(broker):
    sub = subprocess.Popen(["mosquitto_sub", "-p", str(broker.port), "-t", "smoke/#", "-C", "1",
                            "-v", "-q", "1", "-W", "10"], stdout=subprocess.PIPE, text=True)
    assert broker.wait_for_log(r"connected client_id=\S+ .*keep_alive=60")
    subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", "smoke/test", "-m", "hello",
                    "-q", "1"], check=True, timeout=10)
    out, _ = sub.communicate(timeout=15)
    assert out.strip() == "smoke/test hello"
    assert sub.returncode == 0
