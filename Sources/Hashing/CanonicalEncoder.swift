/// A canonical, length-prefixed, type-tagged byte encoding for cache keys.
///
/// Unlike `Hasher` (randomly seeded per process) this is stable across processes and machines.
/// Every value is written as a one-byte tag, then its payload; strings and byte strings carry a
/// little-endian UInt64 length prefix so that ("ab","c") and ("a","bc") never collide.
public struct CanonicalEncoder {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    enum Tag: UInt8 {
        case string = 0x01, int = 0x02, float = 0x03, bool = 0x04, bytes = 0x05
        case listStart = 0x10, mapStart = 0x11, end = 0x12, field = 0x13, null = 0x14
    }

    private mutating func tag(_ t: Tag) { bytes.append(t.rawValue) }

    private mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func string(_ value: String) {
        tag(.string)
        let utf8 = Array(value.utf8)
        u64(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func int(_ value: Int64) {
        tag(.int)
        u64(UInt64(bitPattern: value))
    }

    /// Floats are normalised: `-0.0` becomes `0.0`, every NaN the same payload, so `2e-6`, `2.0e-6`
    /// and `0.000002` (which parse to the same Double) encode identically.
    public mutating func float(_ value: Double) {
        tag(.float)
        var normalised = value
        if normalised == 0 { normalised = 0 }
        if normalised.isNaN { normalised = .nan }
        u64(normalised.bitPattern)
    }

    public mutating func bool(_ value: Bool) {
        tag(.bool)
        bytes.append(value ? 1 : 0)
    }

    public mutating func null() { tag(.null) }

    public mutating func rawBytes(_ value: [UInt8]) {
        tag(.bytes)
        u64(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func digest(_ value: Digest) { rawBytes(value.bytes) }

    /// A named field: the name, then whatever the closure writes.
    public mutating func field(_ name: String, _ body: (inout CanonicalEncoder) -> Void) {
        tag(.field)
        string(name)
        body(&self)
    }

    public mutating func list(_ body: (inout CanonicalEncoder) -> Void) {
        tag(.listStart)
        body(&self)
        tag(.end)
    }

    /// A map; entries must be written in sorted key order (callers sort by UTF-8 bytes).
    public mutating func map(_ body: (inout CanonicalEncoder) -> Void) {
        tag(.mapStart)
        body(&self)
        tag(.end)
    }

    public var sha256: Digest { SHA256.hash(bytes) }
}

extension String {
    /// Total order on UTF-8 bytes (Swift's `<` on String uses Unicode canonical ordering, which is
    /// stable too, but byte order is what other tools reproduce easily).
    public func utf8Precedes(_ other: String) -> Bool {
        self.utf8.lexicographicallyPrecedes(other.utf8)
    }
}
