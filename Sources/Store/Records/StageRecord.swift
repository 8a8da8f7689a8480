import Foundation
import Hashing

/// `stages/<key>.json`: what building one stage key produced. A stage result exists exactly when
/// this record is in place and every object it names is in `objects/`.
public struct StageRecord: Codable, Sendable, Equatable {
    public static let currentFormat = "pipe.stage-record.v1"

    public var format: String
    /// The stage key (SHA-256 of the key material's canonical encoding, computed by Pipeline).
    public var key: Digest
    /// Name of the stage that built it (informational: the same key may serve several stage names).
    public var stage: String
    /// What went into the key, as the Pipeline module describes it; the store does not interpret it.
    /// `pipe status` diffs it against the current material to say why a stage must run.
    ///
    /// A record read with `StageRecord.decode(_:)` decodes this on first use only: it is most of a
    /// record's decoding cost, and a cache hit (the no-op run's hot path) never looks at it.
    public var keyMaterial: JSONValue {
        get { keyMaterialStorage.value }
        set { keyMaterialStorage = .decoded(newValue) }
    }
    private var keyMaterialStorage: KeyMaterialStorage
    /// Output name → artifact digest (objects/<digest>).
    public var outputs: [String: Digest]
    /// Digest of the captured stdout/stderr log object, if kept.
    public var log: Digest?
    /// Summary metrics (e.g. the last value of each series).
    public var metrics: [String: Double]
    public var startedAt: Date
    public var finishedAt: Date
    public var exitStatus: Int32
    /// User + system CPU seconds of the stage's processes, where the executor measured them (local
    /// runs; not Slurm jobs, not records written before this field). Cost accounting only: never key material.
    public var cpuSeconds: Double?
    /// Host that built it (provenance only).
    public var host: String
    public var createdAt: Date

    public init(key: Digest, stage: String, keyMaterial: JSONValue, outputs: [String: Digest], log: Digest? = nil,
                metrics: [String: Double] = [:], startedAt: Date, finishedAt: Date, exitStatus: Int32 = 0,
                cpuSeconds: Double? = nil, host: String? = nil, createdAt: Date = Date()) {
        self.format = Self.currentFormat
        self.key = key
        self.stage = stage
        self.keyMaterialStorage = .decoded(keyMaterial)
        self.outputs = outputs
        self.log = log
        self.metrics = metrics
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitStatus = exitStatus
        self.cpuSeconds = cpuSeconds
        self.host = host ?? POSIX.hostName
        self.createdAt = createdAt
    }

    /// A record as `RecordIndex` keeps it: every field but the key material, which is read from the
    /// record file at `keyMaterialFile` if asked for (a cache hit never asks).
    init(indexedKey key: Digest, format: String, stage: String, keyMaterialFile: String, outputs: [String: Digest],
         log: Digest?, metrics: [String: Double], startedAt: Date, finishedAt: Date, exitStatus: Int32,
         cpuSeconds: Double?, host: String, createdAt: Date) {
        self.format = format
        self.key = key
        self.stage = stage
        self.keyMaterialStorage = .recordFile(keyMaterialFile, key: key)
        self.outputs = outputs
        self.log = log
        self.metrics = metrics
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitStatus = exitStatus
        self.cpuSeconds = cpuSeconds
        self.host = host
        self.createdAt = createdAt
    }

    /// Decodes a record file's bytes, leaving `keyMaterial` encoded until it is read.
    public static func decode(_ bytes: [UInt8]) throws -> StageRecord {
        let decoder = StoreJSON.decoder()
        decoder.userInfo[rawRecordBytes] = bytes
        return try decoder.decode(StageRecord.self, from: Data(bytes))
    }

    private static let rawRecordBytes = CodingUserInfoKey(rawValue: "pipe.stage-record.bytes")!

