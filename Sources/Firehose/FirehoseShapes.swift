import Foundation

// The inputs and outputs of Firehose's operations, with the botocore model's member names
// (`firehose/2015-08-04/service-2.json`). Swift names are the members' with a lower-case first
// letter; ``FirehoseJSON`` maps them back. Destinations other than S3 decode as ``PresentShape``
// only so that the service can refuse them by name.

/// Any JSON value whose presence matters but whose content ktop does not model.
public struct PresentShape: Codable, Sendable, Equatable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: FirehoseJSON.Key.self)
    }
}

public struct Tag: Codable, Sendable, Equatable {
    public var key: String
    public var value: String?
    public init(key: String, value: String? = nil) {
        self.key = key
        self.value = value
    }
}

public struct BufferingHints: Codable, Sendable, Equatable {
    public var sizeInMBs: Int?
    public var intervalInSeconds: Int?
    public init(sizeInMBs: Int? = nil, intervalInSeconds: Int? = nil) {
        self.sizeInMBs = sizeInMBs
        self.intervalInSeconds = intervalInSeconds
    }
}

public struct ProcessorParameter: Codable, Sendable, Equatable {
    public var parameterName: String
    public var parameterValue: String
}

public struct Processor: Codable, Sendable, Equatable {
    public var type: String
    public var parameters: [ProcessorParameter]?
}

public struct ProcessingConfiguration: Codable, Sendable, Equatable {
    public var enabled: Bool?
    public var processors: [Processor]?
}

public struct DataFormatConversionConfiguration: Codable, Sendable, Equatable {
    public var enabled: Bool?
}

/// ExtendedS3DestinationConfiguration, S3DestinationConfiguration and their Update forms in one shape:
/// the older S3 shape is the extended one without processing, and an update has every member optional.
public struct S3DestinationFields: Codable, Sendable, Equatable {
    public var roleARN: String?
    public var bucketARN: String?
    public var prefix: String?
    public var errorOutputPrefix: String?
    public var bufferingHints: BufferingHints?
    public var compressionFormat: String?
    public var encryptionConfiguration: PresentShape?
    public var cloudWatchLoggingOptions: PresentShape?
    public var processingConfiguration: ProcessingConfiguration?
    public var s3BackupMode: String?
    public var dataFormatConversionConfiguration: DataFormatConversionConfiguration?
    public var dynamicPartitioningConfiguration: PresentShape?
    public var fileExtension: String?
    public var customTimeZone: String?
    public init(roleARN: String? = nil, bucketARN: String? = nil) {
        self.roleARN = roleARN
        self.bucketARN = bucketARN
    }
}

public struct KinesisStreamSourceConfiguration: Codable, Sendable, Equatable {
    public var kinesisStreamARN: String
    public var roleARN: String
}

public struct DeliveryStreamEncryptionConfigurationInput: Codable, Sendable, Equatable {
    public var keyARN: String?
    public var keyType: String
}

