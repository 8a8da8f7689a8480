/// A fixed-size, 64-byte-aligned, zero-initialised Float32 buffer that owns its memory.
///
/// The numeric code works on raw pointers (llm.c style): a `FloatBuffer` is the owner, kernels take
/// `UnsafeMutablePointer<Float>` outputs and `UnsafePointer<Float>` inputs. Buffers are allocated once
/// and reused across steps; nothing in a hot loop allocates.
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer: negative count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "FloatBuffer.copy: size \(other.count) ≠ \(count)")
        pointer.update(from: other.pointer, count: count)
    }

    public var array: [Float] { Array(buffer) }
}
