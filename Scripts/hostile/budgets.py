#!/usr/bin/env python3
"""Budgets that hold across connections (Scripts/test-hostile, part F; issue 18, items 4 to 7).

A. The combined attacks of items 4 and 5 on one coordinator, at once: 300 connections each
   fetching the whole dataset archive and never reading, 4 connections each sending a message of
   150 frames of 3.5 MiB, and 1,100 idle connections to the HTTP port. Meanwhile a worker joins
   and must get trials, `minima status` must answer, and the coordinator's peak memory must stay
   within 300 MB (it was 1.8 GB for the fetches and 2.1 GB for the frames).
B. Item 6: a worker with 4 threads and a 1.2 GB memory budget, under a 2.2 GB address-space
   limit, given 4 maximal spin glasses (H = 4, Λ = 236, about 530 MB of couplings each): all
   complete, at most two at a time (the previous build aborted: four at once do not fit).
C. Item 7: an exact Hessian spectrum of 4,450 parameters under a 3 s lease: the worker stops it
   at the limit and reports it timed out, instead of running for a minute and reporting it done.

Usage: budgets.py MINIMA WORKDIR   (prints one line per check and exits 1 if any failed)
"""
import json, os, sqlite3, subprocess, sys, threading, time
from support import PeakMemory, check, finish, free_port, idle_connections, rss_mb, wait_or_kill
import zmq

MINIMA, WORK = sys.argv[1], sys.argv[2]
SIG = b"MINIMA1"
MNIST10 = "b48fda5c225466a299fb7faecc0d948dac80e2caa690ebc928f51f4714e99344"


def train_task(index, hidden=(32,), epochs=2, probes=None, samples=20000):
    trial = {"seed": 99, "trialIndex": index,
             "data": {"dataset": "mnist10", "datasetSHA256": MNIST10, "trainingSubset": {"first": {"_0": samples}}, "validationCount": 0, "testLimit": 1000},
             "model": {"hidden": list(hidden), "activation": "tanh", "loss": "softmax-cross-entropy"},
             "initialization": {"scheme": "fan-in-uniform", "scale": 1.0},
             "optimizer": {"batchSize": 10, "learningRate": 0.05, "momentum": 0, "nesterov": False, "weightDecay": 0},
             "schedule": {"constant": {}}, "stopping": {"maxEpochs": epochs}}
    if probes:
        trial["probes"] = probes
    return {"kind": "train", "trial": trial}


def send(sock, kind, body):
    try:
        sock.send_multipart([SIG, kind.encode(), json.dumps(body).encode()], flags=zmq.NOBLOCK)
    except zmq.Again:
        pass


def dealer(context, endpoint):
    s = context.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    return s


def combined_attack(context):
    tasks = os.path.join(WORK, "tasks.json")
    json.dump([train_task(i) for i in range(40)], open(tasks, "w"))
    port, http = free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    log = open(os.path.join(WORK, "coordinator.err"), "w")
    coordinator = subprocess.Popen([MINIMA, "coordinator", "--bind", endpoint, "--ledger", os.path.join(WORK, "attacked.sqlite"), "--tasks", tasks,
                                    "--heartbeat-ms", "500", "--http-port", str(http)], stdout=subprocess.PIPE, stderr=log)
    time.sleep(1.0)
    memory = PeakMemory(coordinator.pid, interval=0.02)

    # 1,100 idle connections to the HTTP port (item 5).
    idle = idle_connections(http, 1100)
    # 300 connections each fetching the whole archive, never reading (item 4).
    fetchers = []
    for i in range(300):
        s = dealer(context, endpoint)
        s.setsockopt(zmq.RCVHWM, 1)
        send(s, "hello", {"versions": [1], "worker": f"fetcher-{i}", "threads": 1, "instructionSet": "hostile", "kinds": ["train"], "credit": 0})
        for offset in range(0, 8 << 20, 4 << 20):
            send(s, "fetch", {"dataset": MNIST10, "offset": offset, "length": 4 << 20})
        fetchers.append(s)
    # 4 connections each sending one message of 150 frames of 3.5 MiB (item 4), from threads of
    # their own context so that they arrive together.
    frame = b"x" * int(3.5 * (1 << 20))
    blasting = zmq.Context(io_threads=2)

    def blast():
        s = blasting.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(endpoint)
        try:
            s.send_multipart([SIG, b"results"] + [frame] * 150)
        except zmq.ZMQError:
            pass
        time.sleep(6)   # until it has been sent, or cut off
        s.close()
    threads = [threading.Thread(target=blast, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)

    # A worker joining now gets trials, and status answers.
    worker_log = os.path.join(WORK, "worker.log")
    worker = subprocess.Popen([MINIMA, "worker", "--connect", endpoint, "--threads", "1", "--name", "latecomer", "--heartbeat-ms", "500",
                               "--execution-log", worker_log], stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "worker.err"), "w"))
    deadline, ran = time.time() + 20, 0
    while time.time() < deadline and ran == 0:
        time.sleep(0.5)
        ran = sum(1 for _ in open(worker_log)) if os.path.exists(worker_log) else 0
    check("a worker joining during the attacks gets trials within 20 s", ran > 0, f"{ran} trials finished")
    out = subprocess.run([MINIMA, "status", endpoint, "--json", "--timeout", "10"], capture_output=True, text=True, timeout=30)
    check("status answers during the attacks", out.returncode == 0 and "counts" in out.stdout, out.stderr.strip()[:200])
    time.sleep(2.0)
    check("the coordinator's memory stays within 300 MB under the combined attacks", memory.peak <= 300,
          f"RSS {memory.baseline:.0f} MB at start, peak {memory.peak:.0f} MB")
    for t in threads:
        t.join(timeout=30)
    for s in fetchers:
        s.close(linger=0)
    for c in idle:
        c.close()
    code = wait_or_kill(coordinator, 240)
    worker.wait(timeout=30)
    memory.stop()
    summary = json.loads(coordinator.stdout.read() or b"{}")
    check("the study completed", code == 0 and summary.get("counts", {}).get("done") == 40, f"exit {code}, {summary.get('counts')}")
    log.close()
    closed = open(os.path.join(WORK, "coordinator.err")).read().count("of unfinished messages in the receive queue")
    check("the connections sending 150-frame messages were closed", closed >= 4, f"{closed} closed")