    private enum CodingKeys: String, CodingKey {
        case format, key, stage, keyMaterial, outputs, log, metrics, startedAt, finishedAt, exitStatus, cpuSeconds, host, createdAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.decode(String.self, forKey: .format)
        key = try container.decode(Digest.self, forKey: .key)
        stage = try container.decode(String.self, forKey: .stage)
        if let bytes = decoder.userInfo[Self.rawRecordBytes] as? [UInt8] {
            // Any JSON is a valid JSONValue, so once the whole document has parsed, the deferred
            // decoding cannot fail: only the field's presence is checked here.
            guard container.contains(.keyMaterial) else {
                throw DecodingError.keyNotFound(CodingKeys.keyMaterial, .init(codingPath: container.codingPath,
                                                                               debugDescription: "no keyMaterial"))
            }
            keyMaterialStorage = .encoded(bytes)
        } else {
            keyMaterialStorage = .decoded(try container.decode(JSONValue.self, forKey: .keyMaterial))
        }
        outputs = try container.decode([String: Digest].self, forKey: .outputs)
        log = try container.decodeIfPresent(Digest.self, forKey: .log)
        metrics = try container.decode([String: Double].self, forKey: .metrics)
        startedAt = try container.decode(Date.self, forKey: .startedAt)
        finishedAt = try container.decode(Date.self, forKey: .finishedAt)
        exitStatus = try container.decode(Int32.self, forKey: .exitStatus)
        cpuSeconds = try container.decodeIfPresent(Double.self, forKey: .cpuSeconds)
        host = try container.decode(String.self, forKey: .host)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(key, forKey: .key)
        try container.encode(stage, forKey: .stage)
        try container.encode(keyMaterial, forKey: .keyMaterial)
        try container.encode(outputs, forKey: .outputs)
        try container.encodeIfPresent(log, forKey: .log)
        try container.encode(metrics, forKey: .metrics)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(exitStatus, forKey: .exitStatus)
        try container.encodeIfPresent(cpuSeconds, forKey: .cpuSeconds)
        try container.encode(host, forKey: .host)
        try container.encode(createdAt, forKey: .createdAt)
    }

    public static func == (a: StageRecord, b: StageRecord) -> Bool {
        a.format == b.format && a.key == b.key && a.stage == b.stage && a.keyMaterial == b.keyMaterial
            && a.outputs == b.outputs && a.log == b.log && a.metrics == b.metrics && a.startedAt == b.startedAt
            && a.finishedAt == b.finishedAt && a.exitStatus == b.exitStatus && a.cpuSeconds == b.cpuSeconds && a.host == b.host && a.createdAt == b.createdAt
    }

    public var durationSeconds: Double { finishedAt.timeIntervalSince(startedAt) }

    /// Every object the record needs: outputs, then the log.
    public var referencedObjects: [Digest] {
        outputs.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { outputs[$0]! } + (log.map { [$0] } ?? [])
    }

    /// The objects the stage read (its key material's input digests: upstream outputs and the copies
    /// of workspace-path inputs), which `gc` keeps with the record so that `reproduce` can rerun it.
    public var inputObjects: [Digest] {
        guard case .object(let material) = keyMaterial, case .array(let inputs)? = material["inputs"] else { return [] }
        return inputs.compactMap { input in
            guard case .object(let fields) = input, case .string(let hex)? = fields["digest"] else { return nil }
            return Digest(hex: hex)
        }
    }
}

/// `keyMaterial` as decoded, or still as the record file's bytes (decoded on each read: callers
/// read it once, and only when a stage must run or a run is shown).
private enum KeyMaterialStorage: Sendable {
    case decoded(JSONValue)
    case encoded([UInt8])
    /// Not read yet: the record file for `key` (an index hit). Every record of a key holds the same
    /// material (the key is its hash), so a file replaced meanwhile still gives the right value.
    case recordFile(String, key: Digest)

    private struct Field: Decodable { var key: Digest; var keyMaterial: JSONValue }

    var value: JSONValue {
        switch self {
        case .decoded(let value): return value
        case .encoded(let bytes):
            // Cannot fail: the same bytes already parsed as a record with this field present.
            return (try? StoreJSON.decoder().decode(Field.self, from: Data(bytes)).keyMaterial) ?? .null
        case .recordFile(let path, let key):
            // The record was validated when indexed; a file gone since (gc) reads as no material.
            guard let bytes = (try? POSIX.readFile(path)) ?? nil,
                  let field = try? StoreJSON.decoder().decode(Field.self, from: Data(bytes)), field.key == key else { return .null }
            return field.keyMaterial
        }
    }
}

/// Deterministic JSON for everything the store persists: sorted keys, ISO 8601 dates (millisecond
/// precision), no escaped slashes, pretty-printed so records read well in a terminal.
enum StoreJSON {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatDate(date))
        }
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 date: \(text)")
            }
            return date
        }
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// `2026-11-22T02:04:58.123Z`.
    static func formatDate(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis % 1000), 3))Z"
    }

    static func parseDate(_ text: String) -> Date? {
        // YYYY-MM-DDTHH:MM:SS(.fff)Z
        let utf8 = Array(text.utf8)
        guard utf8.count >= 20, utf8.last == UInt8(ascii: "Z") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int32? {
            guard from + count <= utf8.count else { return nil }
            var value: Int32 = 0
            for byte in utf8[from..<(from + count)] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int32(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var millis: Int32 = 0
        if utf8.count == 24, utf8[19] == UInt8(ascii: ".") {
            guard let value = number(20, 3) else { return nil }
            millis = value
        } else if utf8.count != 20 {
            return nil
        }
        var parts = tm()
        parts.tm_year = year - 1900; parts.tm_mon = month - 1; parts.tm_mday = day
        parts.tm_hour = hour; parts.tm_min = minute; parts.tm_sec = second
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + Double(millis) / 1000)
    }
}
