#!/usr/bin/env python3
"""The raw pyzmq pipelined floor for dispatch: what a ROUTER and 2 DEALER processes move on
loopback with 64 messages in flight per dealer, doing nothing else — no codec beyond a few
bytes, no scheduler, no durability. A coordinator that is a real scheduler with a durable ledger
should not be slower than this. Prints JSON: {"messagesPerSecond": …, "messages": …}.

Usage: pyzmq-floor.py [--messages N] [--dealers 2] [--in-flight 64]
"""
import argparse, json, multiprocessing, time
import zmq


def dealer(endpoint, identity):
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.IDENTITY, identity)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    socket.send_multipart([b"MINIMA1", b"hello"])
    while True:
        frames = socket.recv_multipart()
        if frames[1] == b"stop":
            break
        socket.send_multipart([b"MINIMA1", b"result", frames[2]])   # echo the lease id
    socket.close()
    context.term()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--dealers", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=64)
    arguments = parser.parse_args()
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"
    processes = [multiprocessing.Process(target=dealer, args=(endpoint, b"d%d" % i)) for i in range(arguments.dealers)]
    for process in processes:
        process.start()
    peers = []
    while len(peers) < arguments.dealers:
        frames = router.recv_multipart()
        peers.append(frames[0])
    start = time.perf_counter()
    sent = 0
    for peer in peers:
        for _ in range(arguments.in_flight):
            router.send_multipart([peer, b"MINIMA1", b"trial", b"%d" % sent])
            sent += 1
    received = 0
    while received < arguments.messages:
        frames = router.recv_multipart()
        received += 1
        if sent < arguments.messages:
            router.send_multipart([frames[0], b"MINIMA1", b"trial", b"%d" % sent])
            sent += 1
    seconds = time.perf_counter() - start
    for peer in peers:
        router.send_multipart([peer, b"MINIMA1", b"stop", b""])
    for process in processes:
        process.join()
    router.close()
    context.term()
    print(json.dumps({"messagesPerSecond": round(arguments.messages / seconds), "messages": arguments.messages,
                      "dealers": arguments.dealers, "inFlightPerDealer": arguments.in_flight, "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    main()
