#!/usr/bin/env python3
"""A careless user (Scripts/test-hostile, part C): the inputs of issue 9 that come from flags,
files and specs rather than peers. Each must get a one-line error naming what and where — never
a crash (a signal), a hang, or a file written where it should not be.

Usage: careless.py MINIMA WORKDIR   (prints one line per check and exits 1 if any failed)
"""
import json, os, subprocess, sys, time
from support import check, finish

MINIMA, WORK = sys.argv[1], sys.argv[2]



def minima(*arguments, timeout=60):
    try:
        run = subprocess.run([MINIMA, *arguments], capture_output=True, text=True, timeout=timeout)
        return run.returncode, run.stderr.splitlines()
    except subprocess.TimeoutExpired:
        return "hang", []


def refused(name, arguments, expected, code=None):
    """The command exits with an error (not a signal, not a hang) whose line names the problem."""
    status, lines = minima(*arguments)
    line = next((l for l in lines if expected in l), lines[-1] if lines else "")
    ok = isinstance(status, int) and status > 0 and expected in line and (code is None or status == code)
    check(name, ok, f"exit {status}: {line[:120]}")


def spec(name, text):
    path = os.path.join(WORK, name)
    open(path, "w").write(text)
    return path


ledger = os.path.join(WORK, "never.sqlite")
base = "name: careless\nrestarts: 2\nmodel: {width: [4]}\noptimizer: {learning-rate: 0.1}\nstopping: {epochs: 1}\n"

# 9. Numbers nobody checked.
refused("--time-limit inf", ["coordinator", "--ledger", ledger, "--noop", "1", "--time-limit", "inf"], "--time-limit: must be", 64)
refused("--speculate-after nan", ["coordinator", "--ledger", ledger, "--noop", "1", "--speculate-after", "nan"], "--speculate-after: must be", 64)
refused("restarts: 2^62", ["validate", spec("restarts.yaml", base.replace("restarts: 2", "restarts: 4611686018427387904"))], "restarts: at most")
refused("hidden layers [65536, 65536]", ["validate", spec("huge.yaml", base.replace("width: [4]", "layers: [65536, 65536]"))], "weights in one layer")
refused("YAML nested 5000 deep", ["validate", spec("deep.yaml", "name: x\nrestarts: 1\nmodel: " + "[" * 5000 + "]" * 5000 + "\n")], "nested 5000 levels deep")
# Issue 18, item 8: a sweep is counted before it is built.
lists = "optimizer: {learning-rate: [%s], momentum: [%s], weight-decay: [%s]}" % (
    ",".join(str(0.001 * (i + 1)) for i in range(1000)), ",".join(str(0.0009 * i) for i in range(1000)), ",".join(str(1e-6 * i) for i in range(1000)))
billion = spec("billion.yaml", base.replace("optimizer: {learning-rate: 0.1}", lists))
for command in (["validate", billion], ["run", billion, "--dry-run"]):
    started = time.time()
    refused(f"three 1,000-value lists (10⁹ points): {command[0]}", command, "= 1000000000 sweep points; a spec may combine at most 1000000")
    check(f"  … at once ({command[0]})", time.time() - started < 10, f"{time.time() - started:.1f} s")
ten_million = spec("ten-million.yaml", base.replace("optimizer: {learning-rate: 0.1}", "optimizer: {learning-rate: [%s], momentum: [%s]}" % (
    ",".join(str(1e-5 * (i + 1)) for i in range(10000)), ",".join(str(0.0009 * i) for i in range(1000)))))
refused("10⁷ sweep points", ["validate", ten_million], "= 10000000 sweep points")
# 10. Waits without end.
refused("--worker-threads 0", ["coordinator", "--ledger", ledger, "--noop", "1", "--local-workers", "1", "--worker-threads", "0"], "--worker-threads", 64)
refused("--heartbeat-ms 0", ["coordinator", "--ledger", ledger, "--noop", "1", "--heartbeat-ms", "0"], "--heartbeat-ms", 64)
for budget in ["nan", "-1", "1e300", "0"]:
    refused(f"minima worker --memory-budget {budget}", ["worker", "--connect", "tcp://127.0.0.1:9", f"--memory-budget={budget}"], "--memory-budget: must be a number of gigabytes", 64)