public struct CreateDeliveryStreamInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var deliveryStreamType: String?
    public var directPutSourceConfiguration: PresentShape?
    public var kinesisStreamSourceConfiguration: KinesisStreamSourceConfiguration?
    public var deliveryStreamEncryptionConfigurationInput: DeliveryStreamEncryptionConfigurationInput?
    public var s3DestinationConfiguration: S3DestinationFields?
    public var extendedS3DestinationConfiguration: S3DestinationFields?
    public var redshiftDestinationConfiguration: PresentShape?
    public var elasticsearchDestinationConfiguration: PresentShape?
    public var amazonopensearchserviceDestinationConfiguration: PresentShape?
    public var splunkDestinationConfiguration: PresentShape?
    public var httpEndpointDestinationConfiguration: PresentShape?
    public var amazonOpenSearchServerlessDestinationConfiguration: PresentShape?
    public var mskSourceConfiguration: PresentShape?
    public var snowflakeDestinationConfiguration: PresentShape?
    public var icebergDestinationConfiguration: PresentShape?
    public var databaseSourceConfiguration: PresentShape?
    public var tags: [Tag]?

    enum CodingKeys: String, CodingKey {
        case deliveryStreamName, deliveryStreamType, directPutSourceConfiguration, kinesisStreamSourceConfiguration
        case deliveryStreamEncryptionConfigurationInput, s3DestinationConfiguration
        case extendedS3DestinationConfiguration, redshiftDestinationConfiguration
        case elasticsearchDestinationConfiguration, amazonopensearchserviceDestinationConfiguration
        case splunkDestinationConfiguration, httpEndpointDestinationConfiguration
        case amazonOpenSearchServerlessDestinationConfiguration, snowflakeDestinationConfiguration
        case icebergDestinationConfiguration, databaseSourceConfiguration, tags
        case mskSourceConfiguration = "mSKSourceConfiguration"
    }

    public init(deliveryStreamName: String) { self.deliveryStreamName = deliveryStreamName }

    /// The destinations other than S3 that the request names.
    var otherDestinations: [String] {
        [
            ("RedshiftDestinationConfiguration", redshiftDestinationConfiguration),
            ("ElasticsearchDestinationConfiguration", elasticsearchDestinationConfiguration),
            ("AmazonopensearchserviceDestinationConfiguration", amazonopensearchserviceDestinationConfiguration),
            ("SplunkDestinationConfiguration", splunkDestinationConfiguration),
            ("HttpEndpointDestinationConfiguration", httpEndpointDestinationConfiguration),
            ("AmazonOpenSearchServerlessDestinationConfiguration", amazonOpenSearchServerlessDestinationConfiguration),
            ("SnowflakeDestinationConfiguration", snowflakeDestinationConfiguration),
            ("IcebergDestinationConfiguration", icebergDestinationConfiguration),
        ].compactMap { $0.1 == nil ? nil : $0.0 }
    }
}

public struct CreateDeliveryStreamOutput: Codable, Sendable {
    public var deliveryStreamARN: String
}

public struct DeliveryStreamNameInput: Codable, Sendable {
    public var deliveryStreamName: String
    public init(deliveryStreamName: String) { self.deliveryStreamName = deliveryStreamName }
}

public struct DeleteDeliveryStreamInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var allowForceDelete: Bool?
}

public struct DescribeDeliveryStreamInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var limit: Int?
    public var exclusiveStartDestinationId: String?
    public init(deliveryStreamName: String) { self.deliveryStreamName = deliveryStreamName }
}

public struct DeliveryStreamEncryptionConfiguration: Codable, Sendable, Equatable {
    public var keyARN: String?
    public var keyType: String?
    public var status: String
}

public struct KinesisStreamSourceDescription: Codable, Sendable, Equatable {
    public var kinesisStreamARN: String
    public var roleARN: String
    public var deliveryStartTimestamp: Double
}

public struct SourceDescription: Codable, Sendable, Equatable {
    public var directPutSourceDescription: PresentShape?
    public var kinesisStreamSourceDescription: KinesisStreamSourceDescription?
}

/// S3DestinationDescription and ExtendedS3DestinationDescription (the extended one carries processing).
public struct S3DestinationDescription: Codable, Sendable, Equatable {
    public var roleARN: String
    public var bucketARN: String
    public var prefix: String?
    public var errorOutputPrefix: String?
    public var bufferingHints: BufferingHints
    public var compressionFormat: String
    public var encryptionConfiguration: [String: String]
    public var processingConfiguration: ProcessingConfiguration?
    public var s3BackupMode: String?
    public var fileExtension: String?
    public var customTimeZone: String?
}

public struct DestinationDescription: Codable, Sendable, Equatable {
    public var destinationId: String
    public var s3DestinationDescription: S3DestinationDescription?
    public var extendedS3DestinationDescription: S3DestinationDescription?
}

public struct DeliveryStreamDescription: Codable, Sendable, Equatable {
    public var deliveryStreamName: String
    public var deliveryStreamARN: String
    public var deliveryStreamStatus: String
    public var deliveryStreamEncryptionConfiguration: DeliveryStreamEncryptionConfiguration?
    public var deliveryStreamType: String
    public var versionId: String
    public var createTimestamp: Double
    public var lastUpdateTimestamp: Double?
    public var source: SourceDescription?
    public var destinations: [DestinationDescription]
    public var hasMoreDestinations: Bool
}

