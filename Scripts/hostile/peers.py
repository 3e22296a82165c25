#!/usr/bin/env python3
"""Hostile peers against a real coordinator (Scripts/test-hostile, part A).

A coordinator runs a small training study; two honest workers (the real `minima worker`) work on
it while pyzmq clients do what the hostile test run of issue 9 did: overflowing credit, results
forged under an honest worker's name, peers that take trials and vanish (three times), dataset
fetches never read, huge multi-frame messages, hello floods, duplicate floods, control characters
in names, outcomes of the wrong kind, garbage frames. Then: the coordinator is still up, its
memory stayed bounded (measured), the study completed, and every result equals an undisturbed run.

Usage: peers.py MINIMA WORKDIR   (prints one line per check and exits 1 if any failed)
"""
import json, os, signal, socket, sqlite3, subprocess, sys, threading, time
from support import PeakMemory, check, finish, free_port, wait_or_kill
import zmq

MINIMA, WORK = sys.argv[1], sys.argv[2]
SIG = b"MINIMA1"
MNIST10 = "b48fda5c225466a299fb7faecc0d948dac80e2caa690ebc928f51f4714e99344"   # the shipped dataset's content hash



def scheme():
    """PyTorch's default initialization under the name this build gives it (Minima 0.1 called it
    lecun-uniform), so that the suite can also be run against an older build for comparison."""
    help_text = subprocess.run([MINIMA, "train", "--help"], capture_output=True, text=True).stdout
    return "fan-in-uniform" if "fan-in-uniform" in help_text else "lecun-uniform"


def tasks(n):
    name = scheme()
    return [{"kind": "train", "trial": {
        "seed": 99, "trialIndex": i,
        "data": {"dataset": "mnist10", "datasetSHA256": MNIST10, "trainingSubset": {"first": {"_0": 20000}}, "validationCount": 0, "testLimit": 1000},
        "model": {"hidden": [32], "activation": "relu", "loss": "softmax-cross-entropy"},
        "initialization": {"scheme": name, "scale": 1.0},
        "optimizer": {"batchSize": 10, "learningRate": 0.05, "momentum": 0, "nesterov": False, "weightDecay": 0},
        "schedule": {"constant": {}}, "stopping": {"maxEpochs": 2}}} for i in range(n)]


def fingerprints(path):
    return dict(sqlite3.connect(path).execute("select trial, fingerprint from trials where state = 'done'").fetchall())


def send(sock, kind, body):
    """Never blocks: an attacker does not wait for its victim (a full queue just drops)."""
    try:
        sock.send_multipart([SIG, kind.encode(), json.dumps(body).encode()], flags=zmq.NOBLOCK)
    except zmq.Again:
        pass


def dealer(context, endpoint, identity=None):
    s = context.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if identity:
        s.setsockopt(zmq.IDENTITY, identity)
    s.connect(endpoint)
    return s


