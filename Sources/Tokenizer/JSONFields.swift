import Foundation
import JSONQuoting

/// Typed reads of `JSONSerialization` values that never trap: wrong types give nil, so callers can
/// name the field in their error.
enum JSONFields {
    /// An integer (a JSON number with no fraction, in Int32 range); booleans are not integers.
    static func int(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber, !isBool(number) else { return nil }
        let d = number.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) <= Double(Int32.max) else { return nil }
        return Int(d)
    }

    static func bool(_ value: Any?) -> Bool? {
        guard let number = value as? NSNumber, isBool(number) else { return nil }
        return number.boolValue
    }

    static func isBool(_ number: NSNumber) -> Bool {
        #if canImport(Darwin)
        return CFGetTypeID(number) == CFBooleanGetTypeID()
        #else
        return String(cString: number.objCType) == "c"  // JSON true/false parse to __NSCFBoolean ("c")
        #endif
    }

    static func isNull(_ value: Any?) -> Bool { value == nil || value is NSNull }

    /// A special token as `tokenizer_config.json` writes it: a string, or `{"content": …, …}` (AddedToken).
    static func tokenContent(_ value: Any?) -> String? {
        if let s = value as? String { return s }
        if let d = value as? [String: Any] { return d["content"] as? String }
        return nil
    }

    /// `data` with a leading UTF-8 byte-order mark dropped and every other U+FEFF written as the escape
    /// `\ufeff`: Foundation's JSONSerialization (Linux) silently deletes a raw U+FEFF inside strings,
    /// which would change tokens that contain it.
    static func escapingByteOrderMarks(_ data: Data) -> Data {
        let bytes = [UInt8](data)
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        guard bytes.count > start + 2, bytes[start...].firstRange(of: [0xEF, 0xBB, 0xBF]) != nil else {
            return start == 0 ? data : Data(bytes[start...])
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var i = start
        while i < bytes.count {
            if bytes[i] == 0xEF && i + 2 < bytes.count && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF {
                out += Array("\\ufeff".utf8)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return Data(out)
    }

    /// Parses `data` as a JSON object, or explains why it is not one.
    static func object(_ data: Data, file: String) throws -> [String: Any] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: escapingByteOrderMarks(data))
        } catch {
            throw TokenizerFileError(file: file, message: "not valid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else { throw TokenizerFileError(file: file, message: "not a JSON object") }
        return object
    }

    /// A JSON string literal for the files pipe writes (DEL escaped too, like tokenizer.json).
    static func quoted(_ s: String) -> String { jsonQuoted(s, alsoEscape: [0x7F]) }
}
