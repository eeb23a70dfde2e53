import ArgumentParser
import Foundation
import KinesisAPI

/// TLS for the Kinesis API server, shared by `ktop serve` and `ktop --listen`: a
/// certificate and key of the user's, or a self-signed one for localhost
/// (``SelfSignedCertificate``). With either, the port speaks TLS only, with HTTP/2 and
/// HTTP/1.1 offered by ALPN (``KinesisServer/TLS``).
struct TLSOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "PEM certificate (chain): the port then speaks TLS only (https://), HTTP/2 or HTTP/1.1 by ALPN. "
            + "Needs --tls-key.",
        valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Flag(help: ArgumentHelp(
        "TLS with a self-signed certificate for localhost and 127.0.0.1, made once by the openssl command "
            + "in the temporary directory's ktop-tls ($TMPDIR/ktop-tls) and reused; prints how to trust it."))
    var tlsSelfSigned = false

    /// Whether any of these flags was given.
    var given: Bool { tlsCert != nil || tlsKey != nil || tlsSelfSigned }

    func validate() throws {
        if tlsSelfSigned && (tlsCert != nil || tlsKey != nil) {
            throw ValidationError("--tls-self-signed makes its own certificate: drop --tls-cert and --tls-key.")
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: give both PEM files.")
        }
    }

    /// The server's TLS, or nil without these flags, and lines for the operator (where a
    /// self-signed certificate is and how to trust it). Errors are one line (``KinesisServer/TLSError``).
    func load() throws(KinesisServer.TLSError) -> (tls: KinesisServer.TLS, notes: [String])? {
        if let tlsCert, let tlsKey {
            return (try KinesisServer.TLS(certificateFile: tlsCert, keyFile: tlsKey), [])
        }
        guard tlsSelfSigned else { return nil }
        // Not in the --data-dir: the storage takes a directory holding only its own files.
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("ktop-tls")
        let made = try SelfSignedCertificate.ensure(in: directory)
        let tls = try KinesisServer.TLS(certificateFile: made.certificate, keyFile: made.key)
        let cert = made.certificate
        return (tls, [
            "TLS certificate for localhost and 127.0.0.1 (self-signed, \(made.made ? "made now" : "reused")): \(cert)",
            "trust it: AWS_CA_BUNDLE=\(cert) (AWS CLI, boto3, most SDKs); Java: keytool -importcert -noprompt "
                + "-alias ktop -file \(cert) -keystore ktop.jks -storepass changeit, then run with "
                + "-Djavax.net.ssl.trustStore=ktop.jks -Djavax.net.ssl.trustStorePassword=changeit",
        ])
    }
}
