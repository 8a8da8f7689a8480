import COpenBLAS

/// Describes the BLAS build the numbers come from (part of a stage key's numeric environment).
public enum BLAS {
    public static var configuration: String { String(cString: openblas_get_config()) }
    /// The kernel family OpenBLAS loaded in this process (e.g. "Haswell", "Cooperlake"): its own pick
    /// for the CPU, or the one `OPENBLAS_CORETYPE` forces. Stage processes inherit the variable, so
    /// they load the same family as the `pipe run` that keyed them.
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// What decides a stage's floating-point bytes besides its inputs: the OpenBLAS kernel family and
    /// whether pipe's own kernels run (`DecodeGemm.path`, e.g. "Haswell kernels=avx2-fma-v2"). Stage keys record it and stage
    /// processes check they run with the same, so a mixed cluster cannot file bytes under a wrong key.
    public static var kernelSignature: String { coreName + " kernels=" + DecodeGemm.path.rawValue }

    /// Environment variable OpenBLAS (DYNAMIC_ARCH builds) reads once, when the library loads.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"

    /// Kernel families that execute AVX-512 instructions.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// Refuses to run kernels the CPU cannot execute: `OPENBLAS_CORETYPE=SkylakeX` carried to a node
    /// without AVX-512 (a heterogeneous cluster) would otherwise die of SIGILL mid-stage.
    public static func checkLoadedCore() throws(BLASCoreError) {
        let loaded = coreName
        if avx512Cores.contains(loaded.lowercased()) && pipe_cpu_supports_skylakex_kernels() == 0 {
            throw BLASCoreError(message: "OpenBLAS loaded its \(loaded) (AVX-512) kernels but this CPU lacks AVX-512; unset \(coreTypeVariable) or run on a node with AVX-512")
        }
    }
}

public struct BLASCoreError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