public struct DescribeDeliveryStreamOutput: Codable, Sendable {
    public var deliveryStreamDescription: DeliveryStreamDescription
}

public struct ListDeliveryStreamsInput: Codable, Sendable {
    public var limit: Int?
    public var deliveryStreamType: String?
    public var exclusiveStartDeliveryStreamName: String?
    public init() {}
}

public struct ListDeliveryStreamsOutput: Codable, Sendable {
    public var deliveryStreamNames: [String]
    public var hasMoreDeliveryStreams: Bool
}

public struct FirehoseRecord: Codable, Sendable {
    public var data: Data
    public init(data: Data) { self.data = data }
}

public struct PutRecordInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var record: FirehoseRecord
    public init(deliveryStreamName: String, record: FirehoseRecord) {
        self.deliveryStreamName = deliveryStreamName
        self.record = record
    }
}

public struct PutRecordOutput: Codable, Sendable {
    public var recordId: String
    public var encrypted: Bool
}

public struct PutRecordBatchInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var records: [FirehoseRecord]
    public init(deliveryStreamName: String, records: [FirehoseRecord]) {
        self.deliveryStreamName = deliveryStreamName
        self.records = records
    }
}

public struct PutRecordBatchResponseEntry: Codable, Sendable, Equatable {
    public var recordId: String?
    public var errorCode: String?
    public var errorMessage: String?
}

public struct PutRecordBatchOutput: Codable, Sendable {
    public var failedPutCount: Int
    public var encrypted: Bool
    public var requestResponses: [PutRecordBatchResponseEntry]
}

public struct UpdateDestinationInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var currentDeliveryStreamVersionId: String
    public var destinationId: String
    public var s3DestinationUpdate: S3DestinationFields?
    public var extendedS3DestinationUpdate: S3DestinationFields?
    public var redshiftDestinationUpdate: PresentShape?
    public var elasticsearchDestinationUpdate: PresentShape?
    public var amazonopensearchserviceDestinationUpdate: PresentShape?
    public var splunkDestinationUpdate: PresentShape?
    public var httpEndpointDestinationUpdate: PresentShape?
    public var amazonOpenSearchServerlessDestinationUpdate: PresentShape?
    public var snowflakeDestinationUpdate: PresentShape?
    public var icebergDestinationUpdate: PresentShape?
    public init(deliveryStreamName: String, currentDeliveryStreamVersionId: String, destinationId: String) {
        self.deliveryStreamName = deliveryStreamName
        self.currentDeliveryStreamVersionId = currentDeliveryStreamVersionId
        self.destinationId = destinationId
    }
    var hasOtherDestination: Bool {
        let others: [PresentShape?] = [
            redshiftDestinationUpdate, elasticsearchDestinationUpdate, amazonopensearchserviceDestinationUpdate,
            splunkDestinationUpdate, httpEndpointDestinationUpdate, amazonOpenSearchServerlessDestinationUpdate,
            snowflakeDestinationUpdate, icebergDestinationUpdate,
        ]
        return others.contains { $0 != nil }
    }
}

public struct TagDeliveryStreamInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var tags: [Tag]
}

public struct UntagDeliveryStreamInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var tagKeys: [String]
}

public struct ListTagsForDeliveryStreamInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var exclusiveStartTagKey: String?
    public var limit: Int?
}

public struct ListTagsForDeliveryStreamOutput: Codable, Sendable {
    public var tags: [Tag]
    public var hasMoreTags: Bool
}

public struct StartDeliveryStreamEncryptionInput: Codable, Sendable {
    public var deliveryStreamName: String
    public var deliveryStreamEncryptionConfigurationInput: DeliveryStreamEncryptionConfigurationInput?
}

public struct FirehoseEmptyOutput: Codable, Sendable { public init() {} }

/// Firehose's JSON 1.1 member names from Swift's: upper-case the first letter, and back.
public enum FirehoseJSON {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .custom { path in
            let s = path.last!.stringValue
            return Key(stringValue: s.prefix(1).lowercased() + s.dropFirst())
        }
        return d
    }

    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .custom { path in
            let s = path.last!.stringValue
            return Key(stringValue: s.prefix(1).uppercased() + s.dropFirst())
        }
        return e
    }
}
