import Foundation
import Hashing
import Pipeline
import Store

// The store keeps a stage's key material uninterpreted, as JSON (Store knows nothing of pipelines):
// it is encoded once, when the record is committed, and decoded here, whoever reads it back.

extension KeyMaterial {
    /// As stored in a stage record.
    func jsonValue() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(self))
    }
}

extension StageRecord {
    /// The key material this result was built from; nil if the record holds no readable material.
    public var material: KeyMaterial? {
        guard let data = try? JSONEncoder().encode(keyMaterial) else { return nil }
        return try? JSONDecoder().decode(KeyMaterial.self, from: data)
    }
}

extension ArtifactStore {
    /// The key material of the result recorded under `key` (hex), while that record is in the store.
    public func material(ofKey key: String) -> KeyMaterial? {
        Digest(hex: key).flatMap { record(forKey: $0) }?.material
    }
}
