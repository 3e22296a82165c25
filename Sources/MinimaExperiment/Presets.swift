/// The built-in presets. Each is also shipped as a readable file in Scripts/presets/ (a test
/// checks that the two are identical).
public enum Presets {
    public static let names = ["quick", "choromanska2015", "landscape", "spinglass", "spinglass-paper"]

    public static func text(_ name: String) -> String? {
        switch name {
        case "quick": quick
        case "choromanska2015": choromanska2015
        case "landscape": landscape
        case "spinglass": spinglass
        case "spinglass-paper": spinglassPaper
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
}
