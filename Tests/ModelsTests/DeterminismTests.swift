import Foundation
import Testing
import XCTest
@testable import Models

/// The child side of the two-process determinism check: an XCTest case (so the test bundle can be
/// re-launched with just this filter) that writes the trained weights' digest to
/// $PIPE_DETERMINISM_OUT. Run without the variable it simply checks training is reproducible.
final class DeterminismChild: XCTestCase {
    func testWriteTrainedWeightsDigest() throws {
        let digest = try trainedWeightsDigest()
        if let out = ProcessInfo.processInfo.environment["PIPE_DETERMINISM_OUT"] {
            try String(digest, radix: 16).write(toFile: out, atomically: true, encoding: .utf8)
        } else {
            XCTAssertEqual(digest, try trainedWeightsDigest())
        }
    }
}

@Suite("Determinism across processes")
struct DeterminismTests {
    /// Runs the test bundle twice as child processes (fresh address space, allocator state and
    /// thread timing each time) and compares their weight digests bit for bit.
    @Test func sameSeedSameWeightsInTwoProcesses() throws {
        let bundle = CommandLine.arguments[0]
        var digests: [String] = []
        for run in 0..<2 {
            let out = NSTemporaryDirectory() + "pipe-determinism-\(getpid())-\(run)"
            defer { try? FileManager.default.removeItem(atPath: out) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bundle)
            p.arguments = ["ModelsTests.DeterminismChild/testWriteTrainedWeightsDigest"]
            var env = ProcessInfo.processInfo.environment
            env["PIPE_DETERMINISM_OUT"] = out
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            try #require(p.terminationStatus == 0, "child run \(run) of \(bundle) failed")
            digests.append(try String(contentsOfFile: out, encoding: .utf8))
        }
        #expect(digests[0] == digests[1])
        #expect(digests[0] == String(try trainedWeightsDigest(), radix: 16))
    }
}