def receive(sock, timeout=2.0, want=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sock.poll(int(max(1, (deadline - time.time()) * 1000))):
            frames = sock.recv_multipart()
            kind = frames[1].decode(errors="replace") if len(frames) > 1 else ""
            if want is None or kind == want:
                return kind, (json.loads(frames[2]) if len(frames) > 2 and frames[2][:1] in (b"{", b"[") else None)
    return None, None


def hello(sock, name, credit):
    send(sock, "hello", {"versions": [1], "worker": name, "threads": 1, "instructionSet": "hostile", "kinds": ["train"], "credit": credit})


def main():
    context = zmq.Context()
    trials = 60   # long enough (about half a minute on 2 cores) that every attack lands while it runs
    task_file = os.path.join(WORK, "tasks.json")
    json.dump(tasks(trials), open(task_file, "w"))
    port, metrics = free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    ledger = os.path.join(WORK, "attacked.sqlite")
    log = open(os.path.join(WORK, "coordinator.err"), "w")
    coordinator = subprocess.Popen([MINIMA, "coordinator", "--bind", endpoint, "--ledger", ledger, "--tasks", task_file,
                                    "--heartbeat-ms", "200", "--no-speculation", "--metrics-port", str(metrics)],
                                   stdout=subprocess.PIPE, stderr=log)
    time.sleep(0.5)
    memory = PeakMemory(coordinator.pid, interval=0.05)

    # The hostile peers go first, while the study is young.
    # 2. Overflowing credit.
    greedy = dealer(context, endpoint)
    hello(greedy, "greedy", 2**63 - 1)
    send(greedy, "ready", {"credit": 2**63 - 1})
    kind, _ = receive(greedy, want="welcome")
    check("credit 2^63-1 in hello and ready: welcomed, coordinator alive", kind == "welcome" and coordinator.poll() is None)
    kind, batch = receive(greedy, want="trials")
    held = len(batch["leases"]) if batch else 0
    check("a new peer holds at most the new-peer limit of trials", 0 < held <= 64, f"{held} leases")
    # 12. An outcome of another kind than its task: not stored.
    if batch:
        lease = batch["leases"][0]
        send(greedy, "results", {"results": [{"trial": lease["trial"], "lease": lease["lease"], "outcome": {"kind": "noop"}, "seconds": 0}], "credit": 0})
    greedy.close()  # 4. …and vanishes with the rest.

    # 3. Forged results: a second connection with an honest worker's name posts for leases near its own.
    honest_log = [open(os.path.join(WORK, f"honest-{i}.err"), "w") for i in range(2)]
    honest = [subprocess.Popen([MINIMA, "worker", "--connect", endpoint, "--threads", "1", "--prefetch", "1", "--heartbeat-ms", "200",
                                "--name", f"honest-{i}"], stdout=subprocess.DEVNULL, stderr=honest_log[i]) for i in range(2)]
    time.sleep(1.0)
    forger = dealer(context, endpoint)
    hello(forger, "honest-0", 1)
    kind, batch = receive(forger, want="trials")
    if batch:
        mine = batch["leases"][0]["lease"]
        forged = [{"trial": t, "lease": mine + d, "outcome": {"kind": "noop"}, "seconds": 0} for t in range(trials) for d in (-3, -2, -1, 1, 2, 3)]
        send(forger, "results", {"results": forged, "credit": 0})
    forger.close()

    # 4. Take trials and vanish, three times, with huge credit.
    for round in range(3):
        grabber = dealer(context, endpoint)
        hello(grabber, f"grabber-{round}", 10**9)
        receive(grabber, want="trials")
        grabber.close()

    # 6a. Dataset chunks asked for and never read.
    hoarder = dealer(context, endpoint)
    hoarder.setsockopt(zmq.RCVHWM, 1)
    hello(hoarder, "hoarder", 0)
    time.sleep(0.2)
    # …and fetches with impossible offsets and lengths.
    for offset, length in [(-1, 10), (2**62, 10), (0, -5), (0, 2**62), (-(2**63), 2**63 - 1)]:
        send(hoarder, "fetch", {"dataset": MNIST10, "offset": offset, "length": length})
    for i in range(250):
        send(hoarder, "fetch", {"dataset": MNIST10, "offset": (i % 2) * (4 << 20), "length": 4 << 20})
    # 6b. One message of 40 frames of almost 4 MiB each, and 6c. ten thousand hellos.
    big = dealer(context, endpoint)
    try:
        big.send_multipart([SIG, b"results"] + [b"x" * ((4 << 20) - 16)] * 40, flags=zmq.NOBLOCK)
    except zmq.Again:
        pass
    flood = dealer(context, endpoint)
    for i in range(10_000):
        hello(flood, f"flood-{i}", 0)
    # 11. Control characters in a name: refused at hello (and never printed raw).
    evil = dealer(context, endpoint)
    hello(evil, "evil\n2026-01-01T00:00:00Z coordinator: FORGED LOG LINE\x1b[31m", 0)
    # Behind ten thousand hellos on a loaded machine the answer may take seconds: wait for it.
    kind, body = receive(evil, timeout=15, want="error")
    check("a hello whose name holds control characters is refused", kind == "error" and (body or {}).get("code") == "invalid-hello", f"{kind} {body}")
    # 8. A hundred thousand forged duplicates.
    dup = dealer(context, endpoint)
    hello(dup, "dup", 0)
    receive(dup, want="welcome")
    for start in range(0, 100_000, 1000):
        send(dup, "results", {"results": [{"trial": (start + i) % trials, "lease": 7, "outcome": {"kind": "noop"}, "seconds": 0} for i in range(1000)], "credit": 0})
    # Garbage: no frames of ours, a foreign version, an unknown type, bad JSON.
    junk = dealer(context, endpoint)
    for frames in ([b"\xff\x00"], [b"MINIMA9", b"hello", b"{}"], [SIG, b"launch-missiles", b"{}"], [SIG, b"ready", b'{"credit": "lots"}']):
        try:
            junk.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            pass
    check("the coordinator is up after every attack", coordinator.poll() is None)

    status = None
    try:
        out = subprocess.run([MINIMA, "status", endpoint, "--json", "--timeout", "15"], capture_output=True, text=True, timeout=30)
        status = json.loads(out.stdout)
    except Exception as error:
        status = {"error": str(error)}
    check("it answers status while under attack", "counts" in status, json.dumps(status.get("counts")))

    code = wait_or_kill(coordinator, 240)
    peak = memory.stop()
    for worker in honest:
        wait_or_kill(worker, 15)
    summary = json.loads(coordinator.stdout.read() or b"{}")
    check("the study completed", code == 0 and summary.get("counts", {}).get("done") == trials, f"exit {code}, {summary.get('counts')}")
    check("coordinator memory stayed bounded", peak < 512, f"RSS {memory.baseline:.0f} MB at start, peak {peak:.0f} MB (bound 512 MB)")
    stats = summary.get("statistics", {})
    check("forged, duplicate and malformed messages were counted", stats.get("rejectedResults", 0) > 0 and stats.get("malformedMessages", 0) > 0,
          f"rejected {stats.get('rejectedResults')}, duplicates {stats.get('duplicateResults')}, malformed {stats.get('malformedMessages')}")
    rows = sqlite3.connect(ledger).execute("select worker from trials").fetchall()
    check("only honest workers' results are stored", rows and all(r[0] in ("honest-0", "honest-1") for r in rows), f"{sorted({r[0] for r in rows})}")
    log.close()
    lines = open(os.path.join(WORK, "coordinator.err")).read().split("\n")
    check("peer bytes cannot forge log lines", not any(line.startswith("2026-01-01T00:00:00Z") for line in lines)
          and not any("\x1b" in line for line in lines))

    undisturbed = os.path.join(WORK, "undisturbed.sqlite")
    subprocess.run([MINIMA, "coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", undisturbed, "--tasks", task_file, "--local-workers", "1"],
                   capture_output=True, timeout=240)
    expected = fingerprints(undisturbed)
    check("every result equals an undisturbed run", len(expected) == trials and fingerprints(ledger) == expected)
    finish("hostile peers")


if __name__ == "__main__":
    main()
