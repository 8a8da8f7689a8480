import Foundation

/// Detects filesystems shared between machines (and so unsuitable for SQLite WAL), from the
/// filesystem type of the longest mount point containing the path in /proc/self/mounts (Glibc's
/// module map does not expose statfs). Off Linux: assumed local.
enum FilesystemKind {
    static let networkTypes: Set<String> = ["nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "ceph",
                                            "beegfs", "glusterfs", "9p", "afs", "ocfs2", "gfs2"]

    static func isNetwork(path: String) -> Bool {
        guard let type = filesystemType(path: path) else { return false }
        return networkTypes.contains(type) || type.hasPrefix("fuse.")
    }

    static func filesystemType(path: String) -> String? {
        guard let bytes = try? POSIX.readFile("/proc/self/mounts") else { return nil }
        var resolved = path
        if let real = realpath(path, nil) { resolved = String(cString: real); free(real) }
        var best: (length: Int, type: String)?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mountPoint = unescape(String(fields[1]))
            let contains = mountPoint == "/" || resolved == mountPoint || resolved.hasPrefix(mountPoint + "/")
            if contains && mountPoint.count >= (best?.length ?? -1) { best = (mountPoint.count, String(fields[2])) }
        }
        return best?.type
    }

    /// /proc/mounts escapes space, tab, newline and backslash as octal (\040 ...).
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var out: [UInt8] = []
        let bytes = Array(field.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count,
               let value = UInt8(String(decoding: bytes[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                out.append(value); index += 4
            } else {
                out.append(bytes[index]); index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
