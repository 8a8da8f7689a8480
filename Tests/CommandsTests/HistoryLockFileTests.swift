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
            ("schema: pipe.lock.v0\n", "not a pipe.lock.v1 lock file"),
            ("schema: pipe.lock.v1\npipeline: p\nfile: p.yaml\nstages:\n  a:\n    kind: x\n", "bad.lock:6:5: stage a: missing kind: or key:"),
        ] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: UnusableLockFile.self) { try LockFile.read(path: path) }
            do { _ = try LockFile.read(path: path) } catch { #expect("\(error)".contains(expected), "\(error)") }
        }
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
