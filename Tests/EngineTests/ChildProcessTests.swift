@testable import Engine
import Foundation
import Testing
import WorkspaceTestSupport

@Suite("ChildProcess and LocalExecutor")
struct ChildProcessTests {
    func scratch() throws -> String { try TestWorkspace.temporaryDirectory("pipe-runner-child") }

    @Test func capturesStdoutAndStderrRunsInTheDirectoryAndReportsTheExitStatus() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/log.txt"
        let child = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "pwd; echo oops >&2; exit 7"],
                                           environment: ["PATH=/usr/bin:/bin"], directory: dir, logPath: log)
        #expect(child.wait() == .exited(7))
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains(URL(fileURLWithPath: dir).resolvingSymlinksInPath().path) || text.contains(dir))
        #expect(text.contains("oops"))
    }

    @Test func childGetsItsOwnProcessGroupAndDefaultSignals() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/log.txt"
        let child = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "sleep 30 & wait"],
                                           environment: ["PATH=/usr/bin:/bin"], directory: dir, logPath: log)
        #expect(getpgid(child.pid) == child.pid)
        child.signalGroup(SIGTERM)
        #expect(child.wait() == .signalled(SIGTERM))
    }

    /// A stage that inherits its key's lock keeps the key locked while it lives, even once the
    /// runner's own descriptor is closed (as when the runner is SIGKILLed).
    @Test func anInheritedLockIsHeldByTheChildUntilItEnds() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lockPath = dir + "/key.lock"
        let runner = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #expect(flock(runner, LOCK_EX) == 0)
        let child = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "sleep 1"], environment: ["PATH=/usr/bin:/bin"],
                                           directory: dir, logPath: dir + "/log.txt", inheritedDescriptor: runner)
        close(runner)  // the runner's copy is gone; only the child's remains
        let other = open(lockPath, O_RDWR | O_CLOEXEC)
        defer { close(other) }
        #expect(flock(other, LOCK_EX | LOCK_NB) != 0, "the child still holds the key")
        #expect(child.wait() == .exited(0))
        #expect(flock(other, LOCK_EX | LOCK_NB) == 0, "released when the stage ended")
    }

    /// The watchdog is dismissed when the child ends normally: nothing is left running.
    @Test func theWatchdogEndsWithTheChild() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let child = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "exit 3"], environment: ["PATH=/usr/bin:/bin"],
                                           directory: dir, logPath: dir + "/log.txt", dieWithParent: true)
        let watchdog = try #require(child.watchdogPID)
        #expect(kill(watchdog, 0) == 0)
        #expect(child.wait() == .exited(3))
        #expect(kill(watchdog, 0) != 0 && errno == ESRCH, "reaped, not a zombie")
    }

    /// What a stage leaves running in the background dies when the stage ends: before, a `cmd &`
    /// holding an output open kept writing into it after it was stored as an object.
    @Test func whatTheStageLeftRunningIsKilledWhenItEnds() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let child = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "sleep 60 & echo $! > grandchild"],
                                           environment: ["PATH=/usr/bin:/bin"], directory: dir, logPath: dir + "/log.txt",
                                           dieWithParent: true)
        #expect(child.waitMeasuringCPU().0 == .exited(0))
        let grandchild = try #require(Int32((try String(contentsOfFile: dir + "/grandchild", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        let deadline = Date(timeIntervalSinceNow: 10)
        while kill(grandchild, 0) == 0 && Date() < deadline { usleep(10_000) }
        #expect(kill(grandchild, 0) != 0, "the background job died with the stage")
    }

    /// The watchdog exists before the stage: the stage is spawned into the watchdog's process group,
    /// so there is no moment at which a runner's death could leave it unguarded. When the runner
    /// dies (here: its end of the pipe closes), the whole group dies, grandchildren included.
    @Test func theStageJoinsItsWatchdogsGroupAndDiesWithTheRunner() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let child = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "sleep 60 & echo $! > grandchild; wait"],
                                           environment: ["PATH=/usr/bin:/bin"], directory: dir, logPath: dir + "/log.txt",
                                           dieWithParent: true)
        let watchdog = try #require(child.watchdogPID)
        #expect(child.group == watchdog)
        #expect(getpgid(child.pid) == watchdog, "spawned straight into the watchdog's group")
        let deadline = Date(timeIntervalSinceNow: 10)
        while (try? String(contentsOfFile: dir + "/grandchild", encoding: .utf8))?.hasSuffix("\n") != true && Date() < deadline { usleep(10_000) }
        let grandchild = try #require(Int32((try String(contentsOfFile: dir + "/grandchild", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(getpgid(grandchild) == watchdog)

        close(try #require(child.watchdogWriteEnd))  // what the kernel does when the runner dies
        #expect(child.wait() == .signalled(SIGKILL))
        while kill(grandchild, 0) == 0 && Date() < deadline { usleep(10_000) }
        #expect(kill(grandchild, 0) != 0, "the grandchild died with the group")
    }

    /// SIGTERM to the group (an interrupt) reaches the stage but not its watchdog.
    @Test func anInterruptSignalsTheStageNotItsWatchdog() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let child = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "sleep 30 & wait"], environment: ["PATH=/usr/bin:/bin"],
                                           directory: dir, logPath: dir + "/log.txt", dieWithParent: true)
        let watchdog = try #require(child.watchdogPID)
        usleep(100_000)
        child.signalGroup(SIGTERM)
        var status: Int32 = 0
        while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
        #expect(ChildProcess.decode(status) == .signalled(SIGTERM))
        #expect(kill(watchdog, 0) == 0, "the watchdog ignores SIGTERM")
        _ = child.wait()  // the child is already reaped: this only dismisses the watchdog
        #expect(kill(watchdog, 0) != 0 && errno == ESRCH)
    }

    @Test func spawnFailureIsAnError() throws {
        #expect(throws: RunnerError.self) {
            _ = try ChildProcess.spawn(executable: "/nonexistent/tool", arguments: [], environment: [],
                                       directory: "/", logPath: "/dev/null")
        }
    }

    @Test func localExecutorInterruptStopsRunningStages() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let executor = LocalExecutor(pipeExecutable: "/bin/false", gracePeriod: .milliseconds(500))
        let job = StageJob(stageName: "slow", program: .command("trap '' TERM; sleep 20"), workingDirectory: dir,
                           environment: ["PATH=/usr/bin:/bin"], logPath: dir + "/log.txt", eventsPath: dir + "/events.jsonl")
        let start = ContinuousClock.now
        let stopper = Thread { usleep(300_000); executor.interrupt() }
        stopper.start()
        // The shell ignores SIGTERM, so this also checks the SIGKILL after the grace period.
        #expect(executor.execute(job) == .interrupted)
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(executor.execute(job) == .interrupted, "nothing new starts after an interrupt")
    }

    @Test func localExecutorReportsFailuresAndMeasuresCPU() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let executor = LocalExecutor(pipeExecutable: "/bin/false")
        func job(_ command: String) -> StageJob {
            StageJob(stageName: "s", program: .command(command), workingDirectory: dir, environment: ["PATH=/usr/bin:/bin"],
                     logPath: dir + "/log.txt", eventsPath: dir + "/events.jsonl")
        }
        guard case .succeeded(let idle?) = executor.execute(job("true")) else { Issue.record("no CPU time measured"); return }
        #expect(idle >= 0 && idle < 1)
        // The CPU time of the shell and of what it waited for (a child doing fixed work), whatever the load.
        guard case .succeeded(let busy?) = executor.execute(job("sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'"))
        else { Issue.record("no CPU time measured"); return }
        #expect(busy > 0.05 && busy > idle, "the grandchild's CPU counts: \(busy) s")
        #expect(executor.execute(job("exit 3")) == .failed("exited with status 3"))
        #expect(executor.execute(job("kill -9 $$")) == .failed("was killed by signal 9 (SIGKILL)"))
    }
}
