import Foundation

// Stream settings that change no data: tags, retention, enhanced monitoring,
// encryption, capacity mode, record size, warm throughput, resource
// policies and account settings.
extension KinesisService {

    // MARK: - Tags

    /// Kinesis allows Unicode letters, digits, white space and `_ . / = + - @`
    /// in tags (kinesalite's AWS-derived rule; `%` is refused separately).
    func checkTags(_ tags: [String: String], stream: String, verb: String) throws(KinesisError) {
        let all = Array(tags.keys) + Array(tags.values)
        func allowed(_ c: Character) -> Bool {
            c.isLetter || c.isNumber || c == " " || "_./=+-@%".contains(c)
        }
        if all.contains(where: { !$0.allSatisfy(allowed) }) {
            throw KinesisError(
                .invalidArgument,
                "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / "
                    + "= + - % @."
            )
        }
        if all.contains(where: { $0.contains("%") }) {
            throw KinesisError(
                .invalidArgument,
                "Failed to \(verb) stream \(stream) under account \(account) because some tags contained illegal "
                    + "characters. The allowed characters are Unicode letters, white-spaces, "
                        + "'_',',','/','=','+','-','@'."
            )
        }
    }

    public func addTagsToStream(_ input: AddTagsToStreamInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.tagMap(input.tags, "tags", required: true, count: 1...200)
        v.streamARN(input.streamARN)
        let tags = try v.check(input.tags)
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.addTagsToStream, now: now)
        try addTags(tags, to: s)
        return EmptyOutput()
    }

    func addTags(_ tags: [String: String], to s: StreamState) throws(KinesisError) {
        try checkTags(tags, stream: s.name, verb: "add tags to")
        try s.update { (m: inout StreamMeta) throws(KinesisError) in
            let merged = m.tags.merging(tags) { $1 }
            if merged.count > limits.maxTagsPerStream { throw .tooManyTags(s.name, account, limits.maxTagsPerStream) }
            m.tags = merged
        }
    }

    public func removeTagsFromStream(_ input: RemoveTagsFromStreamInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.list(input.tagKeys, "tagKeys", required: true, count: 1...50, memberDescription: "key")
        v.streamARN(input.streamARN)
        let tagKeys = try v.check(input.tagKeys)
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.removeTagsFromStream, now: now)
        // The keys to remove are held to the characters of tags to add (kinesalite's AWS-run test).
        let keys = Dictionary(tagKeys.map { ($0, "") }, uniquingKeysWith: { a, _ in a })
        try checkTags(keys, stream: s.name, verb: "remove tags from")
        s.update { m in for k in tagKeys { m.tags[k] = nil } }
        return EmptyOutput()
    }

    public func listTagsForStream(_ input: ListTagsForStreamInput) throws(KinesisError) -> ListTagsForStreamOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.string(input.exclusiveStartTagKey, "exclusiveStartTagKey", length: 1...128)
        v.int(input.limit, "limit", range: 1...50)
        v.streamARN(input.streamARN)
        try v.check()
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.listTagsForStream, now: now)
        let limit = input.limit ?? 50
        let tags = s.meta.read { m in m.tags.sorted { $0.key < $1.key } }
            .filter { key in input.exclusiveStartTagKey.map { key.key > $0 } ?? true }
        return ListTagsForStreamOutput(
            tags: tags.prefix(limit).map { Tag(key: $0.key, value: $0.value) },
            hasMoreTags: tags.count > limit)
    }

    /// TagResource, UntagResource and ListTagsForResource address a stream or a consumer by ARN.
    enum Resource {
        case stream(StreamState)
        case consumer(StreamState, String)
    }

    func resource(_ arn: String?, now: Instant) throws(KinesisError) -> Resource {
        guard let arn else {
            throw KinesisError(
                .validation,
                "1 validation error detected: Value null at 'resourceARN' failed to satisfy constraint: Member must "
                    + "not be null"
            )
        }
        if let c = ARN.consumer(arn) {
            let s = try resolve(name: nil, arn: "arn:aws:kinesis:\(c.region):\(c.account):stream/\(c.stream)", now: now)
            guard
                s.meta.read({ m in
                    m.consumers[c.consumer].map { $0.arn == arn && effectiveStatus($0, now) != nil } ?? false
                })
            else {
                throw .consumerNotFound(arn, account)
            }
            return .consumer(s, c.consumer)
        }
        guard ARN.stream(arn) != nil else { throw .invalidARN(arn) }
        return .stream(try resolve(name: nil, arn: arn, now: now))
    }

    public func tagResource(_ input: TagResourceInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.tagMap(input.tags, "tags", required: true, count: 1...200)
        v.string(
            input.resourceARN, "resourceARN", required: true, length: 1...2048, pattern: Validator.resourceARNPattern)
        let tags = try v.check(input.tags)
        let now = clock.now()
        switch try resource(input.resourceARN, now: now) {
        case .stream(let s): try addTags(tags, to: s)
        case .consumer(let s, let name):
            try checkTags(tags, stream: s.name, verb: "add tags to")
            s.update { m in m.consumers[name]?.tags.merge(tags) { $1 } }
        }
        return EmptyOutput()
    }

    public func untagResource(_ input: UntagResourceInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.list(input.tagKeys, "tagKeys", required: true, count: 1...50, memberDescription: "key")
        v.string(
            input.resourceARN, "resourceARN", required: true, length: 1...2048, pattern: Validator.resourceARNPattern)
        let tagKeys = try v.check(input.tagKeys)
        let now = clock.now()
        switch try resource(input.resourceARN, now: now) {
        case .stream(let s): s.update { m in for k in tagKeys { m.tags[k] = nil } }
        case .consumer(let s, let name): s.update { m in for k in tagKeys { m.consumers[name]?.tags[k] = nil } }
        }
        return EmptyOutput()
    }

    public func listTagsForResource(_ input: ResourceARNInput) throws(KinesisError) -> ListTagsForResourceOutput {
        var v = Validator()
        v.string(
            input.resourceARN, "resourceARN", required: true, length: 1...2048, pattern: Validator.resourceARNPattern)
        try v.check()
        let now = clock.now()
        let tags: [String: String]
        switch try resource(input.resourceARN, now: now) {
        case .stream(let s): tags = s.meta.read { $0.tags }
        case .consumer(let s, let name): tags = s.meta.read { $0.consumers[name]?.tags ?? [:] }
        }
        return ListTagsForResourceOutput(
            tags: tags.sorted { $0.key < $1.key }.map { Tag(key: $0.key, value: $0.value) })
    }

    // MARK: - Retention

    public func increaseStreamRetentionPeriod(_ input: StreamRetentionInput) throws(KinesisError) -> EmptyOutput {
        try changeRetention(input, increase: true)
    }

    public func decreaseStreamRetentionPeriod(_ input: StreamRetentionInput) throws(KinesisError) -> EmptyOutput {
        try changeRetention(input, increase: false)
    }

    private func changeRetention(_ input: StreamRetentionInput, increase: Bool) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.int(input.retentionPeriodHours, "retentionPeriodHours", required: true)
        v.streamARN(input.streamARN)
        let hours = try v.check(input.retentionPeriodHours)
        if hours < limits.retentionHoursRange.lowerBound { throw .retentionTooShort(hours) }
        if hours > limits.retentionHoursRange.upperBound { throw .retentionTooLong(hours) }
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(increase ? .increaseStreamRetentionPeriod : .decreaseStreamRetentionPeriod, now: now)
        try s.update { (m: inout StreamMeta) throws(KinesisError) in
            try requireActive(s, m)
            if increase, hours < m.retentionHours {
                throw .retentionNotIncrease(hours, s.name, current: m.retentionHours)
            }
            if !increase, hours > m.retentionHours {
                throw .retentionNotDecrease(hours, s.name, current: m.retentionHours)
            }
            m.retentionHours = hours
        }
        // A decrease makes older records inaccessible at once.
        if !increase { expire(s, now) }
        event(s, .retentionChanged, now, "Retention of \(s.name) set to \(hours) h")
        return EmptyOutput()
    }

    // MARK: - Enhanced monitoring

    public func enableEnhancedMonitoring(
        _ input: EnhancedMonitoringInput
    ) throws(KinesisError) -> EnhancedMonitoringOutput {
        try changeMonitoring(input, enable: true)
    }

    public func disableEnhancedMonitoring(
        _ input: EnhancedMonitoringInput
    ) throws(KinesisError) -> EnhancedMonitoringOutput {
        try changeMonitoring(input, enable: false)
    }

    private func changeMonitoring(
        _ input: EnhancedMonitoringInput, enable: Bool
    ) throws(KinesisError) -> EnhancedMonitoringOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.list(input.shardLevelMetrics, "shardLevelMetrics", required: true, count: 1...7, memberDescription: "metric")
        for (i, metric) in (input.shardLevelMetrics ?? []).enumerated() {
            v.enumValue(metric, "shardLevelMetrics.\(i + 1).member")
        }
        v.streamARN(input.streamARN)
        let metrics = try v.check(input.shardLevelMetrics)
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(enable ? .enableEnhancedMonitoring : .disableEnhancedMonitoring, now: now)
        let all = MetricsName.allCases.filter { $0 != .all }
        let requested = metrics.contains(.all) ? all : metrics
        let (before, after) = try s.update { (m: inout StreamMeta) throws(KinesisError) in
            try requireActive(s, m)
            let before = m.shardLevelMetrics
            var set = Set(before)
            if enable { set.formUnion(requested) } else { set.subtract(requested) }
            m.shardLevelMetrics = all.filter { set.contains($0) }
            return (before, m.shardLevelMetrics)
        }
        return EnhancedMonitoringOutput(
            streamName: s.name, currentShardLevelMetrics: before,
            desiredShardLevelMetrics: after, streamARN: s.arn)
    }

    // MARK: - Encryption

    public func startStreamEncryption(_ input: StreamEncryptionInput) throws(KinesisError) -> EmptyOutput {
        try changeEncryption(input, start: true)
    }

    public func stopStreamEncryption(_ input: StreamEncryptionInput) throws(KinesisError) -> EmptyOutput {
        try changeEncryption(input, start: false)
    }

    private func changeEncryption(_ input: StreamEncryptionInput, start: Bool) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.enumValue(input.encryptionType, "encryptionType", required: true)
        v.string(input.keyId, "keyId", required: true, length: 1...2048)
        v.streamARN(input.streamARN)
        let encryptionType = try v.check(input.encryptionType)
        if encryptionType != .kms {
            throw KinesisError(
                .invalidArgument,
                "Encryption type \(encryptionType.rawValue) is not supported. Only KMS is allowed.")
        }
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try s.update { (m: inout StreamMeta) throws(KinesisError) in
            try requireActive(s, m)
            guard m.encryptionHistory.canRecord(now) else {
                throw KinesisError(
                    .limitExceeded,
                    "Stream \(s.name) under account \(account) has exceeded the limit "
                        + "of \(limits.encryptionChangesPerDay) encryption changes in a rolling 24-hour period."
                )
            }
            m.encryptionHistory.record(now)
            m.status = .updating
            s.schedule(
                PendingChange(
                    due: now + engine.configuration.delays.update,
                    action: .encryption(start ? .kms : .none, keyId: start ? input.keyId : nil)), in: &m)
        }
        event(s, .streamUpdating, now, "\(start ? "StartStreamEncryption" : "StopStreamEncryption") on \(s.name)")
        return EmptyOutput()
    }

    // MARK: - Capacity mode, record size, warm throughput

    public func updateStreamMode(_ input: UpdateStreamModeInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.streamARN(input.streamARN, required: true)
        v.required(input.streamModeDetails, "streamModeDetails")
        if let d = input.streamModeDetails { v.enumValue(d.streamMode, "streamModeDetails.streamMode", required: true) }
        v.int(input.warmThroughputMiBps, "warmThroughputMiBps", range: 0...Int.max)
        let target = try v.check(input.streamModeDetails?.streamMode)
        let now = clock.now()
        let s = try resolve(name: nil, arn: input.streamARN, now: now)
        if target == .onDemand {
            let onDemand = streamsSnapshot().filter { !isGone($0, now) && $0.meta.read { $0.mode == .onDemand } }.count
            if onDemand >= limits.onDemandStreamsPerAccount {
                throw .onDemandStreamLimit(account, limits.onDemandStreamsPerAccount)
            }
        }
        try s.update { (m: inout StreamMeta) throws(KinesisError) in
            try requireActive(s, m)
            if m.mode == target {
                throw KinesisError(
                    .invalidArgument, "Stream \(s.name) under account \(account) is already in \(target.rawValue) mode."
                )
            }
            guard m.modeSwitchHistory.canRecord(now) else {
                throw KinesisError(
                    .limitExceeded,
                    "Stream \(s.name) under account \(account) can switch capacity mode at "
                        + "most \(limits.streamModeSwitchesPerDay) times in a rolling 24-hour period."
                )
            }
            m.modeSwitchHistory.record(now)
            if let w = input.warmThroughputMiBps { m.warmThroughputMiBps = w }
            m.status = .updating
            s.schedule(PendingChange(due: now + engine.configuration.delays.update, action: .mode(target)), in: &m)
        }
        event(s, .streamUpdating, now, "UpdateStreamMode \(s.name) → \(target.rawValue)")
        return EmptyOutput()
    }

    public func updateMaxRecordSize(_ input: UpdateMaxRecordSizeInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.streamARN(input.streamARN)
        v.int(input.maxRecordSizeInKiB, "maxRecordSizeInKiB", required: true, range: limits.maxRecordSizeKiBRange)
        let maxRecordSize = try v.check(input.maxRecordSizeInKiB)
        let now = clock.now()
        let s = try resolve(name: nil, arn: input.streamARN, now: now)
        try s.update { (m: inout StreamMeta) throws(KinesisError) in
            try requireActive(s, m)
            m.maxRecordSizeKiB = maxRecordSize
        }
        return EmptyOutput()
    }

    public func updateStreamWarmThroughput(
        _ input: UpdateStreamWarmThroughputInput
    ) throws(KinesisError) -> UpdateStreamWarmThroughputOutput {
        var v = Validator()
        v.streamARN(input.streamARN)
        v.streamName(input.streamName)
        v.int(input.warmThroughputMiBps, "warmThroughputMiBps", required: true, range: 0...10_240)
        let target = try v.check(input.warmThroughputMiBps)
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.updateStreamWarmThroughput, now: now)
        guard accountSettings.withLock({ $0?.status }) == .enabled else {
            throw KinesisError(
                .validation,
                "Warm throughput can only be configured when the account has MinimumThroughputBillingCommitment "
                    + "ENABLED."
            )
        }
        try s.update { (m: inout StreamMeta) throws(KinesisError) in
            guard m.mode == .onDemand else {
                throw .notInCapacityMode(.updateStreamWarmThroughput, s.name, m.mode)
            }
            try requireActive(s, m)
            m.warmThroughputMiBps = target
        }
        return UpdateStreamWarmThroughputOutput(
            streamARN: s.arn, streamName: s.name,
            warmThroughput: WarmThroughputObject(targetMiBps: target, currentMiBps: target))
    }

    // MARK: - Resource policies

    public func putResourcePolicy(_ input: PutResourcePolicyInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.string(
            input.resourceARN, "resourceARN", required: true, length: 1...2048, pattern: Validator.resourceARNPattern)
        v.string(input.policy, "policy", required: true)
        let (arn, policy) = try v.check(input.resourceARN, input.policy)
        let now = clock.now()
        _ = try resource(arn, now: now)
        guard let data = policy.data(using: .utf8),
            (try? JSONSerialization.jsonObject(with: data)) is [String: Any]
        else {
            throw KinesisError(.invalidArgument, "Policy is not a valid JSON document.")
        }
        policies.withLock { $0[arn] = policy }
        persistServiceSettings()
        return EmptyOutput()
    }

    public func getResourcePolicy(_ input: ResourceARNInput) throws(KinesisError) -> GetResourcePolicyOutput {
        var v = Validator()
        v.string(
            input.resourceARN, "resourceARN", required: true, length: 1...2048, pattern: Validator.resourceARNPattern)
        let arn = try v.check(input.resourceARN)
        _ = try resource(arn, now: clock.now())
        // AWS answers `{}` for a resource without a policy.
        return GetResourcePolicyOutput(policy: policies.withLock { $0[arn] } ?? "{}")
    }

    public func deleteResourcePolicy(_ input: ResourceARNInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.string(
            input.resourceARN, "resourceARN", required: true, length: 1...2048, pattern: Validator.resourceARNPattern)
        let arn = try v.check(input.resourceARN)
        _ = try resource(arn, now: clock.now())
        let removed = policies.withLock { $0.removeValue(forKey: arn) }
        if removed == nil {
            throw KinesisError(.resourceNotFound, "No resource policy found for resource \(arn).")
        }
        persistServiceSettings()
        return EmptyOutput()
    }

    // MARK: - Account settings

    public func describeAccountSettings() throws(KinesisError) -> DescribeAccountSettingsOutput {
        let now = clock.now()
        try rate(.describeAccountSettings, now: now)
        return DescribeAccountSettingsOutput(
            minimumThroughputBillingCommitment: accountSettings.withLock { current in
                Self.settleCommitment(&current, now)
                return current ?? MinimumThroughputBillingCommitmentOutput(status: .disabled)
            })
    }

    /// A commitment asked to end early runs until its earliest allowed end, then ends.
    private static func settleCommitment(_ c: inout MinimumThroughputBillingCommitmentOutput?, _ now: Instant) {
        guard let current = c, current.status == .enabledUntilEarliestAllowedEnd,
            let end = current.earliestAllowedEndAt, now.date >= end
        else { return }
        c = MinimumThroughputBillingCommitmentOutput(
            status: .disabled, startedAt: current.startedAt, endedAt: end, earliestAllowedEndAt: nil)
    }

    public func updateAccountSettings(
        _ input: UpdateAccountSettingsInput
    ) throws(KinesisError) -> UpdateAccountSettingsOutput {
        var v = Validator()
        v.required(input.minimumThroughputBillingCommitment, "minimumThroughputBillingCommitment")
        if let status = input.minimumThroughputBillingCommitment?.status, ![.enabled, .disabled].contains(status) {
            // The input enum is narrower than the output one.
            v.fail(
                status.rawValue, "minimumThroughputBillingCommitment.status",
                "Member must satisfy enum value set: [ENABLED, DISABLED]")
        } else if input.minimumThroughputBillingCommitment != nil {
            v.required(input.minimumThroughputBillingCommitment?.status, "minimumThroughputBillingCommitment.status")
        }
        let status = try v.check(input.minimumThroughputBillingCommitment?.status)
        let now = clock.now()
        try rate(.updateAccountSettings, now: now)
        let result = accountSettings.withLock {
            (current: inout MinimumThroughputBillingCommitmentOutput?) -> MinimumThroughputBillingCommitmentOutput in
            Self.settleCommitment(&current, now)
            switch (status, current?.status) {
            case (.enabled, .enabled?):
                break
            case (.enabled, .enabledUntilEarliestAllowedEnd?):
                current?.status = .enabled
            case (.enabled, _):
                // A commitment lasts at least 24 hours from when it starts.
                current = MinimumThroughputBillingCommitmentOutput(
                    status: .enabled, startedAt: now.date, endedAt: nil,
                    earliestAllowedEndAt: (now + .seconds(86_400)).date)
            case (_, .enabled?), (_, .enabledUntilEarliestAllowedEnd?):
                // Disabling before the earliest allowed end schedules the end for then.
                if let earliest = current?.earliestAllowedEndAt, now.date < earliest {
                    current?.status = .enabledUntilEarliestAllowedEnd
                } else {
                    current = MinimumThroughputBillingCommitmentOutput(
                        status: .disabled, startedAt: current?.startedAt, endedAt: now.date, earliestAllowedEndAt: nil)
                }
            default:
                current = current ?? MinimumThroughputBillingCommitmentOutput(status: .disabled)
            }
            return current!
        }
        persistServiceSettings()
        return UpdateAccountSettingsOutput(minimumThroughputBillingCommitment: result)
    }
}
