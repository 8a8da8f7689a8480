import Foundation
import Hashing
@testable import Store

/// A fresh temporary directory per test (Swift Testing runs tests in parallel), removed on deinit.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "/pipe-store-tests-\(safe)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? POSIX.removeTree(path) }

    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws {
        try write(relative, Array(text.utf8), mode: mode)
    }

    func write(_ relative: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: POSIX.parentDirectory(full), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(bytes))
        chmod(full, mode_t(mode))
    }

    func makeDirectory(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
    }

    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path + "/" + relative, withDestinationPath: target)
    }
}

/// Collects store warnings so tests can check that a problem was reported.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    var all: [String] { lock.lock(); defer { lock.unlock() }; return messages }
    var handler: @Sendable (String) -> Void { { [self] message in lock.lock(); messages.append(message); lock.unlock() } }
}

/// Sets a file's mtime (ctime always moves to "now": the kernel does not let us set it).
func setModificationTime(_ path: String, seconds: Int, nanoseconds: Int) {
    var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
    _ = utimensat(AT_FDCWD, path, &times, 0)
}

/// Runs a command, returning its exit status.
@discardableResult
func runCommand(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

func commandExists(_ path: String) -> Bool { access(path, X_OK) == 0 }
