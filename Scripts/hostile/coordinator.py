#!/usr/bin/env python3
"""A hostile coordinator against a real worker (Scripts/test-hostile, part B).

A pyzmq ROUTER speaks the protocol to a real `minima worker` and tries what the hostile test
run of issue 9 did: dataset archives whose names climb out of the cache, sizes that are negative
or enormous, chunks announcing 2^62 bytes, gzip bombs, a dataset hash that is a path, leases with
time limits of NaN, infinity and 1e18, an unknown-dataset reply, and SIGTERM while the worker
waits for a dataset. The worker must never write outside its cache, never crash, and never wait
forever: every lease gets a report, and it exits when told.

Usage: coordinator.py MINIMA WORKDIR   (prints one line per check and exits 1 if any failed)
"""
import gzip, hashlib, json, os, signal, subprocess, sys, time
from support import check, finish
import zmq

MINIMA, WORK = sys.argv[1], sys.argv[2]
SIG = b"MINIMA1"



def idx_labels(values):
    return bytes([0, 0, 8, 1]) + len(values).to_bytes(4, "big") + bytes(values)


def archive(files):
    """A MINIMA-DATASET1 archive of (name, bytes, declared size) triples."""
    manifest = {"files": [{"name": name, "bytes": len(content) if size is None else size, "sha256": hashlib.sha256(content).hexdigest()}
                          for name, content, size in files]}
    return b"MINIMA-DATASET1\n" + json.dumps(manifest).encode() + b"\n" + b"".join(content for _, content, _ in files)


NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
small = idx_labels([1, 2, 3])
ATTACKS = {
    "names that climb out of the cache": archive([("../../../escaped-" + n, small, len(small)) for n in NAMES]),
    "a negative size": archive([(n, small, -5 if i == 1 else len(small)) for i, n in enumerate(NAMES)]),
    "a size of 2^62": archive([(n, small, 2**62 if i == 0 else len(small)) for i, n in enumerate(NAMES)]),
    "a gzip bomb as a file": archive([(n, gzip.compress(bytes(64 << 20), 9) if i == 0 else small, None) for i, n in enumerate(NAMES)]),
}


def lease(number, trial, task, limit=None):
    body = {"lease": number, "trial": trial, "attempt": 1, "task": task}
    if limit is not None:
        body["timeLimitSeconds"] = limit
    return body


def train(sha):
    return {"kind": "train", "trial": {
        "seed": 1, "trialIndex": 0,
        "data": {"dataset": "idx:/nonexistent-minima-dataset", "datasetSHA256": sha, "trainingSubset": {"all": {}}, "validationCount": 0},
        "model": {"hidden": [4], "activation": "relu", "loss": "softmax-cross-entropy"},
        "initialization": {"scheme": "fan-in-uniform", "scale": 1.0},
        "optimizer": {"batchSize": 10, "learningRate": 0.1, "momentum": 0, "nesterov": False, "weightDecay": 0},
        "schedule": {"constant": {}}, "stopping": {"maxEpochs": 1}}}


