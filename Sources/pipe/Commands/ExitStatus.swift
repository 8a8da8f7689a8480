import ArgumentParser

/// Ends a subcommand with the exit status a Commands operation returned: 0 returns normally, any
/// other status exits the process with it (the operation has already printed why).
func exitOnFailure(_ status: Int32) throws {
    if status != 0 { throw ExitCode(status) }
}
