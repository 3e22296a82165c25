import CMinimaSupport
import MinimaCore

/// Why this binary's kernels cannot run on this CPU, with what to do about it (nil: they can).
public func unsupportedCPUProblem() -> String? {
    guard minima_cpu_supports_build_isa() == 0 else { return nil }
    let missing = String(cString: minima_missing_cpu_features())
    return """
        this binary was built for \(buildInstructionSet) but this CPU lacks \(missing); \
        rebuild with MINIMA_ISA=x86-64-v3 (AVX2) or MINIMA_ISA=x86-64 (baseline) — results are bit-identical, only slower
        """
}
