// libFuzzer target for the store files `pipe run` / `pipe verify` read back (scripts/fuzz.sh store):
// stage records (records/<key>.json), object shapes (shapes/<digest>), pulled object manifests, the
// stat cache and record index files (KeyedBinaryFile), and a record index entry's payload.
//
// Input: the bytes of one file; every reader gets them. The index payload is wrapped in an entry with a
// valid check (a damaged check is only a miss; what lies behind it is the decoder's to survive).
// A damaged file must be an error or a miss, never a trap.
#if FUZZING
import Foundation
import Hashing
@testable import Store

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStore(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let record = try? StageRecord.decode(bytes) { _ = record.keyMaterial }
    _ = ObjectShape(encoded: bytes)?.encoded
    _ = RemoteObjectManifest.decode(bytes)

    for (magic, keySize) in [(StatCache.magic, StatCache.keySize), (RecordIndex.magic, RecordIndex.keySize)] {
        let file = KeyedBinaryFile(path: "", magic: magic, keySize: keySize, maxEntries: 1000)
        var image = bytes
        image.replaceSubrange(0..<min(8, image.count), with: Array(magic.utf8))
        guard let parsed = file.parse(image) else { continue }
        image.withUnsafeBytes { raw in
            for at in parsed.offsets { _ = file.intactPayload(raw, at: at) }
        }
        _ = parsed.offset(of: [UInt8](repeating: 0, count: keySize))
    }

    // A record index entry around the input: identity (40 bytes) taken from the input's start.
    let key = Digest(bytes: [UInt8](repeating: 7, count: 32))
    let entry = RecordIndex.file(path: "").encodeEntry(key: key.bytes, addedAt: 1, payload: bytes)
    var words = [UInt64](repeating: 0, count: 5)
    for i in 0..<min(5, bytes.count / 8) {
        words[i] = bytes[(i * 8)..<(i * 8 + 8)].enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
    let identity = RecordIndex.Identity(device: words[0], inode: words[1], size: Int64(bitPattern: words[2]),
                                        modified: Int64(bitPattern: words[3]), changed: Int64(bitPattern: words[4]))
    if let found = entry.withUnsafeBytes({ RecordIndex.decode($0, at: 0, key: key, identity: identity, recordPath: "/nonexistent") }) {
        _ = found.record.outputs.count
    }
    return 0
}
#else
@main struct FuzzStoreStub {
    static func main() { print("built without FUZZING: run scripts/fuzz.sh store") }
}
#endif
