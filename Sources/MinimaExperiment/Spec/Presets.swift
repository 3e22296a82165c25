/// The built-in presets. Each is also shipped as a readable file in Scripts/presets/ (a test
/// checks that the two are identical).
public enum Presets {
    public static let names = ["quick", "choromanska2015", "landscape", "spinglass", "spinglass-paper", "dauphin2014", "dauphin2014-paper", "saxe2014", "saxe2014-paper", "connectivity", "connectivity-paper", "safran2018", "safran2018-paper", "linear-autoencoder", "time-to-target"]

    public static func text(_ name: String) -> String? {
        switch name {
        case "quick": quick
        case "choromanska2015": choromanska2015
        case "landscape": landscape
        case "spinglass": spinglass
        case "spinglass-paper": spinglassPaper
        case "dauphin2014": dauphin2014
        case "dauphin2014-paper": dauphin2014Paper
        case "saxe2014": saxe2014
        case "saxe2014-paper": saxe2014Paper
        case "connectivity": connectivity
        case "connectivity-paper": connectivityPaper
        case "safran2018": safran2018
        case "safran2018-paper": safran2018Paper
        case "linear-autoencoder": linearAutoencoder
        case "time-to-target": timeToTarget
        default: nil
        }
    }

    public static func spec(_ name: String) throws(SpecError) -> ExperimentSpec? {
        guard let text = text(name) else { return nil }
        return try SpecParser.parse(yaml: text, file: "preset \(name)")
    }

