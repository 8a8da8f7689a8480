import CTLS
import Foundation

/// The TLS settings of one `https://` remote (OpenSSL's libssl): peers are always verified — against
/// the system's trusted CAs, plus the PEM file `caFile` when given (a private CA, or a self-signed
/// server certificate) — and the certificate must name the host (DNS name or IP address).
/// There is no switch to turn verification off.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    let caFile: String?
    private static let bioLock = NSLock()

    /// Fails with a reason naming the CA file when it cannot be used.
    init(caFile: String?) throws(TLSSetupFailure) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSSetupFailure(reason: "cannot create a TLS context: " + TLSContext.lastError()) }
        self.context = context
        self.caFile = caFile
        _ = ctls_set_min_tls12(context)
        ctls_ignore_unexpected_eof(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        // The system trust store (and SSL_CERT_FILE / SSL_CERT_DIR when set, as OpenSSL defines them).
        _ = SSL_CTX_set_default_verify_paths(context)
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw TLSSetupFailure(reason: "CA file \(caFile) does not exist or cannot be read")
            }
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSSetupFailure(reason: "CA file \(caFile) holds no usable PEM certificate (\(TLSContext.lastError()))")
            }
        }
    }

    deinit { SSL_CTX_free(context) }

    /// Starts TLS on a connected socket: SNI and name check for `host`, handshake, peer verification.
    func connect(fd: Int32, host: String) throws -> OpaquePointer {
        guard let ssl = SSL_new(context) else { throw HTTPTransportFailure(description: "cannot create a TLS session: " + Self.lastError()) }
        Self.bioLock.lock()
        let bio = ctls_socket_bio(fd)
        Self.bioLock.unlock()
        guard let bio else { SSL_free(ssl); throw HTTPTransportFailure(description: "cannot create a TLS socket: " + Self.lastError()) }
        SSL_set_bio(ssl, bio, bio)
        let isAddress = host.contains(":") || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        if isAddress {
            _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = ctls_set_server_name(ssl, host)
            _ = SSL_set1_host(ssl, host)
        }
        ERR_clear_error()
        if SSL_connect(ssl) != 1 {
            let verify = SSL_get_verify_result(ssl)
            let detail = Self.lastError()
            SSL_free(ssl)
            if verify != Int(X509_V_OK) {
                let reason = String(cString: X509_verify_cert_error_string(verify))
                throw TLSVerificationFailure(reason: reason, caFile: caFile)
            }
            throw HTTPTransportFailure(description: "TLS handshake with \(host) failed: " + (detail.isEmpty ? "the server closed the connection (is it speaking https?)" : detail))
        }
        return ssl
    }

    /// OpenSSL's queued error reasons, oldest first (empties the queue).
    static func lastError() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.joined(separator: "; ")
    }
}

/// The server's certificate was not trusted: never retried, never ignored.
struct TLSVerificationFailure: Error, CustomStringConvertible {
    var reason: String
    var caFile: String?
    var description: String {
        "the server's TLS certificate was not accepted (\(reason)); "
            + (caFile.map { "it is not signed by the CA in \($0) nor by a system CA: check ca_file" }
                ?? "if the server uses a private CA or a self-signed certificate, give its PEM file with ca_file: in the remote's settings (or PIPE_REMOTE_CA_FILE)")
    }
}

/// The TLS settings themselves cannot be used (e.g. an unreadable CA file).
struct TLSSetupFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}