def memory_budget():
    """Item 6: 4 maximal spin glasses on 4 threads within a 1.2 GB budget."""
    tasks = os.path.join(WORK, "glasses.json")
    json.dump([{"kind": "spin-glass", "trial": {
        "seed": 7, "trialIndex": i, "order": 4, "spins": 236, "realization": i,
        "optimizer": {"learningRate": 0.1, "noise": 0}, "schedule": {"constant": {}}, "stopping": {"maxEpochs": 3}, "computeIndex": False}}
        for i in range(4)], open(tasks, "w"))
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    coordinator = subprocess.Popen([MINIMA, "coordinator", "--bind", endpoint, "--ledger", os.path.join(WORK, "glasses.sqlite"), "--tasks", tasks],
                                   stdout=subprocess.PIPE, stderr=open(os.path.join(WORK, "glasses-coordinator.err"), "w"))
    time.sleep(0.5)
    # Under a 2.2 GB address-space limit, as a batch system sets one: 4 × 530 MB at once does
    # not fit (the previous build aborted: "failed to allocate 530254004 bytes").
    worker = subprocess.Popen(["prlimit", "--as=2200000000", MINIMA, "worker", "--connect", endpoint, "--threads", "4", "--memory-budget", "1.2", "--name", "big"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "glasses-worker.err"), "w"))
    memory = PeakMemory(worker.pid, interval=0.05)
    code = wait_or_kill(coordinator, 600)
    worker_code = worker.wait(timeout=30)
    peak = memory.stop()
    summary = json.loads(coordinator.stdout.read() or b"{}")
    check("4 maximal spin glasses on 4 threads all complete within a 1.2 GB budget", code == 0 and worker_code == 0 and summary.get("counts", {}).get("done") == 4,
          f"coordinator exit {code}, worker exit {worker_code}, {summary.get('counts')}")
    check("the worker's memory stayed near two trials' worth (budget 1.2 GB)", peak <= 1400, f"worker peak RSS {peak:.0f} MB")
    help_text = subprocess.run([MINIMA, "worker", "--help"], capture_output=True, text=True).stdout
    check("minima worker --help states the memory budget", "--memory-budget" in help_text and "80%" in help_text)


def time_limit():
    """Item 7: a lease's time limit stops an exact spectrum."""
    tasks = os.path.join(WORK, "spectrum.json")
    probes = {"samples": 400, "hessian": {"extremes": 2, "maximumSteps": 20, "tolerance": 1e-6, "exactBelow": 5000,
                                          "epsilon": 0.01, "minimumTolerance": 0.01}}
    json.dump([train_task(0, hidden=(40,), epochs=1, probes=probes, samples=1000)], open(tasks, "w"))
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    coordinator = subprocess.Popen([MINIMA, "coordinator", "--bind", endpoint, "--ledger", os.path.join(WORK, "spectrum.sqlite"), "--tasks", tasks,
                                    "--time-limit", "3", "--heartbeat-ms", "500"],
                                   stdout=subprocess.PIPE, stderr=open(os.path.join(WORK, "spectrum.err"), "w"))
    worker_log = os.path.join(WORK, "spectrum-worker.jsonl")
    worker = subprocess.Popen([MINIMA, "worker", "--connect", endpoint, "--threads", "1", "--name", "spectral", "--heartbeat-ms", "500",
                               "--execution-log", worker_log], stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "spectrum-worker.err"), "w"))
    code = wait_or_kill(coordinator, 300)
    ended = time.time()
    wait_or_kill(worker, 120)
    lingered = time.time() - ended
    row = sqlite3.connect(os.path.join(WORK, "spectrum.sqlite")).execute("select state, failure from trials").fetchone()
    check("an exact spectrum under a 3 s lease ends as timed out", code == 0 and row is not None and row[0] == "failed" and "time limit" in (row[1] or ""),
          f"{row[0] if row else None}: {(row[1] or '')[:160] if row else ''}")
    events = [json.loads(line) for line in open(worker_log)] if os.path.exists(worker_log) else []
    finished = [e for e in events if e.get("event") == "finished"]
    check("the worker stopped each attempt at its limit and never reported it completed", finished and not any(e.get("ok") for e in finished),
          f"{len(finished)} attempts reported, {sum(1 for e in finished if e.get('ok'))} as completed; the worker left {lingered:.1f} s after the coordinator")


def main():
    context = zmq.Context()
    combined_attack(context)
    memory_budget()
    time_limit()
    finish("budgets")


if __name__ == "__main__":
    main()
