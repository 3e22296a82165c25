"""What every part of Scripts/test-hostile shares: one printed line per check and a summary with
the exit status, a free loopback port, and a process's resident memory."""
import socket, subprocess, sys

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok)))
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)


def finish(label):
    """Prints how many checks passed and exits 1 if any failed."""
    failed = [name for name, ok in results if not ok]
    print(f"{label}: {len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


def wait_or_kill(process, timeout):
    """The process's exit code, or None after killing it when it has not exited within `timeout` seconds."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def idle_connections(port, count):
    """Up to `count` TCP connections to a loopback port that send nothing (fewer if refused)."""
    idle = []
    for _ in range(count):
        try:
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            break
    return idle


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_mb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None


class PeakMemory:
    """Samples a process's resident memory every `interval` seconds on a thread, keeping the peak."""

    def __init__(self, pid, interval=0.1):
        import threading
        self.pid, self.interval = pid, interval
        self.baseline = rss_mb(pid) or 0.0
        self.peak = self.baseline
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._stop.is_set():
            value = rss_mb(self.pid)
            if value:
                self.peak = max(self.peak, value)
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        return self.peak