refused("--metrics-port 70000", ["coordinator", "--ledger", ledger, "--noop", "1", "--metrics-port", "70000"], "--metrics-port", 64)
start = time.time()
refused("every local worker dies: the coordinator says so and exits",
        ["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", os.path.join(WORK, "orphan.sqlite"), "--sleep", "5",
         "--local-workers", "2", "--heartbeat-ms", "200", "--local-worker-argument=--heartbeat-ms=0"], "all 2 local workers exited", 1)
# 12. Loose checks.
tasks = os.path.join(WORK, "tasks.json")
json.dump([{"kind": "sleep", "milliseconds": -5}], open(tasks, "w"))
refused("a task file with an impossible task is refused before the run", ["coordinator", "--ledger", ledger, "--tasks", tasks], "task 0: sleep milliseconds", 1)
huge_tasks = os.path.join(WORK, "huge-tasks.json")
with open(huge_tasks, "wb") as f:
    f.truncate(70 << 20)   # sparse: the size is what is checked, before anything is read
refused("a 70 MiB tasks file (issue 18, item 12: 5 million entries aborted a coordinator)", ["coordinator", "--ledger", ledger, "--tasks", huge_tasks], "a tasks file may be at most 32 MiB", 1)
empty = os.path.join(WORK, "empty.sqlite")
open(empty, "w").close()
refused("a 0-byte ledger file is not taken for a new run", ["coordinator", "--ledger", empty, "--noop", "1"], "empty (0 bytes)", 1)
check("nothing was created where a refused command pointed", not os.path.exists(ledger))
# Issue 18, item 9: a name is a name, wherever it comes from.
refused("name: .. in a spec", ["validate", spec("dots.yaml", base.replace("name: careless", "name: .."))], "name: must not start with '.'")
refused("--set name=../x", ["validate", spec("plain.yaml", base), "--set", "name=../x"], "name: expected ASCII letters")
refused("--name ../x for a coordinator", ["coordinator", "--ledger", ledger, "--noop", "1", "--name", "../x"], "--name: expected ASCII letters", 64)
mine = os.path.join(WORK, "mine")
os.makedirs(mine, exist_ok=True)
open(os.path.join(mine, "report.html"), "w").write("my own report")
refused("minima run into a directory of someone's own files", ["run", spec("tiny.yaml", base), "--out", mine, "--workers", "1"], "not a Minima run", 1)
check("their report.html is untouched", open(os.path.join(mine, "report.html")).read() == "my own report")
code, _ = minima("run", spec("tiny.yaml", base), "--out", mine, "--workers", "1", "--force", timeout=120)
check("--force writes there", code == 0 and os.path.exists(os.path.join(mine, "ledger.sqlite")))
import shutil, sqlite3, stat
# Issue 18, item 10: export-parameters writes nothing it cannot check against the ledger.
exported = os.path.join(WORK, "export.sqlite")
shutil.copy(os.path.join(mine, "ledger.sqlite"), exported)
code, _ = minima("export-parameters", exported, "--trial", "1", "--out", os.path.join(WORK, "trial-1.npz"), timeout=120)
check("export-parameters of a done trial writes its weights", code == 0 and os.path.getsize(os.path.join(WORK, "trial-1.npz")) > 0)
refused("export-parameters --out /dev/full", ["export-parameters", exported, "--trial", "1", "--out", "/dev/full"], "is not a regular file", 1)
check("/dev/full is still a device", stat.S_ISCHR(os.stat("/dev/full").st_mode))
connection = sqlite3.connect(exported)
connection.execute("delete from trials where trial = 0")
connection.execute("update trials set state = 'failed', outcome = null, failure = 'it broke' where trial = 1")
connection.commit()
refused("export-parameters of a trial whose row was deleted", ["export-parameters", exported, "--trial", "0", "--out", os.path.join(WORK, "t0.npz")], "has no result in the ledger", 1)
refused("export-parameters of a failed trial", ["export-parameters", exported, "--trial", "1", "--out", os.path.join(WORK, "t1.npz")], "failed (it broke)", 1)
(spec_json,) = connection.execute("select spec from experiment").fetchone()
connection.execute("update experiment set spec = ?", (spec_json.replace("0.1", "0.2", 1),))
connection.commit()
connection.close()
refused("export-parameters from a ledger whose stored spec was changed", ["export-parameters", exported, "--trial", "1", "--out", os.path.join(WORK, "t1.npz")],
        "its stored spec does not have the SHA-256", 1)
