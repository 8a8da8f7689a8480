@testable import Commands
import Engine
import Foundation
import Hashing
import Pipeline
import Testing

@Suite("Lock files")
struct HistoryLockFileTests {
    static func stage(_ name: String, lr: Double, text: String) -> RecordedStage {
        let material = KeyMaterial(
            kind: "ppo", implementationVersion: 2,
            params: [ResolvedParam(name: "lr", value: .float(lr)), ResolvedParam(name: "note", value: .string(text)),
                     ResolvedParam(name: "steps", value: .int(10)), ResolvedParam(name: "layers", value: .list([.int(1), .int(2)])),
                     ResolvedParam(name: "flag", value: .bool(true))],
            inputs: [KeyMaterial.Input(name: "policy", digest: SHA256.hash(Array("p".utf8)), source: "sft.model")],
            command: "echo \"${params.note}\" > ${outs.model}", deps: [KeyMaterial.Dep(path: "data/x y.txt", digest: SHA256.hash([1]))],
            environment: [KeyMaterial.EnvironmentEntry(name: "threads", value: "1")], seed: 42)
        return RecordedStage(name: name, material: material, outputs: ["model": SHA256.hash(Array(name.utf8))])
    }

    @Test func roundTripsExactlyIncludingQuotedKeysAndStrings() throws {
        let lock = LockFile(pipeline: "sentiment", file: "sentiment.yaml",
                            variants: [.init(name: "base", overrides: [], stages: [Self.stage("ppo", lr: 1.41e-5, text: "a \"quoted\": note\nwith: colon")])],
                            isSweep: false)
        let directory = NSTemporaryDirectory() + "pipe-lock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sentiment.lock"
        try lock.write(to: path)
        let read = try LockFile.read(path: path)
        #expect(read == lock)
        #expect(lock.text.contains("      lr: 1.41e-05\n"))
        #expect(lock.text.contains("      layers: [1, 2]\n"))
        #expect(lock.text.contains("      \"data/x y.txt\": "))
        // Deterministic: the same content gives the same bytes.
        #expect(lock.text == LockFile(pipeline: "sentiment", file: "sentiment.yaml", variants: lock.variants, isSweep: false).text)
    }

    @Test func sweepLockKeepsEveryVariant() throws {
        let lock = LockFile(pipeline: "p", file: "p.yaml", variants: [
            .init(name: "ppo.lr=1e-05", overrides: [("ppo.lr", "1e-05")], stages: [Self.stage("ppo", lr: 1e-5, text: "")]),
            .init(name: "ppo.lr=3e-05", overrides: [("ppo.lr", "3e-05")], stages: [Self.stage("ppo", lr: 3e-5, text: "")]),
        ], isSweep: true)
        let parsed = try #require(try YAMLValue.parse(text: lock.text, file: "p.sweep.lock"))
        #expect(parsed["variants"]?.mappingEntries?.map(\.key) == ["ppo.lr=1e-05", "ppo.lr=3e-05"])
        let directory = NSTemporaryDirectory() + "pipe-lock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try lock.write(to: directory + "/p.sweep.lock")
        #expect(try LockFile.read(path: directory + "/p.sweep.lock") == lock)
    }

