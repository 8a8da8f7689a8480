// swift-tools-version:6.1
import PackageDescription

// Module layering (see ARCHITECTURE.md): pipe → Runner → {Pipeline, Store, Stages};
// Stages → {Models, Tokenizer}; Models → Tensor → COpenBLAS. Pipeline and Store know nothing about ML.

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

        // SHA-256 (OpenSSL libcrypto, SHA-NI) and the canonical, type-tagged key encoding.
        .target(name: "Hashing", dependencies: ["CCrypto"]),

        // Numerics. CKernels: AVX2 + FMA small-batch GEMM for the decode step (runtime CPU check).
        .target(name: "CKernels"),
        // The one JSON string quoter of the hand-written formats (safetensors, tokenizer.json, stage JSON).
        .target(name: "JSONQuoting", dependencies: []),
        .target(name: "Tensor", dependencies: ["COpenBLAS", "CKernels", "JSONQuoting"], swiftSettings: numericSettings),
        // No errno from sqrt (IEEE results unchanged), so AdamW's square roots vectorise.
        .target(name: "Models", dependencies: ["Tensor"],
                swiftSettings: numericSettings + [.unsafeFlags(["-Xcc", "-fno-math-errno"])]),
        .target(name: "Tokenizer", dependencies: ["JSONQuoting"]),
        .target(name: "Stages", dependencies: ["Models", "Tokenizer", "Tensor", "Hashing", "JSONQuoting"],
                swiftSettings: numericSettings),

        // Runner side.
        .target(name: "Pipeline", dependencies: ["Hashing", .product(name: "Yams", package: "Yams")]),
        .target(name: "Store", dependencies: ["Hashing", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "Runner", dependencies: ["Pipeline", "Store", "Stages"]),
        .executableTarget(name: "pipe", dependencies: [
            "Runner", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Test doubles and helpers shared by the test targets.
        .target(name: "PipeTestSupport", dependencies: ["Pipeline", "Store", "Runner", "Stages"]),

        .testTarget(name: "HashingTests", dependencies: ["Hashing"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensor"], exclude: ["numpy_gpt2_reference.py", "transformers_interop.py"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer"], exclude: ["make_tokenizer_goldens.py", "transformers_tokenizer_check.py", "Goldens"]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "PipeTestSupport"], exclude: ["ppo_math_reference.py"]),
        // Pipeline tests need only Pipeline (+ Hashing): they build without the ML and runner targets.
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Hashing"], exclude: ["key_golden.py"]),
        // Store tests need only Store (+ Hashing): they build without the ML and runner targets.
        .testTarget(name: "StoreTests", dependencies: ["Store", "Hashing"], exclude: ["manifest_digest.py"]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "PipeTestSupport", "Tensor"]),
        // Builds and runs the real `pipe` binary: end-to-end CLI tests.
        .testTarget(name: "EndToEndTests", dependencies: ["PipeTestSupport", "pipe"]),
        // Slurm executor: parsing and script tests always; cluster tests when a Slurm cluster answers
        // (scripts/slurm/start-local.sh starts a one-node one), skipped with the reason otherwise.
        .testTarget(name: "SlurmTests", dependencies: ["Runner", "PipeTestSupport", "pipe"]),
    ]
)
