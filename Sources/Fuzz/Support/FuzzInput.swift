import Foundation

/// A fuzz input that stands for several files: the bytes before the first line `#== <name>` are the
/// main part, and each `#== <name>` line starts the file `name`. One input format for every target that
/// reads a folder, so seeds are the repo's own files concatenated (scripts/fuzz.sh packs them).
public struct FuzzInput {
    public var main: [UInt8]
    public var files: [(name: String, bytes: [UInt8])]

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        self.init(Array(UnsafeBufferPointer(start: data, count: size)))
    }

    public init(_ bytes: [UInt8]) {
        let marker = Array("#== ".utf8)
        main = []
        files = []
        var i = 0
        var lineStart = true
        while i < bytes.count {
            if lineStart, bytes[i...].starts(with: marker) {
                let nameStart = i + marker.count
                let end = bytes[nameStart...].firstIndex(of: 10) ?? bytes.count
                files.append((String(decoding: bytes[nameStart..<end], as: UTF8.self), []))
                i = end + 1
                continue
            }
            lineStart = bytes[i] == 10
            if files.isEmpty { main.append(bytes[i]) } else { files[files.count - 1].bytes.append(bytes[i]) }
            i += 1
        }
    }

    /// The last newline before a `#== ` line belongs to the marker, not to the file before it.
    public func file(_ name: String) -> [UInt8]? {
        files.last(where: { $0.name == name }).map { $0.bytes.last == 10 ? Array($0.bytes.dropLast()) : $0.bytes }
    }
}

/// A directory that lives as long as the fuzzing process, emptied between inputs.
public final class FuzzDirectory {
    public let path: String
    private var written: [String] = []

    public init(_ label: String, subdirectories: [String] = []) {
        var template = Array((NSTemporaryDirectory() + "/pipe-fuzz-\(label)-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed") }
        path = URL(fileURLWithPath: String(cString: made)).resolvingSymlinksInPath().path
        for sub in subdirectories {
            try! FileManager.default.createDirectory(atPath: path + "/" + sub, withIntermediateDirectories: true)
        }
    }

    /// Removes the files the previous input wrote.
    public func reset() {
        for file in written { try? FileManager.default.removeItem(atPath: file) }
        written = []
    }

    /// Writes `bytes` at the relative `name` (directories made as needed); false if that failed.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) -> Bool {
        let full = path + "/" + name
        let parent = (full as NSString).deletingLastPathComponent
        if parent != path { try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else { return false }
        written.append(full)
        return true
    }
}
