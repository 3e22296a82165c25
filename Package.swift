// swift-tools-version:6.1
//
// Minima: large random-restart studies of neural-network loss landscapes.
//
// Instruction set: the training kernels are SIMD code whose speed depends on the target CPU.
// `MINIMA_ISA` picks it at build time: `x86-64-v4` (AVX-512), `x86-64-v3` (AVX2+FMA),
// `x86-64` (baseline, slow but runs anywhere) or `auto` (the default: the best level the build
// host supports). Results are bit-identical across levels (kernels use fused multiply-add in a
// fixed order); only speed differs. The binary records its level in every result and refuses to
// start on a CPU that lacks it.
import Foundation
import PackageDescription

func hostSupportsLevel(_ flags: Set<Substring>, _ required: [Substring]) -> Bool {
    required.allSatisfy(flags.contains)
}

func chosenInstructionSet() -> String? {
    #if arch(x86_64)
    let requested = ProcessInfo.processInfo.environment["MINIMA_ISA"] ?? "auto"
    if requested != "auto" { return requested }
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return "x86-64-v3" }
    let flags = Set(flagLine.split(separator: " "))
    if hostSupportsLevel(flags, ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx2", "fma", "bmi2"]) {
        return "x86-64-v4"
    }
    if hostSupportsLevel(flags, ["avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"]) { return "x86-64-v3" }
    return "x86-64"
    #else
    return nil
    #endif
}

let instructionSet = chosenInstructionSet()
// Tile shapes differ with the register file (32 zmm vs 16 ymm); results do not, since every
// output element sums its terms in the same order whatever the tile.
let isaSwiftFlags: [SwiftSetting] = (instructionSet.map { [.unsafeFlags(["-Xcc", "-march=\($0)"])] } ?? [])
    + (instructionSet == "x86-64-v4" ? [.define("MINIMA_WIDE_REGISTER_FILE")] : [])

// The numeric libraries are optimized in every configuration: `swift test` builds debug (Swift
// Testing does not discover tests in SwiftPM's release test builds on Linux), and the tests
// should exercise the code that ships, at the speed it ships.
let optimizedSwiftFlags = isaSwiftFlags + [.unsafeFlags(["-O"], .when(configuration: .debug))]
let isaCFlags: [CSetting] = [.define("MINIMA_BUILD_ISA", to: "\"\(instructionSet ?? "native-default")\"")]
// C kernels: compiled for the chosen level and optimized in every configuration; -fno-math-errno
// lets fmaf become the FMA instruction (it is exactly rounded either way).
let kernelCFlags: [CSetting] = [.unsafeFlags((instructionSet.map { ["-march=\($0)"] } ?? []) + ["-O2", "-fno-math-errno"])]

let package = Package(
    name: "Minima",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "minima", targets: ["minima"]),
        .library(name: "MinimaCore", targets: ["MinimaCore"]),
        .library(name: "MinimaData", targets: ["MinimaData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        // The layers, each depending only on layers above it (README, "Layout").
        // C shims: CPU feature detection and the build's instruction-set label. Compiled without
        // -march so the check itself runs on any x86-64 CPU.
        .target(name: "CMinimaSupport", cSettings: isaCFlags),
        .target(name: "CMinimaKernels", cSettings: kernelCFlags),
        // The shipped mnist10 dataset, embedded in the binary with .incbin (no resource bundle to lose).
        .target(name: "CMnist10", exclude: ["include/mnist10"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libzmq from Debian's libzmq3-dev (Scripts/setup installs it). Not found through pkg-config: its flags
        // include -isystem paths of libzmq's own dependencies, which SwiftPM drops with a warning.
        .systemLibrary(name: "CZeroMQ"),

        .target(name: "MinimaCore", dependencies: ["CMinimaSupport", "CMinimaKernels"], swiftSettings: optimizedSwiftFlags),
        .target(name: "MinimaData", dependencies: ["MinimaCore", "CZlib", "CMnist10"], swiftSettings: optimizedSwiftFlags),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(name: "MinimaProtocol", dependencies: ["MinimaCore"]),
        .target(name: "MinimaExperiment", dependencies: ["MinimaCore", "MinimaData", "MinimaProtocol", "Yams"]),
        .target(name: "MinimaLedger", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        .target(
            name: "MinimaRuntime",
            dependencies: [
                "CMinimaSupport", "MinimaCore", "MinimaData", "ZeroMQ", "MinimaProtocol", "MinimaExperiment", "MinimaLedger",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: isaSwiftFlags),
        .target(name: "MinimaReport", dependencies: ["MinimaCore", "MinimaData", "MinimaProtocol", "MinimaExperiment", "MinimaLedger", "MinimaRuntime"]),
        .executableTarget(
            name: "minima",
            dependencies: [
                "MinimaCore", "MinimaData", "CMinimaSupport", "MinimaProtocol", "MinimaExperiment", "MinimaLedger", "MinimaRuntime",
                "ZeroMQ", "MinimaReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: isaSwiftFlags
        ),

        // The benchmarks, outside the shipped CLI: `minima-bench core|dispatch|probes|newton|spinglass|swarm|curves|live-page`,
        // run through Scripts/bench/* (release builds, peers in the same run).
        .executableTarget(
            name: "minima-bench",
            dependencies: [
                "MinimaCore", "MinimaData", "MinimaProtocol", "MinimaExperiment", "MinimaLedger", "MinimaRuntime", "MinimaReport", "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: isaSwiftFlags),

        .testTarget(name: "MinimaCoreTests", dependencies: ["MinimaCore"], swiftSettings: isaSwiftFlags),
        .testTarget(name: "MinimaDataTests", dependencies: ["MinimaData", "MinimaCore"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "MinimaProtocolTests", dependencies: ["MinimaProtocol", "MinimaCore"]),
        .testTarget(name: "MinimaExperimentTests", dependencies: ["MinimaExperiment", "MinimaProtocol", "MinimaCore"]),
        .testTarget(name: "MinimaLedgerTests", dependencies: ["MinimaLedger", .product(name: "GRDB", package: "GRDB.swift")], resources: [.copy("Fixtures")]),
        .testTarget(name: "MinimaReportTests", dependencies: ["MinimaReport", "MinimaExperiment", "MinimaLedger", "MinimaCore"]),
        .testTarget(
            name: "MinimaRuntimeTests",
            dependencies: [
                "MinimaRuntime", "MinimaProtocol", "MinimaLedger", "MinimaExperiment", "MinimaCore", "MinimaData", "ZeroMQ", "MinimaReport",
                .product(name: "Yams", package: "Yams"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(name: "MinimaEndToEndTests", dependencies: ["MinimaCore", "MinimaData", "MinimaProtocol", "MinimaExperiment", "MinimaLedger", "MinimaRuntime", "ZeroMQ"]),
    ]
)
