#!/usr/bin/env python3
"""The fixed trials of the cross-ISA check (Scripts/test-isa), as a JSON task list on stdout.

Together they cover every activation, loss, initialization scheme, optimizer variant
(plain SGD, momentum, Nesterov, weight decay), learning-rate schedule and batch size 1, 10
and 100, on one and two hidden layers: every kernel and every code path whose arithmetic
could differ between instruction sets. Each trial is small (300 samples, 2 epochs). The last 8
also probe their end points (Hessian-vector products, Lanczos, quadrature, the dense
eigensolver, paths to a partner) for every activation and loss on two hidden layers. Then the
other optimizers (full-batch GD with momentum, Newton and saddle-free Newton from a warm start,
with learning curves, the index per epoch and a target loss), three spin glasses (H = 2, 3, 4, one with noisy descent, one with the index of its end point), Adam,
the listed slice probe, two connectivity trials (ends, line, Bézier and polygonal-chain fits),
two trials on teacher data (regression and 12 classes) and four teacher-student restarts.
"""
import json, sys

ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear"]
LOSSES = ["softmax-cross-entropy", "mse"]
SCHEMES = sys.argv[1].split(",") if len(sys.argv) > 1 else ["uniform", "fan-in-uniform", "lecun-uniform", "lecun-normal", "gaussian", "glorot-uniform", "glorot-normal", "he-normal", "fan-in-normal", "orthogonal"]
OPTIMIZERS = [
    {"momentum": 0, "nesterov": False, "weightDecay": 0},
    {"momentum": 0.9, "nesterov": False, "weightDecay": 0},
    {"momentum": 0.9, "nesterov": True, "weightDecay": 0},
    {"momentum": 0, "nesterov": False, "weightDecay": 0.001},
]
SCHEDULES = [{"constant": {}}, {"step": {"every": 1, "factor": 0.5}}, {"exponential": {"gamma": 0.9}}, {"inverse": {"k": 1.0}}]

PROBES = {"samples": 200,
          "hessian": {"extremes": 3, "maximumSteps": 60, "tolerance": 1e-6, "density": {"probes": 2, "steps": 20},
                      "exactBelow": 1000, "epsilon": 0.01, "minimumTolerance": 0.01}}

def trial(index, *, activation="relu", loss="softmax-cross-entropy", scheme="fan-in-uniform", batch=10,
          optimizer=OPTIMIZERS[0], schedule=SCHEDULES[0], hidden=(8,), probes=None):
    task = {"kind": "train", "trial": {
        "seed": 4242, "trialIndex": index,
        "data": {"dataset": "mnist10", "trainingSubset": {"first": {"_0": 300}}, "validationCount": 0, "testLimit": 100},
        "model": {"hidden": list(hidden), "activation": activation, "loss": loss},
        "initialization": {"scheme": scheme, "scale": 1.0},
        "optimizer": {"batchSize": batch, "learningRate": 0.05, **optimizer},
        "schedule": schedule,
        "stopping": {"maxEpochs": 2},
    }}
    if probes is not None:
        task["trial"]["probes"] = probes
    return task

tasks = []
for activation in ACTIVATIONS:
    for loss in LOSSES:
        for hidden in [(8,), (6, 5)]:
            tasks.append(trial(len(tasks), activation=activation, loss=loss, hidden=hidden))
for scheme in SCHEMES:
    for batch in [1, 10, 100]:
        tasks.append(trial(len(tasks), scheme=scheme, batch=batch))
for optimizer in OPTIMIZERS:
    for schedule in SCHEDULES:
        tasks.append(trial(len(tasks), optimizer=optimizer, schedule=schedule, activation="tanh", hidden=(6, 5)))
for activation in ACTIVATIONS:
    for loss in LOSSES:
        index = len(tasks)
        probes = dict(PROBES, paths={"points": 5, "initToEnd": True, "partner": index + 1})
        tasks.append(trial(index, activation=activation, loss=loss, hidden=(6, 5), probes=probes))
