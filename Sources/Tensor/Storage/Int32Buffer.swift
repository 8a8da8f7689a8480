/// A growable Int32 buffer (token ids, positions, masks) whose storage is reused across steps.
public final class Int32Buffer: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutablePointer<Int32>
    public private(set) var capacity: Int
    public private(set) var count = 0

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        pointer = .allocate(capacity: self.capacity)
        pointer.initialize(repeating: 0, count: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// Replaces the contents with `values`, growing the storage only when needed.
    public func assign(_ values: [Int32]) {
        reserve(values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
        count = values.count
    }

    /// Sets the count to n (growing if needed) without initialising new elements beyond zero.
    public func resize(_ n: Int) {
        reserve(n)
        count = n
    }

    private func reserve(_ n: Int) {
        if n <= capacity { return }
        let grown = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        grown.initialize(repeating: 0, count: n)
        grown.update(from: pointer, count: capacity)
        pointer.deallocate()
        pointer = grown
        capacity = n
    }

    public subscript(i: Int) -> Int32 {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    public var array: [Int32] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
