import Foundation

/// A profile's `credential_process`: an external command that prints temporary AWS
/// credentials as JSON on stdout (the AWS CLI's "sourcing credentials with an external
/// process"):
///
/// ```
/// {"Version": 1, "AccessKeyId": "…", "SecretAccessKey": "…",
///  "SessionToken": "…", "Expiration": "2026-11-30T12:00:00Z"}
/// ```
///
/// `SessionToken` and `Expiration` (ISO 8601) are optional; credentials without an
/// expiration never expire. The command runs through `/bin/sh -c`, as the Go and Java
/// SDKs run it on POSIX (botocore splits it into words itself and runs no shell; for
/// an ordinary command line the two agree). It is bounded by `timeout`: a helper may
/// open a browser for single sign-on and wait for the user.
public struct CredentialProcess: Sendable {
    public var command: String
    /// The profile it belongs to, for messages.
    public var profile: String
    public var environment: [String: String]
    public var timeout: Duration

    public init(command: String, profile: String, environment: [String: String], timeout: Duration = .seconds(60)) {
        self.command = command
        self.profile = profile
        self.environment = environment
        self.timeout = timeout
    }

    /// Runs the command once and reads its credentials.
    public func fetch() throws(AWSCredentialError) -> AWSExpiringCredentials {
        let output: ShellCommand.Output
        do {
            output = try ShellCommand.run(command, environment: environment, timeout: timeout)
        } catch {
            switch error {
            case .cannotStart(let why): throw failure("could not be started: \(why)")
            case .timedOut: throw failure("did not finish within \(Self.seconds(timeout)) seconds")
            case .outputTooLarge: throw failure("printed more than 1 MiB")
            }
        }
        switch output.termination {
        case .exited(0):
            break
        case .exited(let code):
            throw failure("failed with exit status \(code)" + Self.firstLine(of: output.stderr))
        case .signalled(let signal):
            throw failure("was killed by signal \(signal)" + Self.firstLine(of: output.stderr))
        }
        return try parse(output.stdout)
    }

    /// Reads the JSON a credential process printed.
    func parse(_ stdout: [UInt8]) throws(AWSCredentialError) -> AWSExpiringCredentials {
        if stdout.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            throw failure("printed nothing on stdout (expected JSON with Version 1)")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(stdout)
        } catch {
            throw failure("printed invalid JSON (\(error.reason) at byte \(error.offset))")
        }
        guard case .object(let fields) = document else { throw failure("printed JSON that is not an object") }
        switch fields["Version"] {
        case .number(let lexeme) where Double(lexeme) == 1:
            break
        case nil:
            throw failure("printed no Version (ktop understands Version 1)")
        case let other?:
            throw failure("printed Version \(Self.render(other)) (ktop understands Version 1)")
        }
        func string(_ key: String, required: Bool) throws(AWSCredentialError) -> String? {
            switch fields[key] {
            case .string(let value) where !value.isEmpty: return value
            case nil, .null?, .string?:
                if required { throw failure("printed no \(key)") }
                return nil
            case let other?:
                throw failure("printed \(key) \(Self.render(other)), not a string")
            }
        }
        let accessKeyId = try string("AccessKeyId", required: true) ?? ""
        let secretAccessKey = try string("SecretAccessKey", required: true) ?? ""
        let sessionToken = try string("SessionToken", required: false)
        var expiration: Date?
        if let text = try string("Expiration", required: false) {
            guard let date = AWSTimestamp.parse(text) else {
                throw failure("printed an Expiration that is not an ISO 8601 time: \(text)")
            }
            expiration = date
        }
        return AWSExpiringCredentials(
            credentials: AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey,
                                        sessionToken: sessionToken),
            expiration: expiration)
    }

    func failure(_ what: String) -> AWSCredentialError {
        AWSCredentialError(.process, "credential_process of profile '\(profile)' (\(Self.abbreviate(command))) \(what)")
    }

    /// `: ` and the first non-blank line of stderr, at most 200 characters; empty if none.
    static func firstLine(of stderr: [UInt8]) -> String {
        let text = String(decoding: stderr, as: UTF8.self)
        guard let line = text.split(whereSeparator: \.isNewline)
            .map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { !$0.isEmpty }) else { return "" }
        return ": " + (line.count > 200 ? String(line.prefix(200)) + "…" : line)
    }

    static func abbreviate(_ command: String) -> String {
        let flat = command.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 80 ? String(flat.prefix(80)) + "…" : flat
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value == value.rounded() ? String(Int64(value)) : String(value)
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return "\"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .array: return "an array"
        case .object: return "an object"
        case .bytes: return "bytes"  // only a CBOR document has them
        }
    }
}

/// Credentials and the time they stop working (nil: never), as a credential process
/// or any other refreshable source hands them out.
public struct AWSExpiringCredentials: Sendable, Hashable {
    public var credentials: AWSCredentials
    public var expiration: Date?

    public init(credentials: AWSCredentials, expiration: Date? = nil) {
        self.credentials = credentials
        self.expiration = expiration
    }
}
