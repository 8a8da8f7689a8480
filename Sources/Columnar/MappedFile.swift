#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only: Parquet needs its footer first and then seeks, and the pages a
/// reader does not touch are never read in. Memory is the page cache, not the heap.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ColumnarError("cannot open the file (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ColumnarError("cannot read the file's size") }
        let size = Int(info.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw ColumnarError("cannot map the file (\(String(cString: strerror(errno))))")
        }
        base = mapped
        bytes = UnsafeRawBufferPointer(start: mapped, count: size)
    }

    /// Tells the kernel the bytes of `range` will not be read again (rounded inward to whole pages):
    /// a mapping's pages otherwise stay resident until the file is closed, and a long import would
    /// end with the whole file in its resident set. Read again, they come back from the file.
    func release(_ range: Range<Int>) {
        guard let base else { return }
        let page = Self.pageSize
        let start = (max(0, range.lowerBound) + page - 1) / page * page
        let end = min(range.upperBound, bytes.count) / page * page
        if end > start { _ = madvise(base + start, end - start, MADV_DONTNEED) }
    }

    static let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    deinit {
        if let base { munmap(base, bytes.count) }
    }
}