    public static let quick = #"""
# quick: the default of `minima run` — a laptop-sized view of the narrowing band.
# 5 widths × 64 random restarts of a one-hidden-layer network on a 20,000-sample subset of
# mnist10; about a minute on 2 cores. The spread of final test losses shrinks as n1 grows.
name: quick
seed: 2015
restarts: 64
data:
  dataset: mnist10
  training-samples: 20000
  sampling: first
model:
  width: [5, 10, 25, 50, 100]
  hidden-layers: 1
  activation: relu
  loss: softmax-cross-entropy
initialization:
  scheme: fan-in-uniform
  scale: 1.0
optimizer:
  batch-size: 100
  learning-rate: 0.1
schedule:
  kind: inverse      # learning rate 0.1 / (1 + epoch)
  k: 1.0
stopping:
  epochs: 10
metrics: [test-loss, train-loss, test-error, train-error]
report:
  epsilon: 0.01
  bins: 30
"""#

    public static let choromanska2015 = #"""
# choromanska2015: the paper-scale study of Choromanska et al. (2015), "The Loss Surfaces of
# Multilayer Networks": one-hidden-layer networks with n1 ∈ {25, 50, 100, 250, 500} hidden units,
# 1000 SGD runs from random starts per width, on the full mnist10 (MNIST downsampled to 10×10).
# 5000 trials of 100 epochs over 60,000 samples: meant for a cluster (docs/DEPLOY.md), days on a
# laptop. The schedule (0.1 / (1 + 0.1·epoch), batch 100) is Minima's choice of a long training
# with a decaying rate, not a setting taken from the paper.
name: choromanska2015
seed: 2015
restarts: 1000
data:
  dataset: mnist10
model:
  width: [25, 50, 100, 250, 500]
  hidden-layers: 1
  activation: relu
  loss: softmax-cross-entropy
initialization:
  scheme: fan-in-uniform
optimizer:
  batch-size: 100
  learning-rate: 0.1
schedule:
  kind: inverse
  k: 0.1
stopping:
  epochs: 100
metrics: [test-loss, train-loss, test-error, train-error]
report:
  epsilon: 0.01
  bins: 40
"""#

    public static let landscape = #"""
# landscape: what are the end points of the quick study? The quick preset's widths and training
# (one hidden layer, n1 ∈ {5, 10, 25, 50, 100}, 10 epochs of SGD on 20,000 mnist10 samples), 16
# restarts per width, and every probe on 2,000 of each trial's training samples: the gradient
# norm; the Hessian's 5 largest and smallest eigenvalues (Lanczos); its spectral density and
# index α (stochastic Lanczos quadrature, 8 probe vectors × 80 steps), and the exact spectrum of
# the networks of at most 3,000 parameters (n1 ≤ 25) to check the estimate against; the loss
# along the line from the start to the end point, and between restarts 0–3 and 4–7 of each width.
# About 3 minutes on 2 cores.
name: landscape
seed: 2015
restarts: 16
data:
  dataset: mnist10
  training-samples: 20000
  sampling: first
model:
  width: [5, 10, 25, 50, 100]
  hidden-layers: 1
  activation: relu
  loss: softmax-cross-entropy
initialization:
  scheme: fan-in-uniform
  scale: 1.0
optimizer:
  batch-size: 100
  learning-rate: 0.1
schedule:
  kind: inverse
  k: 1.0
stopping:
  epochs: 10
probes:
  samples: 2000
  hessian:
    extremes: 5
    tolerance: 1e-5
    density: {probes: 8, steps: 80}
    exact-below: 3000
    epsilon: 0.01
    minimum-tolerance: 0.01
  paths:
    points: 21
    init-to-end: true
    between-restarts: 4
metrics: [test-loss, train-loss, test-error, train-error]
report:
  epsilon: 0.01
  bins: 20
"""#

    public static let spinglass = #"""
# spinglass: the other half of Choromanska et al. (2015), Fig. 2 — the spherical 3-spin glass,
# quick scale. For each Λ ∈ {25, 50, 100, 250}, 100 descents from random starts on the sphere
# on one coupling realization per Λ (as the networks' restarts share one dataset), projected
# gradient descent until the Riemannian gradient is below 1e-5, and the index of every end
# point. The final energies H(w)/Λ crowd into a band above the ground state that narrows and
# moves down toward the threshold −E∞ ≈ −1.633 as Λ grows. About 1.5 minutes on 2 cores;
# spinglass-paper is the paper's scale.
name: spinglass
kind: spin-glass
seed: 2015
restarts: 100
spin-glass:
  order: 3
  spins: [25, 50, 100, 250]
  couplings: shared
  index: true
optimizer:
  learning-rate: 0.2
  noise: 0
stopping:
  steps: 5000
  gradient-tolerance: 1e-5
report:
  epsilon: 0.01
  bins: 40
"""#

    public static let spinglassPaper = #"""
# spinglass-paper: the spin-glass study at the scale of Choromanska et al. (2015): H = 3,
# Λ ∈ {25, 50, 100, 250, 500}, 1000 descents per Λ on one coupling realization each, with the
# index of every end point. 5000 trials; Λ = 500 takes about 40 s per trial on one core (84 MB
# of couplings, ~5000 steps): a cluster job (docs/DEPLOY.md), or hours on a workstation.
name: spinglass-paper
kind: spin-glass
seed: 2015
restarts: 1000
spin-glass:
  order: 3
  spins: [25, 50, 100, 250, 500]
  couplings: shared
  index: true
optimizer:
  learning-rate: 0.2
  noise: 0
stopping:
  steps: 10000
  gradient-tolerance: 1e-5
report:
  epsilon: 0.01
  bins: 40
"""#

    public static let dauphin2014 = #"""
# dauphin2014: Dauphin et al. (2014), "Identifying and attacking the saddle point problem in
# high-dimensional non-convex optimization", quick scale. A one-hidden-layer tanh network (n1 = 10,
# 1,120 parameters) on 1,000 mnist10 samples. From points on SGD trajectories (after 0, 1, 3, 10
# and 30 epochs, 6 restarts each), three optimizers run 40 epochs (full-batch methods: steps):
#   newton-mr          — Newton-MR (Frye et al.), the search that converges most often here (6 of
#                        30; damped newton 2–4, newton-mr-lm 3): attracted to critical points of any
#                        index, each search's end classified; its end points' index α against
#                        training error is the paper's Fig. 1 (claim: error rises with α);
#   saddle-free-newton — the paper's Algorithm 1 (claim: it leaves the plateaus SGD crawls on);
#   sgd                — the baseline, from the same points.
# Weight decay 1e-3 keeps the critical points at finite distance. About 2 minutes on 2 cores;
# dauphin2014-paper is a cluster-sized version.
name: dauphin2014
seed: 2014
restarts: 6
data:
  dataset: mnist10
  training-samples: 1000
  test-samples: 1000
model:
  width: 10
  activation: tanh
  loss: softmax-cross-entropy
warm-start:
  epochs: [0, 1, 3, 10, 30]
  optimizer: {batch-size: 10, learning-rate: 0.05}
optimizer:
  kind: [newton-mr, saddle-free-newton, sgd]
  maxit: 200
  batch-size: 10
  learning-rate: 0.05
  weight-decay: 0.001
  krylov: {dimension: 100, damping: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1]}
