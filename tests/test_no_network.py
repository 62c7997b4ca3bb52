"""Processing never touches the network: trace an extraction's system calls with strace."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

LOCAL = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|sun_path=')
CONNECT = re.compile(r"\b(connect|sendto|sendmsg|bind)\((.*)")


def _bad_calls(trace: str) -> list[str]:
    """Connections that leave the machine, or any DNS lookup (port 53, resolver sockets)."""
    bad = []
    for line in trace.splitlines():
        m = CONNECT.search(line)
        if not m:
            continue
        args = m.group(2)
        if "htons(53)" in args or "nscd" in args or "resolve" in args:
            bad.append(line)  # DNS, directly or through a local resolver daemon
        elif ("AF_INET" in args or "AF_INET6" in args) and not LOCAL.search(args):
            if m.group(1) == "bind" and ('"0.0.0.0"' in args or '"::"' in args):
                bad.append(line)
            elif m.group(1) != "bind":
                bad.append(line)
    return bad


def test_detector_of_bad_calls():
    assert (
        _bad_calls(
            "connect(5, {sa_family=AF_INET, sin_port=htons(443), "
            'sin_addr=inet_addr("142.250.1.1")}, 16) = -1'
        )
        != []
    )
    assert (
        _bad_calls(
            'sendto(3, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(53), '
            'sin_addr=inet_addr("127.0.0.53")}, 16) = 1'
        )
        != []
    )
    assert _bad_calls('connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110)')
    assert (
        _bad_calls(
            "connect(5, {sa_family=AF_INET, sin_port=htons(8786), "
            'sin_addr=inet_addr("127.0.0.1")}, 16) = 0'
        )
        == []
    )


def _traced(args: list[str], trace) -> subprocess.CompletedProcess:
    strace = shutil.which("strace")
    assert strace, "strace is required (make test installs it)"
    cmd = [strace, "-f", "-qq", "-e", "trace=network", "-o", str(trace), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_trace_catches_a_connection(tmp_path):
    """Control: a UDP connect (no packet is sent) to a documentation address is caught."""
    code = (
        "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect(('192.0.2.1', 9))"
    )
    proc = _traced([sys.executable, "-c", code], tmp_path / "t.txt")
    assert proc.returncode == 0, proc.stderr
    assert any("192.0.2.1" in b for b in _bad_calls((tmp_path / "t.txt").read_text()))


def test_extraction_makes_no_network_calls(assets_dir, face_model, tmp_path):
    trace = tmp_path / "trace.txt"
    proc = _traced(
        [
            sys.executable,
            "-m",
            "facemind",
            "extract",
            str(assets_dir / "single_face.mp4"),
            "--out",
            str(tmp_path / "out"),
            "--face-model",
            str(face_model),
            "--no-progress",
        ],
        trace,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "frames" / "single_face.parquet").exists()
    bad = _bad_calls(trace.read_text())
    assert bad == [], "\n".join(bad[:20])
