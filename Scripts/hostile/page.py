#!/usr/bin/env python3
"""Hostile HTTP clients against a real coordinator's live page (Scripts/test-hostile, part D).

A coordinator runs a small training study with its HTTP port on (the live page, /metrics,
/healthz) and two local workers, while plain sockets do what a careless or hostile client of an
exposed port would: hold hundreds of idle connections (more than the coordinator keeps), send a
request one byte a second (slowloris), send a megabyte without a line break, thousands of header
lines, binary garbage, other methods and versions, and a worker says hello with markup in its
name. Checked: each gets its refusal, the page escapes what peers chose, the coordinator's memory
stays bounded, and the study finishes with every trial done, as without the attack.

Usage: page.py MINIMA WORKDIR   (prints one line per check and exits 1 if any failed)
"""
import json, os, select, socket, subprocess, sys, threading, time, urllib.request
from support import PeakMemory, check, finish, free_port, idle_connections, wait_or_kill
import zmq

MINIMA, WORK = sys.argv[1], sys.argv[2]



def exchange(port, data, wait=3.0, pace=None):
    """Sends `data` (all at once, or one byte per `pace` seconds) and returns what comes back
    until the server closes (or `wait` passes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    received = b""
    try:
        if pace is None:
            s.sendall(data)
        else:
            for byte in data:
                if select.select([s], [], [], 0)[0]:
                    break   # the server answered: stop sending and read it
                s.sendall(bytes([byte]))
                time.sleep(pace)
    except (ConnectionResetError, BrokenPipeError):
        pass   # the server answered and closed while we were still sending: read its answer
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return received


def status_line(response):
    return response.split(b"\r\n", 1)[0].decode("latin-1") if response else "(nothing)"


def get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return response.status, dict(response.headers), response.read().decode("utf-8", "replace")


def main():
    spec = os.path.join(WORK, "spec.yaml")
    with open(spec, "w") as f:
        f.write("name: http-attack\nseed: 8\nrestarts: 300\n"
                "data: {dataset: mnist10, training-samples: 8000, test-samples: 500}\n"
                "model: {width: [10, 50]}\noptimizer: {batch-size: 50, learning-rate: 0.1}\nstopping: {epochs: 4}\n")
    http, workers = free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{workers}"
    log = open(os.path.join(WORK, "coordinator.err"), "w")
    coordinator = subprocess.Popen([MINIMA, "coordinator", spec, "--ledger", os.path.join(WORK, "ledger.sqlite"), "--bind", endpoint,
                                    "--http-port", str(http), "--local-workers", "2", "--keep-running"], stdout=subprocess.PIPE, stderr=log)
    for _ in range(200):
        try:
            if get(http, "/healthz", timeout=1)[2] == "ok\n":
                break
        except Exception:
            time.sleep(0.1)
    memory = PeakMemory(coordinator.pid)
    done_before = json.loads(get(http, "/progress.json")[2])["counts"]["done"]

    # A worker whose name is markup (it asks for no trials).
    context = zmq.Context()
    impostor = context.socket(zmq.DEALER)
    impostor.setsockopt(zmq.LINGER, 0)
    impostor.connect(endpoint)
    impostor.send_multipart([b"MINIMA1", b"hello", json.dumps({"versions": [1], "worker": "<script>alert('worker')</script>", "threads": 1, "instructionSet": "hostile", "kinds": ["train"], "credit": 0}).encode()])
    time.sleep(0.5)
    page = get(http, "/")[2]
    check("a worker's name is escaped on the page", "<script>alert('worker')" not in page and "&lt;script&gt;alert(" in page)

    # Hundreds of idle connections: more than the coordinator keeps open.
    idle = idle_connections(http, 300)
    time.sleep(0.5)
    closed = 0
    for s in idle:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    check("connections beyond the limit are closed at once", closed >= len(idle) - 64, f"{len(idle)} opened, {closed} closed within 0.5 s")

    # While they are held: slowloris, a huge request, many headers, garbage, other methods.
    results = {}

    def slow():
        started = time.time()
        results["slow"] = exchange(http, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-a: b\r\n" * 20, wait=12, pace=0.5)
        results["slow seconds"] = time.time() - started
    for s in idle:
        s.close()
    time.sleep(0.5)
    slow_thread = threading.Thread(target=slow)
    slow_thread.start()
    huge = exchange(http, b"GET /" + b"a" * (1 << 20), wait=5)
    check("a megabyte without a line break is refused", status_line(huge).startswith("HTTP/1.0 431"), status_line(huge))
    many = exchange(http, b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 5000 + b"\r\n", wait=5)
    check("thousands of header lines are refused", status_line(many).startswith("HTTP/1.0 431"), status_line(many))
    garbage = exchange(http, os.urandom(3000) + b"\r\n\r\n", wait=5)
    check("binary garbage is refused", status_line(garbage).startswith("HTTP/1.0 400"), status_line(garbage))
    post = exchange(http, b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", wait=5)
    check("other methods are refused", status_line(post).startswith("HTTP/1.0 405"), status_line(post))
    h2 = exchange(http, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", wait=5)
    check("an HTTP/2 preface is refused", status_line(h2).startswith("HTTP/1.0 4"), status_line(h2))
    injected = exchange(http, b"GET /<script>alert(1)</script> HTTP/1.1\r\n\r\n", wait=5)
    check("an unknown path is 404 and not echoed", status_line(injected).startswith("HTTP/1.0 404") and b"<script>" not in injected, status_line(injected))
    slow_thread.join()
    check("a request sent one byte every half second is cut off (408)", status_line(results.get("slow", b"")).startswith("HTTP/1.0 408"),
          f"{status_line(results.get('slow', b''))} after {results.get('slow seconds', 0):.1f} s")

    # The page still works and shows what peers chose as text.
    code, headers, page = get(http, "/")
    check("the page answers after the attacks", code == 200 and "data-state=" in page, f"HTTP {code}, {len(page)} bytes")
    policy = headers.get("Content-Security-Policy", "")
    check("the page forbids scripts other than its own", "default-src 'none'" in policy and "script-src 'sha256-" in policy, policy[:80])

    counts = json.loads(get(http, "/progress.json")[2])["counts"]
    check("workers kept completing trials during the attacks", counts["done"] + counts["failed"] > done_before, f"{done_before} → {counts['done']} done")
    impostor.close()
    context.term()
    # It keeps running after the study (--keep-running): wait for the end, then stop it.
    deadline = time.time() + 300
    while time.time() < deadline:
        counts = json.loads(get(http, "/progress.json")[2])["counts"]
        if counts["pending"] + counts["running"] == 0:
            break
        time.sleep(0.5)
    coordinator.terminate()
    code = wait_or_kill(coordinator, 30)
    peak = memory.stop()
    summary = json.loads(coordinator.stdout.read() or b"{}")
    check("the study completed undisturbed", code == 0 and summary.get("counts", {}).get("done") == 600, f"exit {code}, {summary.get('counts')}")
    check("coordinator memory stayed bounded", peak < 300, f"RSS {memory.baseline:.0f} MB at start, peak {peak:.0f} MB (bound 300 MB)")
    finish("hostile HTTP clients")


if __name__ == "__main__":
    main()