def main():
    cache = os.path.join(WORK, "sandbox", "cache")
    os.makedirs(cache)
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    errors = open(os.path.join(WORK, "worker.err"), "w")
    worker = subprocess.Popen([MINIMA, "worker", "--connect", f"tcp://127.0.0.1:{port}", "--threads", "1", "--prefetch", "0",
                               "--heartbeat-ms", "200", "--dataset-cache", cache, "--name", "target"],
                              stdout=subprocess.DEVNULL, stderr=errors)
    peer = None
    reports = {}
    served = {}
    next_lease = [100]

    def pump(seconds, until=None):
        nonlocal peer
        deadline = time.time() + seconds
        while time.time() < deadline:
            if until and until():
                return True
            if not router.poll(50):
                if peer:
                    router.send_multipart([peer, SIG, b"heartbeat", b"{}"])
                continue
            frames = router.recv_multipart()
            peer, kind, body = frames[0], frames[2].decode(), json.loads(frames[3]) if len(frames) > 3 else {}
            if kind == "hello":
                router.send_multipart([peer, SIG, b"welcome", json.dumps({"version": 1, "experiment": "hostile", "heartbeatMilliseconds": 200, "liveness": 3}).encode()])
            elif kind == "results":
                for report in body["results"]:
                    reports[report["lease"]] = report
                router.send_multipart([peer, SIG, b"ack", json.dumps({"leases": [r["lease"] for r in body["results"]]}).encode()])
            elif kind == "fetch" and body["dataset"] in served:
                payload = served[body["dataset"]]
                if payload is None:
                    router.send_multipart([peer, SIG, b"error", json.dumps({"code": "unknown-dataset", "message": "no such dataset here"}).encode()])
                else:
                    total, data = payload
                    router.send_multipart([peer, SIG, b"chunk", json.dumps({"dataset": body["dataset"], "offset": body["offset"], "total": total}).encode(), data])
        return until() if until else True

    def give(task, limit=None):
        number = next_lease[0]
        next_lease[0] += 1
        router.send_multipart([peer, SIG, b"trials", json.dumps({"leases": [lease(number, 0, task, limit)]}).encode()])
        return number

    pump(10, until=lambda: peer is not None)
    check("the worker connects to the hostile coordinator", peer is not None)

    for name, data in ATTACKS.items():
        sha = hashlib.sha256(name.encode()).hexdigest()
        served[sha] = (len(data), data)
        number = give(train(sha))
        got = pump(20, until=lambda: number in reports)
        report = reports.get(number, {})
        check(f"an archive with {name}: the trial fails with a reason, the worker lives",
              got and report.get("outcome") is None and worker.poll() is None, (report.get("failure") or "no report")[:110])

    sha = hashlib.sha256(b"announces 2^62").hexdigest()
    served[sha] = (2**62, b"MINIMA-DATASET1\n")
    number = give(train(sha))
    check("a chunk announcing 2^62 bytes: the trial fails, the worker lives", pump(20, until=lambda: number in reports) and worker.poll() is None,
          (reports.get(number, {}).get("failure") or "no report")[:110])

    number = give(train("../../../escaped-by-hash"))
    check("a dataset hash that is a path: the trial fails, nothing is fetched", pump(20, until=lambda: number in reports) and worker.poll() is None,
          (reports.get(number, {}).get("failure") or "no report")[:110])

    sha = hashlib.sha256(b"unknown").hexdigest()
    served[sha] = None
    number = give(train(sha))
    check("an unknown-dataset reply ends the wait: the trial fails", pump(20, until=lambda: number in reports),
          (reports.get(number, {}).get("failure") or "no report")[:110])

    for limit in ["nan", "inf", 1e18, -1, 0]:
        number = give({"kind": "sleep", "milliseconds": 10}, limit=limit)
        got = pump(10, until=lambda: number in reports)
        check(f"a lease with time limit {limit!r}: it is reported and the worker lives", got and worker.poll() is None)

    escaped = [os.path.join(root, f) for root, _, files in os.walk(os.path.join(WORK)) for f in files if "escaped" in f]
    check("nothing was written outside the cache", not escaped, ", ".join(escaped[:3]))

    # SIGTERM while waiting for a dataset that never comes: the worker exits.
    sha = hashlib.sha256(b"never").hexdigest()
    give(train(sha))
    pump(1.0)
    worker.send_signal(signal.SIGTERM)
    deadline = time.time() + 15
    while worker.poll() is None and time.time() < deadline:
        pump(0.2)
    check("SIGTERM ends a wait for a dataset that never comes", worker.poll() is not None and worker.returncode >= 0, f"exit {worker.returncode}")
    if worker.poll() is None:
        worker.kill()
    status_against_a_liar(context)
    finish("hostile coordinator")


def status_against_a_liar(context):
    """Issue 18, item 11: `minima status` reads a coordinator's answer as untrusted. A real
    coordinator's answer is the template; the liar sends counts of 2^63-1 and escape sequences."""
    template_ledger = os.path.join(WORK, "template.sqlite")
    real = subprocess.Popen([MINIMA, "coordinator", "--bind", "tcp://127.0.0.1:0", "--ledger", template_ledger, "--sleep", "3"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    endpoint = None
    deadline = time.time() + 20
    while endpoint is None and time.time() < deadline:
        line = real.stderr.readline()
        if "listening on " in line:
            endpoint = line.split("listening on ")[1].strip()
    template = json.loads(subprocess.run([MINIMA, "status", endpoint, "--json"], capture_output=True, text=True, timeout=20).stdout)
    real.terminate()
    real.wait(timeout=20)
    liar = context.socket(zmq.ROUTER)
    liar.setsockopt(zmq.LINGER, 0)
    port = liar.bind_to_random_port("tcp://127.0.0.1")
    for name, change in [("counts of 2^63-1", lambda p: p["counts"].update(done=2**63 - 1, failed=2**63 - 1)),
                         ("negative counts", lambda p: p["counts"].update(pending=-5)),
                         ("escape sequences in its names", lambda p: p.update(experiment="x\x1b[2J\x1b[31mowned", quarantinedWorkers=["\x1b]0;title\x07w"]))]:
        answer = json.loads(json.dumps(template))
        change(answer)
        status = subprocess.Popen([MINIMA, "status", f"tcp://127.0.0.1:{port}", "--timeout", "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if liar.poll(10000):
            frames = liar.recv_multipart()
            liar.send_multipart([frames[0], SIG, b"progress", json.dumps(answer).encode()])
        out, err = status.communicate(timeout=20)
        text = (out + err).decode("utf-8", "replace")
        refused = "counts" in name or "negative" in name
        check(f"minima status against a coordinator that sends {name}: " + ("refused with the field" if refused else "shown escaped"),
              status.returncode == (1 if refused else 0) and "\x1b" not in text and (("counts." in text) if refused else "\\u{1B}" in text),
              f"exit {status.returncode}: {text.strip().splitlines()[-1][:100] if text.strip() else ''}")
    liar.close()


if __name__ == "__main__":
    main()
