/// Turns a YAML file's bytes into text: UTF-8 only, with a leading byte-order mark accepted and
/// dropped (editors on Windows write one), and invalid bytes reported at their line and column
/// instead of being replaced silently (a replaced byte would end up in a param or a command).
enum SourceText {
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    static func decode(_ bytes: [UInt8], file: String) throws(PipelineError) -> String {
        let body = bytes.starts(with: byteOrderMark) ? bytes[byteOrderMark.count...] : bytes[...]
        if let text = String(validating: body, as: UTF8.self) { return text }
        let (offset, line, column) = firstInvalidByte(body)
        let byte = String(body[body.startIndex + offset], radix: 16, uppercase: true)
        throw PipelineError(location: SourceLocation(file: file, line: line, column: column), fieldPath: "",
                            message: "invalid UTF-8 (byte 0x\(byte.count == 1 ? "0" + byte : byte) at offset \(offset + (bytes.count - body.count))); save the file as UTF-8")
    }

    /// Offset (in `bytes`), 1-based line and column (in Unicode scalars, as libyaml counts) of the
    /// first byte that does not start or continue a valid UTF-8 sequence.
    static func firstInvalidByte(_ bytes: ArraySlice<UInt8>) -> (offset: Int, line: Int, column: Int) {
        var line = 1, column = 1
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let length = validSequenceLength(bytes, at: index)
            if length == 0 { return (index - bytes.startIndex, line, column) }
            if bytes[index] == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
            index += length
        }
        return (bytes.count, line, column)
    }

    /// Length of the well-formed UTF-8 sequence at `index` (Unicode Table 3-7), 0 if ill-formed.
    private static func validSequenceLength(_ bytes: ArraySlice<UInt8>, at index: Int) -> Int {
        let first = bytes[index]
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            index + offset < bytes.endIndex && range.contains(bytes[index + offset])
        }
        switch first {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4: return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default: return 0
        }
    }
}
