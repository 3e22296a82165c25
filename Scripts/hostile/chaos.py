#!/usr/bin/env python3
"""A chaos run (Scripts/test-hostile, part G; issue 18's "Done when").

A training study with three real workers, during which the coordinator is killed with SIGKILL
three times (and started again on the same ledger and port), workers are killed with SIGKILL six
times (and started again), and one worker is stopped with SIGSTOP for 3 s. Then: every trial is
done, every acknowledged result is in the ledger, and every stored result equals an undisturbed
run's — nothing lost, duplicated or changed.

Usage: chaos.py MINIMA WORKDIR   (prints one line per check and exits 1 if any failed)
"""
import json, os, signal, sqlite3, subprocess, sys, time
from support import check, finish, free_port, wait_or_kill

MINIMA, WORK = sys.argv[1], sys.argv[2]
MNIST10 = "b48fda5c225466a299fb7faecc0d948dac80e2caa690ebc928f51f4714e99344"
TRIALS = 120


def task(index):
    return {"kind": "train", "trial": {
        "seed": 5, "trialIndex": index,
        "data": {"dataset": "mnist10", "datasetSHA256": MNIST10, "trainingSubset": {"first": {"_0": 20000}}, "validationCount": 0, "testLimit": 500},
        "model": {"hidden": [32], "activation": "tanh", "loss": "softmax-cross-entropy"},
        "initialization": {"scheme": "fan-in-uniform", "scale": 1.0},
        "optimizer": {"batchSize": 10, "learningRate": 0.05, "momentum": 0.9, "nesterov": False, "weightDecay": 0},
        "schedule": {"constant": {}}, "stopping": {"maxEpochs": 6}}}


def fingerprints(path):
    return dict(sqlite3.connect(path).execute("select trial, fingerprint from trials where state = 'done'").fetchall())


def main():
    tasks = os.path.join(WORK, "tasks.json")
    json.dump([task(i) for i in range(TRIALS)], open(tasks, "w"))
    ledger = os.path.join(WORK, "chaos.sqlite")
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    log = open(os.path.join(WORK, "coordinator.err"), "a")

    def coordinator():
        return subprocess.Popen([MINIMA, "coordinator", "--bind", endpoint, "--ledger", ledger, "--tasks", tasks, "--heartbeat-ms", "200"],
                                stdout=subprocess.PIPE, stderr=log)

    logs = []

    def worker(i, generation):
        logs.append(os.path.join(WORK, f"worker-{i}-{generation}.jsonl"))   # one per process: a new one starts its file afresh
        return subprocess.Popen([MINIMA, "worker", "--connect", endpoint, "--threads", "1", "--name", f"w{i}-{generation}", "--heartbeat-ms", "200",
                                 "--execution-log", logs[-1]], stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, f"worker-{i}.err"), "a"))

    current = coordinator()
    workers = [worker(i, 0) for i in range(3)]
    generations = [0, 0, 0]
    actions = ["worker 0", "coordinator", "worker 1", "stop 2", "worker 0", "coordinator", "cont 2", "worker 1", "worker 2", "coordinator", "worker 0"]
    done = {"coordinator": 0, "worker": 0, "stop": 0}
    for action in actions:
        time.sleep(1.0)
        if current.poll() is not None:
            break   # finished early: the remaining actions have nothing to hit
        what, _, index = action.partition(" ")
        if what == "coordinator":
            current.send_signal(signal.SIGKILL)
            current.wait()
            current = coordinator()
            done["coordinator"] += 1
        elif what == "worker":
            i = int(index)
            workers[i].send_signal(signal.SIGKILL)
            workers[i].wait()
            generations[i] += 1
            workers[i] = worker(i, generations[i])
            done["worker"] += 1
        elif what == "stop":
            workers[int(index)].send_signal(signal.SIGSTOP)
            done["stop"] += 1
        elif what == "cont":
            workers[int(index)].send_signal(signal.SIGCONT)
    for w in workers:
        w.send_signal(signal.SIGCONT)
    code = wait_or_kill(current, 600)
    for w in workers:
        wait_or_kill(w, 20)
    check("the chaos happened while the study ran", done == {"coordinator": 3, "worker": 6, "stop": 1}, f"{done}")
    summary = json.loads(current.stdout.read() or b"{}")
    check("the study completed after the last restart", code == 0 and summary.get("counts", {}).get("done") == TRIALS, f"exit {code}, {summary.get('counts')}")

    stored = fingerprints(ledger)
    acknowledged = set()
    for path in logs:
        if os.path.exists(path):
            for line in open(path):
                event = json.loads(line)
                if event.get("event") == "acknowledged" and event.get("ok"):
                    acknowledged.add(event["trial"])
    check("every acknowledged result is in the ledger", acknowledged and acknowledged <= set(stored), f"{len(acknowledged)} acknowledged, {len(acknowledged - set(stored))} missing")
    rows = sqlite3.connect(ledger).execute("select count(*), count(distinct trial) from trials").fetchone()
    check("no trial is stored twice", rows[0] == rows[1] == TRIALS, f"{rows[0]} rows, {rows[1]} trials")

    undisturbed = os.path.join(WORK, "undisturbed.sqlite")
    subprocess.run([MINIMA, "coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", undisturbed, "--tasks", tasks, "--local-workers", "2"],
                   capture_output=True, timeout=600)
    expected = fingerprints(undisturbed)
    changed = [t for t in expected if stored.get(t) != expected[t]]
    check("every stored result equals an undisturbed run's", len(expected) == TRIALS and not changed, f"{len(changed)} differ")
    finish("chaos")


if __name__ == "__main__":
    main()