KRYLOV = {"dimension": 30, "damping": [0, 0.001, 0.01, 0.1, 1]}
WARM = {"epochs": 1, "optimizer": {"batchSize": 10, "learningRate": 0.05, "momentum": 0, "nesterov": False, "weightDecay": 0}}
for kind, extra in [("gd", {"momentum": 0.5}), ("newton", {"weightDecay": 0.001, "krylov": KRYLOV}),
                    ("saddle-free-newton", {"weightDecay": 0.001, "krylov": KRYLOV}), ("sgd", {})]:
    task = trial(len(tasks), activation="tanh", hidden=(6, 5), optimizer=dict(OPTIMIZERS[0], kind=kind, **extra))
    if kind == "sgd":
        del task["trial"]["optimizer"]["kind"]
    task["trial"]["stopping"] = {"maxEpochs": 4, "targetLoss": 1.5, "relativeGradientTolerance": 1e-6}
    task["trial"]["curve"] = {"gradientNorm": True, "index": {"extremes": 2, "maximumSteps": 30, "tolerance": 1e-6,
                                                                "exactBelow": 1000, "epsilon": 0.01, "minimumTolerance": 0.01}}
    if kind in ("newton", "saddle-free-newton"):
        task["trial"]["warmStart"] = WARM
    tasks.append(task)
# Newton-MR: MINRES-QLP steps and the Armijo search on ‖∇L‖², from a warm start, with its end
# classified (the result's `search`).
task = trial(len(tasks), activation="tanh", hidden=(6, 5),
             optimizer=dict(OPTIMIZERS[0], kind="newton-mr", weightDecay=0.001, settings={"maxit": 40, "rtol": 1e-10, "acondlim": 1e15}))
task["trial"]["stopping"] = {"maxEpochs": 6, "relativeGradientTolerance": 1e-6}
task["trial"]["warmStart"] = WARM
tasks.append(task)
# Saddle-free Newton with its curvature on a fifth of the samples, a new subset each step.
task = trial(len(tasks), activation="tanh", hidden=(6, 5),
             optimizer=dict(OPTIMIZERS[0], kind="saddle-free-newton", weightDecay=0.001,
                            krylov={"dimension": 20, "damping": [0, 0.01, 0.1], "curvatureSamples": 60, "resampleCurvature": True}))
task["trial"]["stopping"] = {"maxEpochs": 4, "targetLoss": 1.5}
task["trial"]["warmStart"] = WARM
tasks.append(task)
for order, spins, noise, index in [(2, 40, 0.0, False), (3, 30, 0.1, False), (4, 12, 0.0, True)]:
    tasks.append({"kind": "spin-glass", "trial": {
        "seed": 4242, "trialIndex": len(tasks), "order": order, "spins": spins, "realization": len(tasks),
        "optimizer": {"learningRate": 0.1, "noise": noise}, "schedule": {"inverse": {"k": 0.01}},
        "stopping": {"maxEpochs": 300}, "computeIndex": index}})
