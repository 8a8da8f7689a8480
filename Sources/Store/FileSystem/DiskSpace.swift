#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ArtifactStore {
    /// "no space left on device (...)" when the filesystem holding the store has (almost) no room
    /// for an unprivileged writer, else nil. A stage that failed on a full disk usually could not
    /// write its error to its log either, so the runner adds this to the failure.
    public func diskFullNote() -> String? {
        var info = statvfs()
        guard statvfs(temporaryDirectory, &info) == 0 else { return nil }
        let available = UInt64(info.f_bavail) * UInt64(info.f_frsize)
        guard available < 64 * 1024 || info.f_favail == 0 else { return nil }
        let room = info.f_favail == 0 ? "no free inodes" : "\(available / 1024) KiB free"
        return "no space left on device: the filesystem holding \(root) is full (\(room)); free some space (`pipe gc` removes old results) and run again"
    }
}
