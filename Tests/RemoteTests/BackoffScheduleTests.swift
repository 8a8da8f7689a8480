import Foundation
@testable import RemoteHTTP
import Testing

/// The pauses between HTTP attempts: doubling from the first, capped, never overflowing, and the
/// ones the request loop really waits (recorded through the injected sleeper, no real sleeping).
@Suite("Remote cache: back-off schedule")
struct BackoffScheduleTests {
    @Test func doublesFromTheFirstPauseAndStopsAtTheCap() {
        let schedule = BackoffSchedule(first: 0.2)
        #expect((0...9).map { schedule.delay(beforeRetry: $0) } == [0, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30])
        for retry in [16, 17, 20, 63, 64, 65, 1_000, Int.max] {
            #expect(schedule.delay(beforeRetry: retry) == 30, "retry \(retry)")
        }
        #expect(schedule.delay(beforeRetry: Int.min) == 0)
    }

    @Test func oddFirstPausesAndCapsStayFiniteAndOrdered() {
        for first in [0, 1e-300, 0.01, 5, 1e300, .infinity, -1, .nan] {
            let schedule = BackoffSchedule(first: first, cap: 7)
            var previous = 0.0
            for retry in 1...200 {
                let delay = schedule.delay(beforeRetry: retry)
                #expect(delay.isFinite && delay >= previous && delay <= 7, "first \(first) retry \(retry): \(delay)")
                previous = delay
            }
        }
    }

    @Test func theRequestLoopWaitsTheCappedScheduleWithoutSleeping() throws {
        let port = freeLoopbackPort()
        let blobs = try HTTPBlobs(url: "http://127.0.0.1:\(port)/pipe", authorization: nil, retries: 20, timeout: 1)
        let pauses = PauseLog()
        blobs.sleep = { pauses.append($0) }
        let start = Date()
        #expect(throws: (any Error).self) { _ = try blobs.size(of: "stages/x.json") }
        #expect(Date().timeIntervalSince(start) < 10, "the pauses were recorded, not slept")
        let expected = [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6] + Array(repeating: 30.0, count: 12)
        #expect(pauses.values.count == 20)
        for (got, want) in zip(pauses.values, expected) { #expect(abs(got - want) < 1e-9, "\(pauses.values)") }
    }
}

private final class PauseLog: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Double] = []
    func append(_ value: Double) { lock.withLock { recorded.append(value) } }
    var values: [Double] { lock.withLock { recorded } }
}