# Adam: batch 1 (the fused first-layer path), 10 and 100, its settings, weight decay, and a warm
# start of Adam continuing its moments.
ADAM = {"kind": "adam", "momentum": 0, "nesterov": False, "weightDecay": 0.001, "settings": {"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}}
for batch in [1, 10, 100]:
    task = trial(len(tasks), activation="tanh", hidden=(6, 5), batch=batch, optimizer=ADAM)
    task["trial"]["optimizer"]["learningRate"] = 0.003
    if batch == 10:
        task["trial"]["warmStart"] = {"epochs": 1, "optimizer": dict(task["trial"]["optimizer"])}
    tasks.append(task)
# The listed probes (ProbeMethods): filter-normalized slices, two hidden layers, two directions.
for activation in ["relu", "tanh"]:
    tasks.append(trial(len(tasks), activation=activation, hidden=(6, 5), probes={
        "samples": 200, "registered": {"slice": {"directions": 2, "points": 9, "radius": 0.8}}}))
tasks.append(trial(len(tasks), activation="sigmoid", hidden=(6, 5), probes={
    "samples": 200, "registered": {"slice2d": {"points": 5, "radius": 0.7}}}))
for exact in [1000, 0]:   # the outliers from the exact spectrum, and from Lanczos
    tasks.append(trial(len(tasks), activation="tanh", hidden=(6, 5), probes={
        "samples": 200, "registered": {"outliers": {"top": 10, "steps": 40, "exact": exact, "floor": 0.001}}}))
# The connectivity kind: two ends trained, the line, a Bézier curve and a polygonal chain fitted
# (t and minibatches drawn from the trial's stream), with weight decay in the objective.
for activation, decay in [("relu", 0), ("tanh", 0.001)]:
    ends = trial(1000 + len(tasks), activation=activation, hidden=(6, 5), optimizer=dict(OPTIMIZERS[0], weightDecay=decay))["trial"]
    tasks.append({"kind": "connect", "trial": {
        "trialIndex": len(tasks), "ends": ends, "partner": ends["trialIndex"] + 1, "shapes": ["bezier", "polychain"],
        "fit": {"epochs": 2, "batchSize": 10, "learningRate": 0.05, "momentum": 0.9}, "points": 11, "samples": 100}})
# Teacher data (generated where it is used, so its bytes are part of what must agree): regression
# targets for mse, and 12 argmax classes for cross-entropy.
for dataset, loss in [("teacher:inputs=10,hidden=4,train=300,test=100,seed=3", "mse"),
                      ("teacher:inputs=10,hidden=8,outputs=12,targets=classes,output-weights=drawn,train=300,test=100", "softmax-cross-entropy")]:
    task = trial(len(tasks), activation="tanh", loss=loss, hidden=(6,))
    task["trial"]["data"]["dataset"] = dataset
    tasks.append(task)
# The teacher-student kind on the population loss: a restart that reaches the global minimum, and
# k = n = 10 ones (about a third end at a spurious minimum: the Hessian check runs there).
for k, n, restarts in [(6, 7, 1), (10, 10, 3)]:
    for _ in range(restarts):
        tasks.append({"kind": "teacher-student", "trial": {
            "seed": 4242, "trialIndex": len(tasks), "teacherUnits": k, "studentUnits": n, "inputs": k, "teacher": "orthonormal",
            "teacherRealization": 0, "learningRate": 0.05, "momentum": 0.9, "maxSteps": 20000, "gradientTolerance": 1e-7,
            "globalTolerance": 1e-5, "recoveryCosine": 0.99, "checkHessian": True}})
# Newton-MR with a trust region, at 32 bits and at 64 (the double-precision surface: tanh and the
# softmax through DeterministicMath's double exp and log), and on the linear autoencoder's
# gaussian: data at 64 bits, with the search's end and double-precision loss in the result.
for precision in [32, 64]:
    task = trial(len(tasks), activation="tanh", hidden=(6, 5),
                 optimizer=dict(OPTIMIZERS[0], kind="newton-mr-lm", weightDecay=0.001, settings={"maxit": 30, "precision": precision}))
    task["trial"]["stopping"] = {"maxEpochs": 5, "relativeGradientTolerance": 1e-6}
    task["trial"]["warmStart"] = WARM
    tasks.append(task)
task = trial(len(tasks), activation="linear", loss="mse", scheme="gaussian", hidden=(3,),
             optimizer=dict(OPTIMIZERS[0], kind="newton-mr-lm", settings={"precision": 64}))
task["trial"]["data"] = {"dataset": "gaussian:inputs=6,variance-ratio=0.7,train=300,test=50", "trainingSubset": {"all": {}}, "validationCount": 0}
task["trial"]["stopping"] = {"maxEpochs": 30, "relativeGradientTolerance": 1e-8}
tasks.append(task)
json.dump(tasks, sys.stdout)
