#!/usr/bin/env python3
"""One attacker, two names, one key, against verification (Scripts/test-hostile, part E; issue 18, item 1).

A coordinator with CURVE and `--verify 1` runs sleep trials; two honest `minima worker`s, each
with its own allowed key, work on it. An insider holding one allowed key connects twice, under
the names "mallory" and "honest-0" (an honest worker's name), and answers every lease with a
forged result. Before opinions were counted per identity, its two names outvoted the honest
workers: honest workers were quarantined and stored outcomes replaced by forged ones. Now the
key is the identity: its two names are one vote, the third opinion comes from another key, and
the attacker's key is quarantined.

Usage: identity.py MINIMA WORKDIR   (prints one line per check and exits 1 if any failed)
"""
import json, os, sqlite3, subprocess, sys, time
from support import check, finish, free_port, wait_or_kill
import zmq

MINIMA, WORK = sys.argv[1], sys.argv[2]
SIG = b"MINIMA1"
TRIALS, SLEEP_MS = 120, 30


def keys(name):
    subprocess.run([MINIMA, "keygen", "--name", name, "--out", WORK], check=True, capture_output=True)
    text = open(os.path.join(WORK, f"{name}.key_secret")).read()
    value = lambda field: text.split(f'{field} = "')[1].split('"')[0].encode()
    return value("public-key"), value("secret-key")


def send(sock, kind, body):
    try:
        sock.send_multipart([SIG, kind.encode(), json.dumps(body).encode()], flags=zmq.NOBLOCK)
    except zmq.Again:
        pass


def main():
    server_public, _ = keys("server")
    mallory_public, mallory_secret = keys("mallory")
    allowed = os.path.join(WORK, "allowed")
    os.makedirs(allowed, exist_ok=True)
    for name in ("honest-0", "honest-1"):
        keys(name)
        os.replace(os.path.join(WORK, f"{name}.key"), os.path.join(allowed, f"{name}.key"))
    os.replace(os.path.join(WORK, "mallory.key"), os.path.join(allowed, "mallory.key"))   # an insider: its key is allowed

    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    ledger = os.path.join(WORK, "verified.sqlite")
    log = open(os.path.join(WORK, "coordinator.err"), "w")
    coordinator = subprocess.Popen([MINIMA, "coordinator", "--bind", endpoint, "--ledger", ledger, "--sleep", str(TRIALS), "--sleep-ms", str(SLEEP_MS),
                                    "--verify", "1", "--heartbeat-ms", "200", "--no-speculation",
                                    "--secret-key", os.path.join(WORK, "server.key_secret"), "--allow", allowed],
                                   stdout=subprocess.PIPE, stderr=log)
    time.sleep(0.5)

    honest = [subprocess.Popen([MINIMA, "worker", "--connect", endpoint, "--threads", "1", "--heartbeat-ms", "200", "--name", f"honest-{i}",
                                "--server-key", os.path.join(WORK, "server.key"), "--key", os.path.join(WORK, f"honest-{i}.key_secret")],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, f"honest-{i}.err"), "w")) for i in range(2)]

    time.sleep(1.5)
    # Then the attacker: two connections, one key.
    context = zmq.Context()
    attackers = []
    for name in ("mallory", "honest-0"):
        s = context.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = mallory_public, mallory_secret, server_public
        s.connect(endpoint)
        send(s, "hello", {"versions": [1], "worker": name, "threads": 1, "instructionSet": "hostile", "kinds": ["sleep"], "credit": 32})
        attackers.append(s)
    forged, refused = 0, set()
    poller = zmq.Poller()
    for s in attackers:
        poller.register(s, zmq.POLLIN)
    last_heartbeat = 0.0
    deadline = time.time() + 120
    while coordinator.poll() is None and time.time() < deadline:
        for s, _ in poller.poll(100):
            frames = s.recv_multipart()
            kind = frames[1].decode(errors="replace") if len(frames) > 1 else ""
            body = json.loads(frames[2]) if len(frames) > 2 and frames[2][:1] == b"{" else {}
            if kind == "trials":
                # Every lease, first run or verification copy, gets the same forged answer.
                results = [{"trial": lease["trial"], "lease": lease["lease"], "outcome": {"kind": "slept", "milliseconds": SLEEP_MS + 1}, "seconds": 0.001}
                           for lease in body.get("leases", [])]
                forged += len(results)
                send(s, "results", {"results": results, "credit": len(results)})
            elif kind == "error" and body.get("code") == "quarantined":
                refused.add(attackers.index(s))
        if time.time() - last_heartbeat > 0.2:
            last_heartbeat = time.time()
            for s in attackers:
                send(s, "heartbeat", {})
    if coordinator.poll() is None:
        coordinator.kill()
    code = coordinator.wait()
    for worker in honest:
        wait_or_kill(worker, 15)
    summary = json.loads(coordinator.stdout.read() or b"{}")
    check("the study completed", code == 0 and summary.get("counts", {}).get("done") == TRIALS, f"exit {code}, {summary.get('counts')}")
    check("the attacker's forged results reached the coordinator", forged >= 10, f"{forged} forged")

    db = sqlite3.connect(ledger)
    quarantined = sorted(row[0] for row in db.execute("select worker from quarantined_workers"))
    attacker_suffix = f"(key {mallory_public.decode()[:8]})"
    honest_quarantined = [name for name in quarantined if name.startswith("honest-") and not name.endswith(attacker_suffix)]
    check("no honest worker was quarantined", not honest_quarantined, f"quarantined: {quarantined}")
    check("the attacker's key is quarantined, under both its names", f"CURVE key {mallory_public.decode()}" in quarantined
          and sum(1 for name in quarantined if name.endswith(f"(key {mallory_public.decode()[:8]})")) == 2, f"quarantined: {quarantined}")
    check("both of the attacker's connections were told they are quarantined", refused == {0, 1}, f"connections told: {sorted(refused)}")
    honest_fingerprint = db.execute("select fingerprint from trials where worker like 'honest-1 (key %' limit 1").fetchone()
    rows = db.execute("select trial, worker, fingerprint from trials where state = 'done'").fetchall()
    check("every stored outcome is the honest one", len(rows) == TRIALS and honest_fingerprint is not None
          and all(fingerprint == honest_fingerprint[0] for _, _, fingerprint in rows), f"{len(rows)} rows")
    stored_by = sorted({worker for _, worker, _ in rows})
    check("every stored result is an honest key's", all(w.startswith("honest-") and not w.endswith(attacker_suffix) for w in stored_by), f"{stored_by}")
    statistics = summary.get("statistics", {})
    check("disputes were decided, none left undecided", statistics.get("disputedResults", 0) > 0 and statistics.get("undecidedDisputes", 0) == 0,
          f"disputed {statistics.get('disputedResults')}, undecided {statistics.get('undecidedDisputes')}, quarantined {statistics.get('workersQuarantined')}")
    finish("one key under two names")


if __name__ == "__main__":
    main()
