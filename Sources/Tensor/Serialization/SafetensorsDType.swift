/// Element types of the safetensors format, spelled as in the header (`"dtype": "F32"`).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64", c64 = "C64"
    case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", f8e8m0 = "F8_E8M0"
    case f8e4m3fnuz = "F8_E4M3FNUZ", f8e5m2fnuz = "F8_E5M2FNUZ"

    /// Bytes per element. (The sub-byte F4/F6 types of the format are not supported: their byte
    /// span is not a whole number of elements, and no model in this project uses them.)
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .f64, .i64, .u64, .c64: 8
        }
    }
}
