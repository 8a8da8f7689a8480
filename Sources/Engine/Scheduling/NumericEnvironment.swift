/// The part of the machine that changes a stage's output bytes, hashed into every key: CPU
/// architecture, BLAS build and kernel (DYNAMIC_ARCH picks per-CPU kernels whose rounding differs,
/// and the decode step's small-batch GEMM differs from OpenBLAS's in the last bits). The "blas" entry
/// carries the kernels because command stages, which bring their own numeric libraries, drop that entry.
/// The thread count is not in it: built-ins split work into shards fixed by their params and reduce
/// in shard order, so any number of threads gives the same bytes, and the scheduler hands a stage
/// whatever cores are free.
///
/// The engine links no numeric library: the executable describes the one its stages run on
/// (`StageHost.HostNumerics`) and passes it in through `StageRuntime`.
public struct NumericEnvironment: Sendable, Equatable {
    /// BLAS build and kernel family, e.g. `OpenBLAS 0.3.21 … core=Haswell kernels=avx2-fma-v2`.
    public var blas: String
    /// The kernels a built-in's process must run (`StageInvocation.blasCore`); nil: not checked.
    public var kernelSignature: String?

    public init(blas: String, kernelSignature: String?) {
        self.blas = blas
        self.kernelSignature = kernelSignature
    }

    /// No numeric library: for runners that only run command stages (their keys leave "blas" out).
    public static let withoutBLAS = NumericEnvironment(blas: "none", kernelSignature: nil)

    public static var architecture: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }

    /// The key's environment entries for built-in stages (`forCommand`: without "blas").
    public func entries(forCommand: Bool = false) -> [String: String] {
        var entries = ["arch": Self.architecture]
        if !forCommand { entries["blas"] = blas }
        return entries
    }
}

/// What the binary that runs built-in stages (`pipe _stage`) brings to a run: the kinds it can run
/// and its numeric environment. Passed in by the executable, so the engine never links the stages.
public struct StageRuntime: Sendable, Equatable {
    /// Built-in kinds, sorted. A `builtin:` stage of another kind fails when it is keyed.
    public var builtinKinds: [String]
    public var numeric: NumericEnvironment

    public init(builtinKinds: [String], numeric: NumericEnvironment) {
        self.builtinKinds = builtinKinds.sorted()
        self.numeric = numeric
    }

    /// Runs command stages only: every built-in stage fails to key (so none is ever filed under a
    /// key that misstates its numeric environment).
    public static let commandsOnly = StageRuntime(builtinKinds: [], numeric: .withoutBLAS)
}
