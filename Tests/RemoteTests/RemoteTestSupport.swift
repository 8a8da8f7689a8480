import Foundation
import Hashing
import RandomTestSupport
import RemoteHTTP
@testable import Store

/// A fresh temporary directory per test, removed on deinit.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "/pipe-remote-tests-\(safe)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? POSIX.removeTree(path) }

    func sub(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path + "/" + name, withIntermediateDirectories: true)
        return path + "/" + name
    }
}

/// Stage results to move: "model" (a tree: nested directory, an executable, a relative symlink,
/// a tokenizer file that the "data" result also contains) and "data" (a single file, byte-identical
/// to the tokenizer), plus a log each. Sizes are small unless `bigBytes` asks for a large file.
enum RemoteFixture {
    static let tokenizer = Array("{\"vocab\": [\"a\", \"b\", \"c\"]}\n".utf8)

    static func makeResults(in store: ArtifactStore, bigBytes: Int = 0, seed: UInt8 = 1) throws -> [Digest] {
        let staging = try store.makeStagingDirectory(label: "fixture")
        defer { staging.remove() }
        let model = staging.path + "/model"
        try FileManager.default.createDirectory(atPath: model + "/weights", withIntermediateDirectories: true)
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }).write(to: URL(fileURLWithPath: model + "/weights/w.bin"))
        try Data(tokenizer).write(to: URL(fileURLWithPath: model + "/tokenizer.json"))
        try Data("#!/bin/sh\necho hi\n".utf8).write(to: URL(fileURLWithPath: model + "/run.sh"))
        chmod(model + "/run.sh", 0o755)
        try FileManager.default.createSymbolicLink(atPath: model + "/latest", withDestinationPath: "weights/w.bin")
        try FileManager.default.createDirectory(atPath: model + "/empty", withIntermediateDirectories: true)
        if bigBytes > 0 {
            var generator = SplitMix64(seed: UInt64(seed))
            var bytes = [UInt8](repeating: 0, count: bigBytes)
            bytes.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for i in 0..<words.count { words[i] = generator.next() }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: model + "/weights/big.bin"))
        }
        let data = staging.path + "/data.json"
        try Data(tokenizer).write(to: URL(fileURLWithPath: data))
        let modelDigest = try store.ingest(model)
        let dataDigest = try store.ingest(data)
        var keys: [Digest] = []
        for (name, output) in [("sft", modelDigest), ("data", dataDigest)] {
            let log = staging.path + "/\(name).log"
            try Data("log of \(name) \(seed)\n".utf8).write(to: URL(fileURLWithPath: log))
            let logDigest = try store.ingest(log)
            let key = SHA256.hash("key \(name) \(seed) \(bigBytes)")
            try store.commit(StageRecord(key: key, stage: name, keyMaterial: .object(["stage": .string(name)]), outputs: ["out": output],
                                         log: logDigest, metrics: ["loss": 1.5], startedAt: Date(timeIntervalSince1970: 1_700_000_000),
                                         finishedAt: Date(timeIntervalSince1970: 1_700_000_001), host: "builder"))
            keys.append(key)
        }
        return keys
    }

    /// Every file under `path` (relative path → bytes, symlinks as "-> target"), for byte-identity checks.
    static func contents(_ path: String) throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        func visit(_ absolute: String, _ relative: String) throws {
            let status = try require_nonnil(try POSIX.status(absolute))
            if status.isSymlink {
                result[relative] = Array(("-> " + (try FileManager.default.destinationOfSymbolicLink(atPath: absolute))).utf8)
            } else if status.isDirectory {
                result[relative + "/"] = Array("dir \(status.mode & 0o777)".utf8)
                for name in try POSIX.listDirectory(absolute) { try visit(absolute + "/" + name, relative + "/" + name) }
            } else {
                result[relative] = (try POSIX.readFile(absolute) ?? []) + Array(" mode \(status.mode & 0o777)".utf8)
            }
        }
        try visit(path, "")
        return result
    }

    /// What would make the remote inconsistent: a record whose objects are missing, a manifest whose
    /// files are missing or whose digest is wrong, a content file that does not hash to its name.
    static func consistencyProblems(remoteRoot root: String) -> [String] {
        var problems: [String] = []
        let names = { (dir: String) in (try? POSIX.listDirectory(root + "/" + dir)) ?? [] }
        for name in names("cas") {
            guard let digest = Digest(hex: name) else { problems.append("cas/\(name): not a digest name"); continue }
            if (try? FileHasher.hash(path: root + "/cas/" + name).digest) != digest { problems.append("cas/\(name) does not hash to its name") }
        }
        for name in names("objects") {
            guard let digest = Digest(hex: name), let bytes = try? POSIX.readFile(root + "/objects/" + name),
                  case .success(let manifest) = RemoteObjectManifest.decode(bytes) else { problems.append("objects/\(name) unreadable"); continue }
            if manifest.digest != digest { problems.append("objects/\(name) describes \(manifest.digest.short)") }
            for file in ContentAddressedRemote.files(of: manifest, at: "") where !POSIX.exists(root + "/cas/" + file.sha.hex) {
                problems.append("objects/\(name) lists missing content \(file.sha.short)")
            }
        }
        for name in names("stages") {
            guard let bytes = try? POSIX.readFile(root + "/stages/" + name), let record = try? StageRecord.decode(bytes) else {
                problems.append("stages/\(name) unreadable"); continue
            }
            for object in record.referencedObjects where !POSIX.exists(root + "/objects/" + object.hex) {
                problems.append("stages/\(name) names missing object \(object.short)")
            }
        }
        return problems
    }
}

/// `#require` for non-Testing helpers.
func require_nonnil<T>(_ value: T?) throws -> T {
    guard let value else { throw TestFailure("unexpected nil") }
    return value
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
