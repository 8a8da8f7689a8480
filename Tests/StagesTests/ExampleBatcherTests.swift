import XCTest
import Tensor
@testable import Stages

final class ExampleBatcherTests: XCTestCase {
    let eos: Int32 = 0, pad: Int32 = 9

    func testLossCountsOnlyTheCompletionAndItsEOS() throws {
        let b = try ExampleBatcher(examples: [PromptCompletionExample(prompt: [1, 2], completion: [3, 4])],
                                   eos: eos, pad: pad, blockSize: 7)
        let batch = b.evaluationBatch(index: 0, size: 1, of: 1)
        // row: [0 1 2 3 4 0 9 9]; inputs row[0..<7], targets row[1...7]
        XCTAssertEqual(batch.inputs, [0, 1, 2, 3, 4, 0, 9])
        XCTAssertEqual(batch.targets, [1, 2, 3, 4, 0, 9, 9])
        XCTAssertEqual(batch.lossMask, [0, 0, 1, 1, 1, 0, 0])
        let withPrompt = try ExampleBatcher(examples: b.examples, eos: eos, pad: pad, blockSize: 7, trainOnPrompt: true)
        XCTAssertEqual(withPrompt.evaluationBatch(index: 0, size: 1, of: 1).lossMask, [1, 1, 1, 1, 1, 0, 0])
    }

    func testTruncationKeepsTheStartOrTheEnd() throws {
        let examples = [PromptCompletionExample(prompt: [1, 2, 3, 4], completion: [5, 6])]
        let start = try ExampleBatcher(examples: examples, eos: eos, pad: pad, blockSize: 4)
        let s = start.evaluationBatch(index: 0, size: 1, of: 1)
        XCTAssertEqual(s.inputs, [0, 1, 2, 3]); XCTAssertEqual(s.targets, [1, 2, 3, 4]); XCTAssertEqual(s.lossMask, [0, 0, 0, 0])
        let end = try ExampleBatcher(examples: examples, eos: eos, pad: pad, blockSize: 4, keepEnd: true)
        let e = end.evaluationBatch(index: 0, size: 1, of: 1)
        // [0 1 2 3 4 5 6 0] → BOS + last 4: [0 4 5 6 0]
        XCTAssertEqual(e.inputs, [0, 4, 5, 6]); XCTAssertEqual(e.targets, [4, 5, 6, 0]); XCTAssertEqual(e.lossMask, [0, 1, 1, 1])
    }

    func testPackingFillsRowsWithFollowingExamples() throws {
        let examples = [PromptCompletionExample(prompt: [1], completion: [2]), PromptCompletionExample(prompt: [3], completion: [4])]
        let b = try ExampleBatcher(examples: examples, eos: eos, pad: pad, blockSize: 7, packing: true)
        let batch = b.evaluationBatch(index: 0, size: 1, of: 2)
        // [0 1 2 0][0 3 4 0] → inputs [0 1 2 0 0 3 4], targets [1 2 0 0 3 4 0]
        XCTAssertEqual(batch.inputs, [0, 1, 2, 0, 0, 3, 4])
        XCTAssertEqual(batch.targets, [1, 2, 0, 0, 3, 4, 0])
        XCTAssertEqual(batch.lossMask, [0, 1, 1, 0, 0, 1, 1])
    }

    func testRandomBatchesAreSeeded() throws {
        let examples = (0..<20).map { (i: Int) -> PromptCompletionExample in
            PromptCompletionExample(prompt: [Int32(i % 7 + 1)], completion: [Int32(i % 5 + 1)])
        }
        let b = try ExampleBatcher(examples: examples, eos: eos, pad: pad, blockSize: 6)
        var r1 = RandomStream(seed: 3, stream: 1), r2 = RandomStream(seed: 3, stream: 1)
        XCTAssertEqual(b.batch(size: 4, random: &r1).inputs, b.batch(size: 4, random: &r2).inputs)
        XCTAssertThrowsError(try ExampleBatcher(examples: [], eos: eos, pad: pad, blockSize: 4))
    }
}
