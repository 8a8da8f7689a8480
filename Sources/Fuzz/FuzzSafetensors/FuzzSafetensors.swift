// libFuzzer target for safetensors files (scripts/fuzz.sh safetensors): the in-memory reader
// (`SafetensorsFile`) and the on-disk one (`SafetensorsReader`), then every tensor read back.
//
// Input: a whole .safetensors file. A malformed file must throw, never trap or read out of bounds.
#if FUZZING
import FuzzSupport
import Tensor

nonisolated(unsafe) private let folder = FuzzDirectory("safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let file = try? SafetensorsFile(bytes: bytes) {
        for t in file.tensors {
            _ = try? file.info(t.name)
            _ = try? file.withBytes(t.name) { $0.count }
            switch t.dtype {
            case .f32: _ = try? file.floats(t.name)
            case .i64: _ = try? file.int64s(t.name)
            case .i32: _ = try? file.int32s(t.name)
            case .u8: _ = try? file.uint8s(t.name)
            default: break
            }
        }
    }
    folder.reset()
    guard folder.write("model.safetensors", bytes), let reader = try? SafetensorsReader(path: folder.path + "/model.safetensors") else {
        return 0
    }
    for t in reader.tensors where SafetensorsReader.isFloatingPoint(t.dtype) && t.elementCount <= 1 << 20 {
        _ = try? reader.floats(t.name)
        var last: [Float] = [0]
        last.withUnsafeMutableBufferPointer { _ = try? reader.readFloats(t.name, elements: max(t.elementCount - 1, 0)..<t.elementCount, into: $0) }
    }
    return 0
}
#else
@main struct FuzzSafetensorsStub {
    static func main() { print("built without FUZZING: run scripts/fuzz.sh safetensors") }
}
#endif
