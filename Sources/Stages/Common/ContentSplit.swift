import Hashing

/// Assigns records to splits by a hash of their content: a record's split never depends on the other
/// records, so adding data does not move existing records between splits (and so never leaks a
/// test or judge review into training).
public struct ContentSplit: Sendable {
    public var judgeFraction: Double
    public var validFraction: Double
    public var testFraction: Double

    public init(judgeFraction: Double, validFraction: Double, testFraction: Double) {
        self.judgeFraction = judgeFraction
        self.validFraction = validFraction
        self.testFraction = testFraction
    }

    /// A uniform number in [0, 1) from SHA-256 of `salt` and the text.
    public static func unitHash(_ text: String, salt: String) -> Double {
        let digest = SHA256.hash(salt + "\n" + text)
        let x = digest.bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Double(x >> 11) / Double(1 << 53)
    }

    /// The split of a text: judge, valid, test or train, in that order along the hash line.
    public func split(of text: String) -> String {
        let u = Self.unitHash(text, salt: "pipe.split.v1")
        if u < judgeFraction { return "judge" }
        if u < judgeFraction + validFraction { return "valid" }
        if u < judgeFraction + validFraction + testFraction { return "test" }
        return "train"
    }
}
