import Tensor

/// The numeric libraries this binary's stages run on, as the scheduler puts them into stage keys.
/// The scheduler (Engine) does not link them: the executable reads these and passes them in.
public enum HostNumerics {
    /// BLAS build and kernel family (DYNAMIC_ARCH picks per-CPU kernels whose rounding differs), with
    /// the small-batch GEMM path of the decode step (`DecodeGemm.path`: its bytes differ from
    /// OpenBLAS's in the last bits) folded into the kernel signature.
    public static var blas: String {
        var configuration = BLAS.configuration
        while configuration.last == " " { configuration.removeLast() }
        return configuration + " core=" + BLAS.kernelSignature
    }

    /// The kernels a stage process must run for its key to hold (`StageInvocation.blasCore`).
    public static var kernelSignature: String { BLAS.kernelSignature }
}
