import Foundation
import GRDB
import Hashing

/// Why the stat cache is a compact file and not a SQLite table: measures, for the same entries,
/// "open + one lookup" from a fresh process's point of view for both formats.
enum StatCacheFormatBenchmark {
    static func run(at directory: String, entries count: Int = 10_000) throws -> String {
        var entries: [StatCache.Key: StatCache.Entry] = [:]
        for index in 0..<count {
            let key = StatCache.Key(device: 2049, inode: UInt64(1000 + index), size: Int64(index * 7),
                                    modified: 1_700_000_000_000_000_000 + Int64(index), changed: 1_700_000_000_000_000_000 + Int64(index))
            entries[key] = StatCache.Entry(digest: SHA256.hash(String(index)), addedAt: 1_700_000_000)
        }
        let probe = StatCache.Key(device: 2049, inode: UInt64(1000 + count / 2), size: Int64(count / 2 * 7),
                                  modified: 1_700_000_000_000_000_000 + Int64(count / 2), changed: 1_700_000_000_000_000_000 + Int64(count / 2))
        let probeStatus = FileStatus(device: probe.device, inode: probe.inode, size: probe.size, mode: 0o100644,
                                     modifiedNanoseconds: probe.modified, changedNanoseconds: probe.changed)

        let filePath = directory + "/statcache-format.bin"
        try? POSIX.removeTree(filePath)
        try POSIX.writeNewFile(filePath, StatCache.encode(entries), sync: false)
        var fileTimes: [Double] = []
        for _ in 0..<5 {
            let start = POSIX.nowMonotonic()
            let cache = StatCache(path: filePath)
            guard cache.lookup(probeStatus) != nil else { throw StoreError.io(operation: "benchmark", path: filePath, reason: "probe missing") }
            fileTimes.append(Double(POSIX.nowMonotonic() - start) / 1e6)
        }

        let databasePath = directory + "/statcache-format.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? POSIX.removeTree(databasePath + suffix) }
        do {
            let queue = try DatabaseQueue(path: databasePath)
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE stat (dev INTEGER, ino INTEGER, size INTEGER, mtime INTEGER, ctime INTEGER, digest BLOB, PRIMARY KEY (dev, ino, size, mtime, ctime)) WITHOUT ROWID")
                let insert = try db.makeStatement(sql: "INSERT INTO stat VALUES (?, ?, ?, ?, ?, ?)")
                for (key, entry) in entries {
                    try insert.execute(arguments: [Int64(bitPattern: key.device), Int64(bitPattern: key.inode), key.size,
                                                   key.modified, key.changed, Data(entry.digest.bytes)])
                }
            }
        }
        var sqliteTimes: [Double] = []
        for _ in 0..<5 {
            let start = POSIX.nowMonotonic()
            let queue = try DatabaseQueue(path: databasePath)
            let found = try queue.read { db in
                try Data.fetchOne(db, sql: "SELECT digest FROM stat WHERE dev = ? AND ino = ? AND size = ? AND mtime = ? AND ctime = ?",
                                  arguments: [Int64(bitPattern: probe.device), Int64(bitPattern: probe.inode), probe.size, probe.modified, probe.changed])
            }
            guard found != nil else { throw StoreError.io(operation: "benchmark", path: databasePath, reason: "probe missing") }
            sqliteTimes.append(Double(POSIX.nowMonotonic() - start) / 1e6)
        }
        fileTimes.sort(); sqliteTimes.sort()
        try? POSIX.removeTree(filePath)
        for suffix in ["", "-wal", "-shm"] { try? POSIX.removeTree(databasePath + suffix) }
        return String(format: "store.statcache format, fresh open + 1 lookup with %d entries: compact file %.3f ms, SQLite table %.3f ms (medians of 5)",
                      count, fileTimes[2], sqliteTimes[2])
    }
}
