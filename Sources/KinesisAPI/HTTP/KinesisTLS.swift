import Foundation
import NIOCore
import NIOSSL

extension KinesisServer {
    /// The server's certificate and key: with one, the port speaks TLS only, as Kinesis's
    /// endpoints do, and offers HTTP/2 (`h2`) and HTTP/1.1 by ALPN, which is how the AWS SDK
    /// for Java v2 reaches SubscribeToShard. A plain-HTTP client on the port is answered
    /// 400 with the reason, then closed.
    public struct TLS: Sendable, Equatable {
        let context: NIOSSLContext

        /// The same loaded certificate and key.
        public static func == (a: TLS, b: TLS) -> Bool { a.context === b.context }

        /// Loads a PEM certificate chain and its PEM private key. Errors are one line
        /// naming the file (``TLSError``).
        public init(certificateFile: String, keyFile: String) throws(TLSError) {
            for (flag, path) in [("--tls-cert", certificateFile), ("--tls-key", keyFile)] {
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw TLSError("\(flag) '\(path)' cannot be read (no such file, or no permission)")
                }
            }
            let chain: [NIOSSLCertificate]
            do { chain = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch {
                throw TLSError("--tls-cert '\(certificateFile)' is not a PEM certificate (\(error))")
            }
            guard !chain.isEmpty else {
                throw TLSError("--tls-cert '\(certificateFile)' holds no PEM certificate")
            }
            let key: NIOSSLPrivateKey
            do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
                throw TLSError("--tls-key '\(keyFile)' is not a PEM private key (\(error))")
            }
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.applicationProtocols = ["h2", "http/1.1"]
            do { context = try NIOSSLContext(configuration: configuration) } catch {
                throw TLSError(
                    "--tls-key '\(keyFile)' does not fit --tls-cert '\(certificateFile)' (\(error))")
            }
        }
    }

    /// Why TLS could not be set up, as one line for the terminal.
    public struct TLSError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1` (`--tls-self-signed`), made
/// by the `openssl` command once and kept in `directory`, so a client trusts it once.
///
/// Made with the `openssl` command rather than in-process: generating and signing an X.509
/// certificate in Swift needs swift-certificates and swift-crypto, whose second copy of
/// BoringSSL (beside swift-nio-ssl's) CI would compile on every run; `openssl` is on every
/// Linux and macOS machine that has TLS at all.
public enum SelfSignedCertificate {
    /// The certificate and key in `directory`, made there first if either is missing.
    /// - Returns: the paths, and whether they were made now.
    public static func ensure(in directory: String) throws(KinesisServer.TLSError)
        -> (certificate: String, key: String, made: Bool)
    {
        let certificate = (directory as NSString).appendingPathComponent("ktop-localhost.crt")
        let key = (directory as NSString).appendingPathComponent("ktop-localhost.key")
        let files = FileManager.default
        if files.fileExists(atPath: certificate) && files.fileExists(atPath: key) {
            return (certificate, key, false)
        }
        do {
            try files.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw KinesisServer.TLSError("cannot create '\(directory)' for the certificate: \(error)")
        }
        // Made under temporary names and renamed key first, certificate last: a second ktop
        // starting meanwhile sees both files only once both are whole.
        let unique = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let newKey = key + ".new-" + unique
        let newCertificate = certificate + ".new-" + unique
        defer {
            try? files.removeItem(atPath: newKey)
            try? files.removeItem(atPath: newCertificate)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", newKey, "-out", newCertificate, "-days", "825", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1",
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw KinesisServer.TLSError(
                "--tls-self-signed needs the openssl command (\(error)); or give --tls-cert and --tls-key")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: message, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            throw KinesisServer.TLSError(
                "openssl could not make a self-signed certificate (exit \(process.terminationStatus)): \(text)")
        }
        // rename(2): atomic, and it replaces a file another ktop put there meanwhile.
        guard rename(newKey, key) == 0, rename(newCertificate, certificate) == 0 else {
            throw KinesisServer.TLSError(
                "cannot store the certificate in '\(directory)': \(String(cString: strerror(errno)))")
        }
        return (certificate, key, true)
    }
}
