import StreamEngine

/// A live SubscribeToShard as the HTTP layer sees it: something to poll for
/// the next event until it returns nil (ended) or throws (ended with an error).
protocol EventSubscription: AnyObject, Sendable {
    func nextEvent() throws(KinesisError) -> SubscribeToShardEvent?
}

extension ShardSubscription: EventSubscription {}

/// What an operation produced: a body in the request's encoding (empty for the
/// output-less operations) or, for SubscribeToShard, a subscription to stream.
enum OperationResult {
    case body([UInt8])
    case subscription(any EventSubscription)
}

/// A request body as the HTTP layer read it: parsed into a document, or, for the server's
/// hottest request, PutRecords in JSON, its input read straight from the bytes
/// (``PutRecordsJSONReader``; any body it does not take arrives as a document).
enum RequestBody {
    case document(JSONValue)
    case putRecords(PutRecordsInput)
}

/// Runs one decoded request. The seam between HTTP and the engine, so the
/// HTTP layer can be tested with a stand-in.
protocol OperationDispatcher: Sendable {
    /// - Parameters:
    ///   - input: the request body, read in `encoding`.
    ///   - encoding: how the body was written, and how the reply must be.
    func dispatch(
        _ operation: KinesisOperation, region: String, input: RequestBody,
        encoding: KinesisBodyEncoding
    ) throws(KinesisError) -> OperationResult
}

/// A request body in its encoding: what an operation's input shape is decoded from, and
/// the encoding its output is written in. The dispatch table below is the only list of
/// operations; JSON and CBOR both go through it.
struct OperationInput {
    var document: JSONValue
    var encoding: KinesisBodyEncoding

    func decode<T: Decodable>(_ type: T.Type) throws(KinesisError) -> T {
        try encoding.decode(type, from: document)
    }
}

/// The dispatch table: for each operation, decode its input shape, call the
/// engine's regional `KinesisService`, encode the output shape, in the
/// request's encoding.
struct EngineDispatcher: OperationDispatcher {
    /// The engine to serve, asked per request: the dashboard swaps engines when
    /// the user picks another scenario, and the listener follows.
    let engine: @Sendable () -> KinesisEngine
    /// nil: the engine's default account.
    let account: String?

    func dispatch(
        _ operation: KinesisOperation, region: String, input body: RequestBody,
        encoding: KinesisBodyEncoding
    ) throws(KinesisError) -> OperationResult {
        let k = engine().service(account: account, region: region)
        let document: JSONValue
        switch body {
        case .document(let parsed):
            document = parsed
        case .putRecords(let request):
            // The processor reads only PutRecords' bodies this way.
            guard operation == .putRecords else { throw KinesisError(.serialization, "") }
            return .body(try encoding.encode(try k.putRecords(request)))
        }
        let input = OperationInput(document: document, encoding: encoding)
        switch operation {
        case .addTagsToStream: return try call(input, k.addTagsToStream)
        case .createStream: return try call(input, k.createStream)
        case .decreaseStreamRetentionPeriod: return try call(input, k.decreaseStreamRetentionPeriod)
        case .deleteResourcePolicy: return try call(input, k.deleteResourcePolicy)
        case .deleteStream: return try call(input, k.deleteStream)
        case .deregisterStreamConsumer: return try call(input, k.deregisterStreamConsumer)
        case .describeAccountSettings:
            return try call(input) { (_: EmptyOutput) throws(KinesisError) in try k.describeAccountSettings() }
        case .describeLimits: return try call(input) { (_: EmptyOutput) throws(KinesisError) in try k.describeLimits() }
        case .describeStream: return try call(input, k.describeStream)
        case .describeStreamConsumer: return try call(input, k.describeStreamConsumer)
        case .describeStreamSummary: return try call(input, k.describeStreamSummary)
        case .disableEnhancedMonitoring: return try call(input, k.disableEnhancedMonitoring)
        case .enableEnhancedMonitoring: return try call(input, k.enableEnhancedMonitoring)
        case .getRecords: return try call(input, k.getRecords)
        case .getResourcePolicy: return try call(input, k.getResourcePolicy)
        case .getShardIterator: return try call(input, k.getShardIterator)
        case .increaseStreamRetentionPeriod: return try call(input, k.increaseStreamRetentionPeriod)
        case .listShards: return try call(input, k.listShards)
        case .listStreamConsumers: return try call(input, k.listStreamConsumers)
        case .listStreams: return try call(input, k.listStreams)
        case .listTagsForResource: return try call(input, k.listTagsForResource)
        case .listTagsForStream: return try call(input, k.listTagsForStream)
        case .mergeShards: return try call(input, k.mergeShards)
        case .putRecord: return try call(input, k.putRecord)
        case .putRecords:
            // The hot path reads a plain document directly; anything else gets the generic decoder's errors.
            var request: PutRecordsInput
            if let plain = PutRecordsRequestReader.read(document) {
                request = plain
            } else {
                request = try input.decode(PutRecordsInput.self)
            }
            return .body(try input.encoding.encode(try k.putRecords(request)))
        case .putResourcePolicy: return try call(input, k.putResourcePolicy)
        case .registerStreamConsumer: return try call(input, k.registerStreamConsumer)
        case .removeTagsFromStream: return try call(input, k.removeTagsFromStream)
        case .splitShard: return try call(input, k.splitShard)
        case .startStreamEncryption: return try call(input, k.startStreamEncryption)
        case .stopStreamEncryption: return try call(input, k.stopStreamEncryption)
        case .subscribeToShard:
            let request = try input.decode(SubscribeToShardInput.self)
            return .subscription(try k.subscribeToShard(request))
        case .tagResource: return try call(input, k.tagResource)
        case .untagResource: return try call(input, k.untagResource)
        case .updateAccountSettings: return try call(input, k.updateAccountSettings)
        case .updateMaxRecordSize: return try call(input, k.updateMaxRecordSize)
        case .updateShardCount: return try call(input, k.updateShardCount)
        case .updateStreamMode: return try call(input, k.updateStreamMode)
        case .updateStreamWarmThroughput: return try call(input, k.updateStreamWarmThroughput)
        }
    }

    /// Decode → run → encode for one request/response operation. An input-less
    /// operation still decodes its body as an empty structure, so a body of the
    /// wrong type is rejected as Kinesis rejects it.
    private func call<Input: Decodable, Output: Encodable>(
        _ input: OperationInput, _ operation: (Input) throws(KinesisError) -> Output
    ) throws(KinesisError) -> OperationResult {
        let request = try input.decode(Input.self)
        return .body(try input.encoding.encode(try operation(request)))
    }
}
