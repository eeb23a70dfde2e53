/// Firehose's error types (botocore `firehose/2015-08-04`), plus the Coral front end's
/// ValidationException for input that breaks the model's constraints (lengths, ranges, patterns),
/// which every AWS JSON service answers before the operation runs.
public enum FirehoseErrorType: String, Sendable, Codable {
    case invalidArgument = "InvalidArgumentException"
    case resourceNotFound = "ResourceNotFoundException"
    case resourceInUse = "ResourceInUseException"
    case limitExceeded = "LimitExceededException"
    case serviceUnavailable = "ServiceUnavailableException"
    case concurrentModification = "ConcurrentModificationException"
    case invalidKMSResource = "InvalidKMSResourceException"
    case invalidSource = "InvalidSourceException"
    case validation = "ValidationException"
    case serialization = "SerializationException"
    case unknownOperation = "UnknownOperationException"

    /// Every Firehose error is a client error (400) in the model; ktop keeps it so, including
    /// ServiceUnavailableException ("Slow down."), which SDKs nonetheless retry as throttling.
    public var httpStatus: Int { 400 }
}

/// One Firehose error: its type and the message AWS words it with.
public struct FirehoseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var type: FirehoseErrorType
    public var message: String
    public init(_ type: FirehoseErrorType, _ message: String) {
        self.type = type
        self.message = message
    }
    public var description: String { "\(type.rawValue): \(message)" }

    static func notFound(_ name: String, account: String) -> FirehoseError {
        FirehoseError(.resourceNotFound, "Firehose \(name) under account \(account) not found.")
    }

    /// Coral's wording for a model constraint, e.g. `Value at 'record.data' failed to satisfy constraint: …`.
    static func constraint(_ path: String, _ rule: String, value: String? = nil) -> FirehoseError {
        let v = value.map { "Value '\($0)' at" } ?? "Value at"
        return FirehoseError(
            .validation, "1 validation error detected: \(v) '\(path)' failed to satisfy constraint: Member must \(rule)"
        )
    }
}