stopping:
  epochs: 40
  relative-gradient-tolerance: 1e-6
curve: {gradient-norm: true}
probes:
  hessian: {extremes: 3, exact-below: 2000, epsilon: 0.0001}
report:
  epsilon: 0.01
  bins: 30
"""#

    public static let dauphin2014Paper = #"""
# dauphin2014-paper: the dauphin2014 study at a size for a cluster: n1 ∈ {10, 25} on 10,000
# mnist10 samples, starts after 0–50 SGD epochs, 50 restarts, Newton-MR with up to 300 MINRES-QLP
# iterations (saddle-free Newton: a Krylov space of 300 vectors) and up to 200 steps; the index from the exact spectrum (≤ 3,000 parameters) or SLQ. 2,100 trials;
# `minima run --preset dauphin2014-paper --dry-run` estimates the work.
name: dauphin2014-paper
seed: 2014
restarts: 50
data:
  dataset: mnist10
  training-samples: 10000
  test-samples: 10000
model:
  width: [10, 25]
  activation: tanh
  loss: softmax-cross-entropy
warm-start:
  epochs: [0, 1, 2, 5, 10, 20, 50]
  optimizer: {batch-size: 10, learning-rate: 0.05}
optimizer:
  kind: [newton-mr, saddle-free-newton, sgd]
  maxit: 300
  batch-size: 10
  learning-rate: 0.05
  weight-decay: 0.001
  krylov: {dimension: 300, damping: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1]}
stopping:
  epochs: 200
  relative-gradient-tolerance: 1e-6
curve: {gradient-norm: true}
probes:
  hessian: {extremes: 3, exact-below: 3000, epsilon: 0.0001, density: {probes: 16, steps: 100}}
report:
  epsilon: 0.01
  bins: 40
"""#

    public static let saxe2014 = #"""
# saxe2014: Saxe, McClelland & Ganguli (2014), "Exact solutions to the nonlinear dynamics of
# learning in deep linear neural networks", quick scale. Networks of depth 2, 4, 8, 16 and 32
# (hidden layers of width 50) on 1,000 mnist10 samples, MSE to one-hot targets, SGD at one
# learning rate (0.01) for every depth; orthogonal initialization (gain 1) against the scaled
# Gaussian N(0, 1/fan-in). The learning time is the epochs until the training loss reaches 0.22
# (claim: flat in depth for orthogonal, growing for Gaussian). The same sweep with tanh asks
# whether that carries over to nonlinear networks. About 10 seconds on 2 cores.
name: saxe2014
seed: 2014
restarts: 10
data:
  dataset: mnist10
  training-samples: 1000
  test-samples: 1000
model:
  width: 50
  hidden-layers: [1, 3, 7, 15, 31]
  activation: [linear, tanh]
  loss: mse
initialization:
  scheme: [orthogonal, fan-in-normal]
  scale: 1
optimizer:
  batch-size: 10
  learning-rate: 0.01
stopping:
  epochs: 60
  target-loss: 0.22
curve: {}
report:
  epsilon: 0.01
  bins: 30
"""#

    public static let saxe2014Paper = #"""
# saxe2014-paper: the saxe2014 study at the paper's depths: 2 to 100 weight layers of width 100
# on all 60,000 mnist10 samples, 20 restarts, two learning rates. 1,120 trials;
# `minima run --preset saxe2014-paper --dry-run` estimates the work.
name: saxe2014-paper
seed: 2014
restarts: 20
data:
  dataset: mnist10
model:
  width: 100
  hidden-layers: [1, 3, 7, 15, 31, 63, 99]
  activation: [linear, tanh]
  loss: mse
initialization:
  scheme: [orthogonal, fan-in-normal]
  scale: 1
optimizer:
  batch-size: 10
  learning-rate: [0.01, 0.001]
stopping:
  epochs: 200
  target-loss: 0.22
curve: {}
report:
  epsilon: 0.01
  bins: 40
