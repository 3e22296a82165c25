#!/usr/bin/env python3
"""A Minima worker in ~100 lines of Python (pyzmq), written from docs/PROTOCOL.md alone.

It runs `noop` and `sleep` trials (it does not train networks: a `train` trial is reported as
failed, and the coordinator gives it to another worker). Usage:

    pip install pyzmq
    Scripts/example-worker.py --connect tcp://127.0.0.1:5555 [--name NAME] [--credit 4]
"""
import argparse
import json
import os
import socket
import sys
import time
import uuid

import zmq

SIGNATURE = b"MINIMA1"


def send(sock, kind, body):
    sock.send_multipart([SIGNATURE, kind.encode(), json.dumps(body).encode()])


def run(task):
    """Returns (outcome, failure) for a task description."""
    if task["kind"] == "noop":
        return {"kind": "noop"}, None
    if task["kind"] == "sleep":
        time.sleep(task["milliseconds"] / 1000)
        return {"kind": "slept", "milliseconds": task["milliseconds"]}, None
    return None, "the Python example worker does not run '%s' tasks" % task["kind"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connect", required=True)
    parser.add_argument("--name", default="python-%s:%d" % (socket.gethostname(), os.getpid()))
    parser.add_argument("--credit", type=int, default=4)
    parser.add_argument("--heartbeat-ms", type=int, default=1000)
    parser.add_argument("--version", type=int, default=1, help="protocol version to offer (for tests)")
    args = parser.parse_args()

    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTING_ID, uuid.uuid4().hex.encode())
    sock.connect(args.connect)
    send(sock, "hello", {"versions": [args.version], "worker": args.name, "threads": 1,
                         "instructionSet": "python", "kinds": ["noop", "sleep"], "credit": args.credit})
    heartbeat = args.heartbeat_ms / 1000
    last_sent = last_heard = time.time()
    unacknowledged = {}
    completed = 0
    while True:
        if sock.poll(100):
            frames = sock.recv_multipart()
            last_heard = time.time()
            if frames[0] != SIGNATURE:
                print("ignoring a message with signature %r" % frames[0], file=sys.stderr)
                continue
            kind, body = frames[1].decode(), json.loads(frames[2])
            if kind == "welcome":
                print("connected: experiment %r" % body["experiment"], file=sys.stderr)
            elif kind == "trials":
                reports = []
                for lease in body["leases"]:
                    start = time.time()
                    outcome, failure = run(lease["task"])
                    report = {"trial": lease["trial"], "lease": lease["lease"], "outcome": outcome,
                              "failure": failure, "seconds": time.time() - start}
                    unacknowledged[lease["lease"]] = report
                    reports.append(report)
                send(sock, "results", {"results": reports, "credit": len(reports)})
                last_sent = time.time()
                completed += len(reports)
            elif kind == "ack":
                for lease in body["leases"]:
                    unacknowledged.pop(lease, None)
            elif kind == "error":
                print("coordinator error %s: %s" % (body["code"], body["message"]), file=sys.stderr)
                if body["code"] == "unsupported-version":
                    return 2
            elif kind == "shutdown":
                print("coordinator says %r; %d trials completed" % (body["reason"], completed), file=sys.stderr)
                return 0
        now = time.time()
        if now - last_sent >= heartbeat:
            send(sock, "heartbeat", {})
            last_sent = now
        if now - last_heard > 3 * heartbeat:
            print("the coordinator is silent; giving up (a real worker reconnects)", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