check("nothing was written by the refused exports", not any(os.path.exists(os.path.join(WORK, f)) for f in ("t0.npz", "t1.npz")))
stolen = os.path.join(mine, "ledger.sqlite")
connection = sqlite3.connect(stolen)
connection.execute("update experiment set name = '../../../escaped'")
connection.commit()
connection.close()
combined = os.path.join(WORK, "a", "b", "c", "combined")
refused("a combined report of a ledger whose stored name is ../../../escaped", ["report", stolen, stolen, "--out", combined], "cannot name a directory", 1)
check("nothing was written above the report's directory", not os.path.exists(os.path.join(WORK, "escaped")) and not os.path.exists(os.path.join(WORK, "a", "escaped")))
# Small: a number that does not fit its field is named with its path.
task = {"kind": "train", "trial": {"seed": 1, "trialIndex": 0, "data": {"dataset": "mnist10", "trainingSubset": {"first": {"_0": 100}}, "validationCount": 0, "testLimit": 100},
        "model": {"hidden": [4], "activation": "relu", "loss": "softmax-cross-entropy"}, "initialization": {"scheme": "fan-in-uniform", "scale": 1.0},
        "optimizer": {"batchSize": 10, "learningRate": 0.05, "momentum": 0, "nesterov": False, "weightDecay": 0}, "schedule": {"constant": {}},
        "stopping": {"maxEpochs": 1}, "probes": {"samples": 50, "paths": {"points": 3, "initToEnd": False, "partner": -1}}}}
for partner in (-1, 2**64):
    task["trial"]["probes"]["paths"]["partner"] = partner
    partner_file = os.path.join(WORK, "partner.json")
    json.dump([task], open(partner_file, "w"))
    refused(f"a path partner of {partner} names its field", ["coordinator", "--ledger", ledger, "--tasks", partner_file], f"[0].trial.probes.paths.partner = {partner}", 1)
# Hostile values of this session's new flags and keys.
refused("minima status --interval nan", ["status", "tcp://127.0.0.1:9", "--watch", "--interval", "nan"], "--interval: must be between 0.1 and 3600", 64)
refused("minima status --interval -1", ["status", "tcp://127.0.0.1:9", "--watch", "--interval=-1"], "--interval: must be between 0.1 and 3600", 64)
refused("minima status --timeout 1e300", ["status", "tcp://127.0.0.1:9", "--timeout", "1e300"], "--timeout: must be between 0 and 3600", 64)
refused("--http-port -1", ["run", spec("plain.yaml", base), "--http-port=-1", "--out", os.path.join(WORK, "never-run")], "--http-port (--metrics-port): must be", 64)
refused("--http-host with a path in it", ["coordinator", "--ledger", os.path.join(WORK, "host.sqlite"), "--noop", "1", "--http-port", "1", "--http-host", "../../x"],
        "cannot serve HTTP on ../../x:1", 1)
refused("a 101-character name", ["validate", spec("long.yaml", base.replace("name: careless", "name: " + "n" * 101))], "name: at most 100 characters, got 101")
# Small: control characters in --set are shown escaped.
status, lines = minima("validate", spec("plain.yaml", base), "--set", "optimizer.le\x1b[31mx=1")
check("a control character in --set is escaped in the error", status == 1 and any("\\u{1B}" in l for l in lines) and not any("\x1b" in l for l in lines), (lines or [""])[-1][:100])
# 5. Two coordinators on one ledger.
shared = os.path.join(WORK, "shared.sqlite")
first = subprocess.Popen([MINIMA, "coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", shared, "--sleep", "20", "--sleep-ms", "50",
                          "--local-workers", "1", "--heartbeat-ms", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1.0)
refused("a second coordinator on the same ledger", ["coordinator", "--bind", "tcp://127.0.0.1:*", "--ledger", shared, "--sleep", "20", "--sleep-ms", "50"],
        "another process", 1)
try:
    check("the first coordinator finishes its run", first.wait(timeout=60) == 0)
except subprocess.TimeoutExpired:
    first.kill()
    check("the first coordinator finishes its run", False)

finish("careless input")
