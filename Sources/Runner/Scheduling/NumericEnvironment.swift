import Tensor

/// The part of the machine that changes a stage's output bytes, hashed into every key: CPU
/// architecture, BLAS build and kernel (DYNAMIC_ARCH picks per-CPU kernels whose rounding differs),
/// the small-batch GEMM the decode step of sampling takes (`DecodeGemm.path`: its bytes differ from
/// OpenBLAS's in the last bits), and the BLAS thread count (multi-threaded reductions change summation
/// order). The decode path rides in the "blas" entry because command stages, which bring their own
/// numeric libraries, drop that entry from their keys.
public enum NumericEnvironment {
    public static func entries(threads: Int) -> [String: String] {
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "arm64"
        #else
        let arch = "unknown"
        #endif
        return [
            "arch": arch,
            "blas": BLAS.configuration.trimmingTrailingSpaces + " core=" + BLAS.kernelSignature,
            "threads": String(threads),
        ]
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
