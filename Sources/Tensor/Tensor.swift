import COpenBLAS

/// Describes the BLAS build the numbers come from (part of a stage key's numeric environment).
public enum BLAS {
    public static var configuration: String { String(cString: openblas_get_config()) }
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
