import Foundation

/// Reads a scorer's answer, `{"rewards": [r0, r1, ...]}` (other members, such as OpenRLHF's `scores`
/// and `extra_logs`, are ignored), into one finite reward per row.
public enum RewardResponse {
    /// - Parameters:
    ///   - text: the answer (one JSON line from a command, an HTTP body).
    ///   - rows: how many rewards the request asked for.
    ///   - source: the source's name, for messages; `detail` is appended to every error (e.g. stderr lines).
    public static func rewards(from text: String, rows: Int, source: String, detail: String = "") throws -> [Float] {
        let suffix = detail.isEmpty ? "" : "\n" + detail
        let json: RewardJSON
        do { json = try RewardJSON.parse(text) } catch {
            throw StageError.failed("reward source '\(source)' answered malformed JSON (\(error)): \(excerpt(text))\(suffix)")
        }
        guard let member = json["rewards"] else {
            throw StageError.failed("reward source '\(source)' answered without a \"rewards\" list (expected {\"rewards\": [...]}): \(excerpt(text))\(suffix)")
        }
        guard case .array(let items) = member else {
            throw StageError.failed("reward source '\(source)': \"rewards\" is not a list: \(excerpt(text))\(suffix)")
        }
        var rewards: [Float] = []
        rewards.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            switch item {
            case .number(let x): rewards.append(Float(x))
            case .null: rewards.append(.nan)  // JSON's spelling of NaN: reported as non-finite below
            default:
                throw StageError.failed("reward source '\(source)': rewards[\(i)] is \(excerpt(item.text)), not a number\(suffix)")
            }
        }
        try RewardCheck.validate(rewards, rows: rows, source: source, detail: detail)
        return rewards
    }

    /// The first 200 characters of an answer, for messages.
    static func excerpt(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "\\n")
        return flat.count <= 200 ? "'\(flat)'" : "'\(flat.prefix(200))…' (\(text.utf8.count) bytes)"
    }
}
