// swift-tools-version:6.1
import PackageDescription

// Module layering (see ARCHITECTURE.md): pipe → {Commands, StageHost}; Commands → Engine →
// {Pipeline, Store, StageWire}; StageHost → {StageWire, Stages}; Stages → {Models, Tokenizer} → Tensor →
// COpenBLAS. Engine and Commands (the parent side) know nothing about ML; StageWire is the one definition
// of the files between the scheduler and a stage process.

/// Release-only optimisation flags for the numeric kernels.
let numericSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "pipe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pipe", targets: ["pipe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libssl-dev).
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CTLS", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // SHA-256 (OpenSSL libcrypto, SHA-NI) and the canonical, type-tagged key encoding.
        .target(name: "Hashing", dependencies: ["CCrypto"]),

        // Numerics. CKernels: AVX2 + FMA small-batch GEMM for the decode step (runtime CPU check).
        .target(name: "CKernels"),
        // The one JSON parser and string quoter (safetensors, HF config and tokenizer files, datasets, stage JSON).
        // Its rounding calls libm: linked here, as an executable with no Foundation (FuzzJSON) gets no libm otherwise.
        .target(name: "JSONQuoting", dependencies: [], linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]),
        .target(name: "Tensor", dependencies: ["COpenBLAS", "CKernels", "JSONQuoting"], swiftSettings: numericSettings),
        // No errno from sqrt (IEEE results unchanged), so AdamW's square roots vectorise.
        .target(name: "Models", dependencies: ["Tensor", "JSONQuoting"],
                swiftSettings: numericSettings + [.unsafeFlags(["-Xcc", "-fno-math-errno"])]),
        .target(name: "Tokenizer", dependencies: ["JSONQuoting"]),
        // Parquet and Arrow IPC files read as JSON rows (dataset imports): Thrift and FlatBuffers
        // metadata, Snappy in Swift, GZIP and ZSTD from zlib and libzstd.
        .target(name: "Columnar", dependencies: ["JSONQuoting", "CZlib", "CZstd"]),
        .target(name: "Stages", dependencies: ["Models", "Tokenizer", "Columnar", "Tensor", "Hashing", "JSONQuoting", "StageWire", "Subprocess"],
                swiftSettings: numericSettings),

        // Runner side.
        .target(name: "Pipeline", dependencies: ["Hashing", .product(name: "Yams", package: "Yams")]),
        .target(name: "Store", dependencies: ["Hashing", .product(name: "GRDB", package: "GRDB.swift")]),
        // Remote caches over HTTP(S): the `RemoteBlobs` transport for nginx WebDAV / bazel-remote-style
        // servers. The remote protocol and layout live in Store; Engine never sees HTTP.
        // https:// goes through OpenSSL's libssl (CTLS), over the same keep-alive connections as http://.
        .target(name: "RemoteHTTP", dependencies: ["Store", "CTLS"]),
        // The invocation file and the JSON-lines events between the scheduler and a stage process.
        .target(name: "StageWire", dependencies: []),
        // posix_spawn into a process group with a die-with-parent watchdog: stage processes (Engine)
        // and reward-command children (Stages) start the same way.
        .target(name: "Subprocess", dependencies: []),
        // The scheduler: keys, builds, executors (local, Slurm), sweep planning, registry recording.
        // The numeric environment and the built-in kinds are passed in: no ML linked here.
        .target(name: "Engine", dependencies: ["Pipeline", "Store", "StageWire", "Hashing", "Subprocess", "JSONQuoting"]),
        // The child side of a built-in stage (`pipe _stage`).
        .target(name: "StageHost", dependencies: ["StageWire", "Stages", "Tensor", "Pipeline"]),
        // What the subcommands do: run wiring, live view, status, history, reproduce, reports, upkeep, benches.
        .target(name: "Commands", dependencies: ["Engine", "Pipeline", "Store", "RemoteHTTP", "Hashing", "JSONQuoting"]),
        .executableTarget(name: "pipe", dependencies: [
            "Commands", "Engine", "StageHost", "Stages", "Models", "Tensor", "Tokenizer", "Pipeline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Test doubles and helpers shared by the test targets: a directory-backed `StageContext`
        // (stage tests), throw-away workspaces plus the built `pipe` binary (runner and CLI tests), and
        // the one seeded test generator (no dependencies, so lean test targets stay lean).
        .target(name: "PipeTestSupport", dependencies: ["Stages", "StageHost", "Pipeline"]),
        .target(name: "WorkspaceTestSupport", dependencies: ["Commands"]),
        .target(name: "RandomTestSupport", dependencies: []),

        // libFuzzer targets (scripts/fuzz.sh; never part of `swift test` or CI): the entry point is
        // compiled only with `-DFUZZING`, a stub `main` otherwise, so the ordinary build links them.
        .target(name: "FuzzSupport", dependencies: [], path: "Sources/Fuzz/Support"),
        .executableTarget(name: "FuzzPipeline", dependencies: ["Pipeline", "FuzzSupport"], path: "Sources/Fuzz/FuzzPipeline"),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["Tokenizer", "FuzzSupport"], path: "Sources/Fuzz/FuzzTokenizer"),
        .executableTarget(name: "FuzzJSON", dependencies: ["JSONQuoting"], path: "Sources/Fuzz/FuzzJSON"),
        .executableTarget(name: "FuzzSafetensors", dependencies: ["Tensor", "FuzzSupport"], path: "Sources/Fuzz/FuzzSafetensors"),
        .executableTarget(name: "FuzzCheckpoint", dependencies: ["Models", "FuzzSupport"], path: "Sources/Fuzz/FuzzCheckpoint"),
        .executableTarget(name: "FuzzStore", dependencies: ["Store", "Hashing"], path: "Sources/Fuzz/FuzzStore"),
        .executableTarget(name: "FuzzStageFiles", dependencies: ["Engine", "Pipeline", "StageWire", "FuzzSupport"], path: "Sources/Fuzz/FuzzStageFiles"),
        .executableTarget(name: "FuzzDataset", dependencies: ["Stages", "FuzzSupport"], path: "Sources/Fuzz/FuzzDataset"),

        .testTarget(name: "HashingTests", dependencies: ["Hashing"]),
        .testTarget(name: "ColumnarTests", dependencies: ["Columnar", "JSONQuoting", "RandomTestSupport"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "RandomTestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensor", "RandomTestSupport"],
                    exclude: ["numpy_gpt2_reference.py", "transformers_interop.py", "transformers_beam_search.py", "Fixtures"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "JSONQuoting"], exclude: ["make_tokenizer_goldens.py", "transformers_tokenizer_check.py", "Goldens"]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "Models", "Tensor", "Tokenizer", "Pipeline", "PipeTestSupport", "JSONQuoting"],
                    exclude: ["ppo_math_reference.py", "dpo_loss_reference.py", "grpo_math_reference.py", "columnar_live.py"]),
        // Pipeline tests need only Pipeline (+ Hashing): they build without the ML and runner targets.
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Hashing", "RandomTestSupport"], exclude: ["key_golden.py"]),
        // Store tests need only Store (+ Hashing): they build without the ML and runner targets.
        .testTarget(name: "StoreTests", dependencies: ["Store", "Hashing"], exclude: ["manifest_digest.py"]),
        // Remote caches: filesystem remote always; a real nginx WebDAV server on 127.0.0.1 when nginx is
        // installed (skipped with the reason otherwise); a fault-injecting server (python3).
        .testTarget(name: "RemoteTests", dependencies: ["Store", "RemoteHTTP", "Hashing", "RandomTestSupport"], exclude: ["fault_server.py"]),
        // Engine and Commands tests build without the ML targets (no OpenBLAS).
        .testTarget(name: "EngineTests", dependencies: ["Engine", "StageWire", "Pipeline", "Store", "WorkspaceTestSupport"]),
        .testTarget(name: "CommandsTests", dependencies: ["Commands", "Engine", "Pipeline", "Store", "Hashing", "JSONQuoting"]),
        .testTarget(name: "StageHostTests", dependencies: ["StageHost", "StageWire", "Tensor", "PipeTestSupport"]),
        // Builds and runs the real `pipe` binary: end-to-end CLI tests.
        .testTarget(name: "EndToEndTests", dependencies: ["WorkspaceTestSupport", "RandomTestSupport", "Commands", "Store", "RemoteHTTP", "Hashing", "Models", "Stages", "Tensor", "Tokenizer", "pipe"],
                    exclude: ["transformers_roundtrip.py", "hf_sentiment_standins.py", "hf_zoo.py"]),
        // Slurm executor: parsing and script tests always; cluster tests when a Slurm cluster answers
        // (scripts/slurm/start-local.sh starts a one-node one), skipped with the reason otherwise.
        .testTarget(name: "SlurmTests", dependencies: ["Engine", "Commands", "Pipeline", "Store", "WorkspaceTestSupport", "RandomTestSupport", "pipe"]),
    ]
)
