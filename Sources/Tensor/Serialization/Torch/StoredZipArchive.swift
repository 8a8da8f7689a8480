/// The central directory of a ZIP archive whose entries are STORED (uncompressed), as `torch.save` writes
/// them: entry names and where each entry's bytes lie in the file, so a tensor can be read in place.
///
/// Read from the end (end-of-central-directory record, ZIP64 records for archives over 4 GB or 65535
/// entries); every size and offset is checked against the file before it is used, and the local header
/// of an entry is read only for its name and extra-field lengths (torch pads there to align data, and its
/// local headers carry no sizes: the central directory's are authoritative).
struct StoredZipArchive {
    struct Entry {
        let name: String
        /// 0 = STORED; anything else is refused when the entry is read.
        let method: UInt16
        let flags: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let size: Int
        let headerOffset: Int
    }

    /// Largest central directory read (a checkpoint's is about 100 bytes per tensor).
    static let maxDirectorySize = 64 << 20

    let file: String
    let entries: [String: Entry]
    /// Where the central directory starts: every entry's data lies before it.
    let directoryOffset: Int

    init(descriptor fd: Int32, fileSize: Int, file: String) throws(TorchCheckpointError) {
        self.file = file
        func fail(_ message: String) -> TorchCheckpointError {
            TorchCheckpointError(file: file, message: "damaged ZIP archive: \(message)")
        }
        func read(_ offset: Int, _ count: Int) throws(TorchCheckpointError) -> [UInt8] {
            guard offset >= 0, count >= 0, offset <= fileSize, count <= fileSize - offset else {
                throw fail("a record at byte \(offset) of \(count) bytes lies past the end of the file (\(fileSize) bytes)")
            }
            switch StoredBytes.read(fd, at: offset, count: count) {
            case .success(let bytes): return bytes
            case .failure(let failure): throw TorchCheckpointError(file: file, message: failure.reason)
            }
        }

        // End of central directory: 22 bytes + a comment of at most 65535, at the very end.
        let tailStart = max(0, fileSize - (22 + 0xFFFF))
        let tail = try read(tailStart, fileSize - tailStart)
        var end: Int?
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06,
               i + 22 + Int(tail.u16(i + 20)) <= tail.count { end = i; break }
            i -= 1
        }
        guard let end else { throw fail("no end-of-central-directory record (the file is cut short or not a ZIP archive)") }
        let endOffset = tailStart + end
        var count = Int(tail.u16(end + 10))
        var directorySize = Int(tail.u32(end + 12))
        var directoryOffset = Int(tail.u32(end + 16))
        var directoryLimit = endOffset
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: a locator right before the record points at the ZIP64 end-of-central-directory record.
            guard endOffset >= 20 else { throw fail("ZIP64 end-of-central-directory locator missing") }
            let locator = try read(endOffset - 20, 20)
            guard locator.u32(0) == 0x0706_4B50 else { throw fail("ZIP64 end-of-central-directory locator missing") }
            guard let record64 = Int(exactly: locator.u64(8)), record64 <= endOffset - 20 - 56 else {
                throw fail("ZIP64 end-of-central-directory record offset \(locator.u64(8)) lies past the end of the file")
            }
            let record = try read(record64, 56)
            guard record.u32(0) == 0x0606_4B50 else { throw fail("no ZIP64 end-of-central-directory record at byte \(record64)") }
            guard let c = Int(exactly: record.u64(32)), let s = Int(exactly: record.u64(40)), let o = Int(exactly: record.u64(48)) else {
                throw fail("ZIP64 end-of-central-directory record declares sizes beyond any file")
            }
            (count, directorySize, directoryOffset, directoryLimit) = (c, s, o, record64)
        }
        guard directoryOffset <= directoryLimit, directorySize <= directoryLimit - directoryOffset else {
            throw fail("central directory (\(directorySize) bytes at byte \(directoryOffset)) lies past the end of the file")
        }
        guard directorySize <= Self.maxDirectorySize else {
            throw fail("central directory of \(directorySize) bytes is larger than any checkpoint's (limit \(Self.maxDirectorySize))")
        }
        guard count <= directorySize / 46 else {
            throw fail("\(count) entries cannot fit a central directory of \(directorySize) bytes")
        }
        let directory = try read(directoryOffset, directorySize)
        var entries: [String: Entry] = [:]
        var at = 0
        for n in 0..<count {
            guard at + 46 <= directory.count, directory.u32(at) == 0x0201_4B50 else {
                throw fail("central directory entry \(n) at byte \(directoryOffset + at) is not a file header")
            }
            let nameLength = Int(directory.u16(at + 28)), extraLength = Int(directory.u16(at + 30)), commentLength = Int(directory.u16(at + 32))
            let next = at + 46 + nameLength + extraLength + commentLength
            guard next <= directory.count else { throw fail("central directory entry \(n) runs past the directory's end") }
            guard let name = String(validating: directory[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self) else {
                throw fail("central directory entry \(n) has a name that is not UTF-8")
            }
            var compressed = UInt64(directory.u32(at + 20)), size = UInt64(directory.u32(at + 24)), offset = UInt64(directory.u32(at + 42))
            if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
                // ZIP64 extra field (id 1): the 64-bit values of exactly the fields saturated above, in this order.
                var extra = at + 46 + nameLength
                let extraEnd = extra + extraLength
                var found = false
                while extra + 4 <= extraEnd {
                    let id = directory.u16(extra), length = Int(directory.u16(extra + 2))
                    guard extra + 4 + length <= extraEnd else { break }
                    if id == 1 {
                        var field = extra + 4
                        func next64() throws(TorchCheckpointError) -> UInt64 {
                            guard field + 8 <= extra + 4 + length else { throw fail("entry '\(name)' has a short ZIP64 extra field") }
                            defer { field += 8 }
                            return directory.u64(field)
                        }
                        if size == 0xFFFF_FFFF { size = try next64() }
                        if compressed == 0xFFFF_FFFF { compressed = try next64() }
                        if offset == 0xFFFF_FFFF { offset = try next64() }
                        found = true
                        break
                    }
                    extra += 4 + length
                }
                guard found else { throw fail("entry '\(name)' needs a ZIP64 extra field and has none") }
            }
            guard let c = Int(exactly: compressed), let s = Int(exactly: size), let o = Int(exactly: offset),
                  o < directoryOffset, c <= directoryOffset - o else {
                throw fail("entry '\(name)' (\(compressed) bytes at byte \(offset)) lies outside the archive's data")
            }
            guard entries[name] == nil else { throw fail("entry '\(name)' appears twice") }
            entries[name] = Entry(name: name, method: directory.u16(at + 10), flags: directory.u16(at + 8), crc32: directory.u32(at + 16),
                                  compressedSize: c, size: s, headerOffset: o)
            at = next
        }
        self.entries = entries
        self.directoryOffset = directoryOffset
    }

    /// Where a STORED entry's bytes lie in the file; compressed or encrypted entries are refused by name.
    func dataRange(of entry: Entry, descriptor fd: Int32) throws(TorchCheckpointError) -> Range<Int> {
        guard entry.method == 0 else {
            throw TorchCheckpointError(file: file, message: "entry '\(entry.name)' is compressed (ZIP method \(entry.method)); torch.save "
                + "stores entries uncompressed, so this archive was repacked: re-save it with torch.save, or convert it")
        }
        guard entry.flags & 1 == 0 else {
            throw TorchCheckpointError(file: file, message: "entry '\(entry.name)' is encrypted")
        }
        guard entry.compressedSize == entry.size else {
            throw TorchCheckpointError(file: file, message: "damaged ZIP archive: stored entry '\(entry.name)' declares "
                + "\(entry.compressedSize) stored bytes but \(entry.size) bytes of data")
        }
        guard entry.headerOffset + 30 <= directoryOffset else {
            throw TorchCheckpointError(file: file, message: "damaged ZIP archive: entry '\(entry.name)' has its header past the data")
        }
        let header: [UInt8]
        switch StoredBytes.read(fd, at: entry.headerOffset, count: 30) {
        case .success(let bytes): header = bytes
        case .failure(let failure): throw TorchCheckpointError(file: file, message: failure.reason)
        }
        guard header.u32(0) == 0x0403_4B50 else {
            throw TorchCheckpointError(file: file, message: "damaged ZIP archive: entry '\(entry.name)' has no local header at byte \(entry.headerOffset)")
        }
        let start = entry.headerOffset + 30 + Int(header.u16(26)) + Int(header.u16(28))
        guard start <= directoryOffset, entry.size <= directoryOffset - start else {
            throw TorchCheckpointError(file: file, message: "damaged ZIP archive: entry '\(entry.name)' (\(entry.size) bytes at byte \(start)) "
                + "runs past the archive's data")
        }
        return start..<(start + entry.size)
    }
}

extension [UInt8] {
    func u16(_ i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }
    func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
    func u64(_ i: Int) -> UInt64 { UInt64(u32(i)) | UInt64(u32(i + 4)) << 32 }
}