    @Test func unreadableLockFilesNameTheFileAndLine() throws {
        let directory = NSTemporaryDirectory() + "pipe-lock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.lock"
        for (text, expected) in [
            ("schema: pipe.lock.v1\npipeline: p\nfile: p.yaml\nstages:\n  a: [1\n", "bad.lock:"),
            ("schema: pipe.lock.v0\n", "not a pipe.lock.v2 lock file"),
            ("schema: pipe.lock.v1\npipeline: p\nfile: p.yaml\nstages:\n  a:\n    kind: x\n", "bad.lock:6:5: stage a: missing kind: or key:"),
        ] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: UnusableLockFile.self) { try LockFile.read(path: path) }
            do { _ = try LockFile.read(path: path) } catch { #expect("\(error)".contains(expected), "\(error)") }
        }
    }

    /// A lock file cut off anywhere — at a line boundary too, where the rest still parses as YAML — is
    /// refused, not read as a smaller lock (gc would then keep less than the whole lock names).
    @Test func everyTruncationIsDetected() throws {
        let directory = NSTemporaryDirectory() + "pipe-lock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/cut.lock"
        let plain = LockFile(pipeline: "p", file: "p.yaml", variants: [.init(name: "base", overrides: [], stages: [
            Self.stage("sft", lr: 1e-4, text: "x"), Self.stage("ppo", lr: 1e-5, text: "y")])], isSweep: false)
        let sweep = LockFile(pipeline: "p", file: "p.yaml", variants: [
            .init(name: "ppo.lr=1e-05", overrides: [("ppo.lr", "1e-05")], stages: [Self.stage("ppo", lr: 1e-5, text: "")]),
            .init(name: "ppo.lr=3e-05", overrides: [("ppo.lr", "3e-05")], stages: [Self.stage("ppo", lr: 3e-5, text: "")]),
        ], isSweep: true)
        for lock in [plain, sweep] {
            let bytes = Array(lock.text.utf8)
            #expect(bytes.suffix(10) == Array("\nend: true\n".utf8).suffix(10))
            let lineEnds = bytes.indices.filter { bytes[$0] == 0x0A }.map { $0 + 1 }
            let afterSchema = try #require(lock.text.range(of: "schema: pipe.lock.v2\n")).upperBound.utf16Offset(in: lock.text)
            for cut in 0..<bytes.count {
                try Data(bytes[..<cut]).write(to: URL(fileURLWithPath: path))
                do {
                    let read = try LockFile.read(path: path)
                    Issue.record("a lock cut at byte \(cut) of \(bytes.count) was read as \(read.variants.map(\.stages.count)) stages")
                } catch let error as UnusableLockFile {
                    if lineEnds.contains(cut), cut >= afterSchema {
                        #expect(error.problem == "it is cut short: its last line is not `end: true` (a write or copy of it was interrupted)",
                                "cut at \(cut): \(error)")
                    }
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(try LockFile.read(path: path) == lock)
            // A checkout with CRLF line ends (git's autocrlf) is still whole.
            try Data(lock.text.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: URL(fileURLWithPath: path))
            #expect(try LockFile.read(path: path) == lock)
        }
    }

    /// Lock files written before the end line (schema pipe.lock.v1) are still read.
    @Test func versionOneLockFilesAreStillRead() throws {
        let directory = NSTemporaryDirectory() + "pipe-lock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lock = LockFile(pipeline: "p", file: "p.yaml", variants: [.init(name: "base", overrides: [], stages: [
            Self.stage("ppo", lr: 1e-5, text: "y")])], isSweep: false)
        let v1 = lock.text.replacingOccurrences(of: "schema: pipe.lock.v2\n", with: "schema: pipe.lock.v1\n")
            .replacingOccurrences(of: "\nend: true\n", with: "\n")
        #expect(!v1.contains("end: true\n") && v1.contains("schema: pipe.lock.v1\n"))
        try Data(v1.utf8).write(to: URL(fileURLWithPath: directory + "/p.lock"))
        #expect(try LockFile.read(path: directory + "/p.lock") == lock)
    }

    @Test func pathSitsNextToThePipeline() {
        #expect(LockFile.path(forPipeline: "pipelines/sentiment.yaml") == "pipelines/sentiment.lock")
        #expect(LockFile.path(forPipeline: "/w/pipelines/smoke.yml", sweep: true) == "/w/pipelines/smoke.sweep.lock")
        #expect(LockFile.path(forPipeline: "p.yaml") == "p.lock")
    }

    @Test func differencesSeparateDefinitionEnvironmentAndInputs() {
        let recorded = Self.stage("ppo", lr: 1e-5, text: "")
        var material = KeyMaterial(kind: "ppo", implementationVersion: 2,
                                   params: [ResolvedParam(name: "lr", value: .float(3e-5)), ResolvedParam(name: "note", value: .string("")),
                                            ResolvedParam(name: "steps", value: .int(10)), ResolvedParam(name: "layers", value: .list([.int(1), .int(2)])),
                                            ResolvedParam(name: "flag", value: .bool(true))],
                                   inputs: [KeyMaterial.Input(name: "policy", digest: SHA256.hash(Array("q".utf8)), source: "sft.model")],
                                   command: recorded.command, deps: [KeyMaterial.Dep(path: "data/x y.txt", digest: SHA256.hash([1]))],
                                   environment: [KeyMaterial.EnvironmentEntry(name: "threads", value: "4")], seed: 42)
        var d = recorded.differences(from: material)
        #expect(d.definition == ["param lr: 1e-05 → 3e-05"])
        #expect(d.environment == ["threads: 1 → 4"])
        #expect(d.inputs == ["input policy (sft.model) differs"])
        material.params[material.params.firstIndex { $0.name == "lr" }!] = ResolvedParam(name: "lr", value: .float(1e-5))
        material.environment = [KeyMaterial.EnvironmentEntry(name: "threads", value: "1")]
        d = recorded.differences(from: material)
        #expect(d.definition.isEmpty && d.environment.isEmpty)
    }
}