"""#

    public static let connectivity = #"""
# connectivity: are the minima connected? (Garipov et al. 2018; Draxler et al. 2018), quick scale.
# For one-hidden-layer networks with n1 ∈ {2, 3, 5, 10, 25, 50, 100} trained as in the quick
# preset (10 epochs of SGD on 20,000 mnist10 samples), 24 pairs of restarts per width: the
# straight line between the two end points, and a quadratic Bézier curve and a polygonal chain
# with one bend fitted between them (10 epochs of SGD with momentum on the expected loss along
# the curve). Losses and errors at 61 points of each path on 2,000 training and 2,000 test
# samples, and for the first pair of each width the plane through its ends and the Bézier
# curve's bend on a 25 × 25 grid. `restarts` counts pairs: trial i connects restarts 2i and
# 2i + 1, the network trials of the same spec with 48 restarts. About 40 s on 2 cores;
# connectivity-paper is a cluster-sized version.
name: connectivity
kind: connectivity
seed: 2018
restarts: 24
data:
  dataset: mnist10
  training-samples: 20000
  sampling: first
model:
  width: [2, 3, 5, 10, 25, 50, 100]
  hidden-layers: 1
  activation: relu
  loss: softmax-cross-entropy
initialization:
  scheme: fan-in-uniform
  scale: 1.0
optimizer:
  batch-size: 100
  learning-rate: 0.1
schedule:
  kind: inverse
  k: 1.0
stopping:
  epochs: 10
connect:
  shapes: [bezier, polychain]
  epochs: 10
  batch-size: 100
  learning-rate: 0.05
  momentum: 0.9
  points: 61
  samples: 2000
  plane: {pairs: 1, points: 25, margin: 0.3}   # the plane through pair 0's ends and its Bézier bend
report:
  epsilon: 0.01
  bins: 30
"""#

    public static let connectivityPaper = #"""
# connectivity-paper: the connectivity study at a cluster's scale: n1 ∈ {2, 3, 5, 10, 25, 50,
# 100, 250, 500} trained for 100 epochs on the full mnist10 (the choromanska2015 preset's
# training: its network trials 2i and 2i + 1 are the ends of pair i), 250 pairs per width, each
# curve fitted for 100 epochs, measured at 61 points on 10,000 training and the 10,000 test
# samples. 2,250 trials; `minima run --preset connectivity-paper --dry-run` estimates the work.
name: connectivity-paper
kind: connectivity
seed: 2015
restarts: 250
data:
  dataset: mnist10
model:
  width: [2, 3, 5, 10, 25, 50, 100, 250, 500]
  hidden-layers: 1
  activation: relu
  loss: softmax-cross-entropy
initialization:
  scheme: fan-in-uniform
optimizer:
  batch-size: 100
  learning-rate: 0.1
schedule:
  kind: inverse
  k: 0.1
stopping:
  epochs: 100
connect:
  shapes: [bezier, polychain]
  epochs: 100
  batch-size: 100
  learning-rate: 0.05
  momentum: 0.9
  points: 61
  samples: 10000
report:
  epsilon: 0.01
  bins: 40
"""#

    public static let safran2018 = #"""
# safran2018: where is the global minimum? (Safran & Shamir 2018, "Spurious local minima are
# common in two-layer ReLU neural networks".) A student x ↦ Σᵢ [wᵢ·x]₊ of n ReLU units descends
# the population loss of a teacher of k orthonormal units (vⱼ = eⱼ, d = k) under Gaussian inputs,
# in closed form; its global minimum is 0, so every restart either reaches it or ends measurably
# above it. 8 values of k × 3 student widths (n = k, k+1, 2k) × 100 restarts; a few minutes on
# 2 cores. The report gives, per (k, n), the fraction of restarts at the global minimum and at
# spurious minima (converged, positive semi-definite Hessian).
name: safran2018
kind: teacher-student
seed: 2018
restarts: 100
teacher-student:
  teacher-units: [6, 8, 10, 12, 14, 16, 18, 20]
  student-units: [k, k+1, 2k]
  inputs: k
  teacher: orthonormal
  learning-rate: 0.05
  momentum: 0.9
  max-steps: 20000
  gradient-tolerance: 1e-7
  global-tolerance: 1e-5
"""#

    public static let linearAutoencoder = #"""
