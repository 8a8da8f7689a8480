import Foundation

/// Runs the real `pipe` executable built next to the test bundle (or `$PIPE_BINARY`).
public struct PipeBinary: Sendable {
    public let path: String

    public init() throws {
        if let override = ProcessInfo.processInfo.environment["PIPE_BINARY"] {
            path = override
        } else {
            let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            var directory = URL(fileURLWithPath: me).deletingLastPathComponent()
            // macOS test bundles live in <products>/X.xctest/Contents/MacOS/.
            while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
            path = directory.appendingPathComponent("pipe").path
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSupportError("no pipe binary at \(path): build the `pipe` product first (or set PIPE_BINARY)")
        }
    }

    /// The result of one finished `pipe` invocation.
    public struct Result: Sendable, CustomStringConvertible {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var output: String { stdout + stderr }
        public var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
    }

    /// Runs `pipe arguments…` in `directory` and waits for it.
    public func run(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> Result {
        try start(arguments, in: directory, environment: environment).finish()
    }

    /// Starts `pipe arguments…` without waiting (for interrupt and concurrency tests).
    public func start(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (name, value) in environment { env[name] = value }
        process.environment = env
        let stdoutFile = directory + "/.pipe-test-stdout-\(UUID().uuidString)"
        let stderrFile = directory + "/.pipe-test-stderr-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: stdoutFile, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutFile))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrFile))
        try process.run()
        return Running(process: process, stdoutFile: stdoutFile, stderrFile: stderrFile)
    }

    /// A `pipe` process started by `start`.
    public final class Running: @unchecked Sendable {
        public let process: Process
        let stdoutFile: String
        let stderrFile: String

        init(process: Process, stdoutFile: String, stderrFile: String) {
            self.process = process
            self.stdoutFile = stdoutFile
            self.stderrFile = stderrFile
        }

        public var pid: Int32 { process.processIdentifier }

        /// What it has printed so far.
        public var stdoutSoFar: String { (try? String(contentsOfFile: stdoutFile, encoding: .utf8)) ?? "" }

        public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        public func finish() -> Result {
            process.waitUntilExit()
            let out = (try? String(contentsOfFile: stdoutFile, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: stdoutFile)
            try? FileManager.default.removeItem(atPath: stderrFile)
            return Result(status: process.terminationStatus, stdout: out, stderr: err)
        }
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