# linear-autoencoder: a network whose every critical point is known (Baldi & Hornik 1989), to test
# a critical-point finder before trusting it anywhere else. x ↦ W₂W₁x + b on Gaussian inputs with
# variances 0.7^k (d = 8, 1,000 samples, targets = inputs), p = 3 linear hidden units, squared
# error: each critical point keeps a subset of the covariance's eigenvectors, with loss ½Σ of the
# left-out eigenvalues and a known index. From 100 Gaussian starts each, two searches in double
# precision (precision: 64) run to ‖∇L‖ ≤ 10⁻⁸‖∇L₀‖:
#   newton-mr-lm — Newton-MR with a trust region (Levenberg–Marquardt on ‖∇L‖²);
#   newton-mr    — Newton-MR with autocrit's settings (MINRES-QLP, Armijo on ‖∇L‖²).
# The report matches every converged end point to the closed form (loss to 10⁻⁶, exact index).
# About 6 minutes on 2 cores (release build).
name: linear-autoencoder
seed: 1989
restarts: 100
data:
  dataset: gaussian:inputs=8,variance-ratio=0.7,train=1000,test=200
model:
  width: 3
  activation: linear
  loss: mse
initialization:
  scheme: gaussian
optimizer:
  kind: [newton-mr-lm, newton-mr]
  precision: 64
stopping:
  epochs: 100
  relative-gradient-tolerance: 1e-8
probes:
  hessian: {extremes: 1, exact-below: 100, epsilon: 0.00001}
report:
  bins: 30
"""#

    public static let timeToTarget = #"""
# time-to-target: is a Hessian method practical? Time, work and FLOP until the training loss first
# reaches each of several targets, for SGD, SGD with momentum and Adam — each at its best learning
# rate from the grid below, chosen by the report — and saddle-free Newton (Dauphin et al. 2014)
# with all training samples' curvature and with 10% (resampled each step). Two networks on 1,000
# mnist10 samples, tanh, cross-entropy, weight decay 1e-3: dauphin2014's (n1 = 10) and a deep,
# plateau-prone one (depth 8, width 16). Each trial stops at the lowest target or its budget:
# 3,000 epochs for the first-order methods, 100 steps for saddle-free Newton. About 2½ minutes
# on 2 cores.
name: time-to-target
seed: 2026
restarts: 8
data:
  dataset: mnist10
  training-samples: 1000
  test-samples: 1000
model:
  layers: [[10], [16, 16, 16, 16, 16, 16, 16]]
  activation: tanh
  loss: softmax-cross-entropy
optimizer:
  batch-size: 10
  weight-decay: 0.001
  variants:
    - {name: sgd, kind: sgd, learning-rate: [0.03, 0.1, 0.3]}
    - {name: sgd+momentum, kind: sgd, momentum: 0.9, learning-rate: [0.003, 0.01, 0.03]}
    - {name: adam, kind: adam, learning-rate: [0.0003, 0.001, 0.003, 0.01]}
    - {name: sfn, kind: saddle-free-newton, epochs: 100, krylov: {dimension: 20, damping: [0.001, 0.01, 0.1, 1]}}
    - name: sfn 10% curvature
      kind: saddle-free-newton
      epochs: 100
      krylov: {dimension: 20, damping: [0.001, 0.01, 0.1, 1], curvature-samples: 100, resample-curvature: true}
stopping:
  epochs: 3000
  target-loss: 0.05
curve: {}
report:
  targets: [1, 0.5, 0.2, 0.1, 0.05]
"""#

    public static let safran2018Paper = #"""
# safran2018-paper: the paper's scale, for a cluster — every k from 6 to 20, students of
# n = k, k+1, k+2, k+4, k+8 and 2k units, 1,000 restarts each (Safran & Shamir ran 1,000
# initializations per setting). 90,000 restarts on the population loss.
name: safran2018-paper
kind: teacher-student
seed: 2018
restarts: 1000
teacher-student:
  teacher-units: [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
  student-units: [k, k+1, k+2, k+4, k+8, 2k]
  inputs: k
  teacher: orthonormal
  learning-rate: 0.05
  momentum: 0.9
  max-steps: 20000
  gradient-tolerance: 1e-7
  global-tolerance: 1e-5
"""#
}
