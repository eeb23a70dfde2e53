import LoadGen
import Metrics

// How the load generator's producers and consumers are reported to Metrics
// (LoadGen does not depend on Metrics, so the mapping lives with the wiring),
// shared by the headless runner and the dashboard's simulation.

extension PollingConsumer {
    var report: ConsumerReport {
        ConsumerReport(
            stream: stream, name: name, bytes: stats.bytes, records: stats.records,
            throttled: stats.throttled, millisBehindLatest: stats.millisBehindLatest)
    }
}

extension KCLApplication {
    /// KCL workers poll GetRecords: they share the shards' read quota like any polling consumer.
    var report: ConsumerReport {
        ConsumerReport(
            stream: stream, name: name, bytes: stats.bytes, records: stats.records,
            throttled: stats.throttled, millisBehindLatest: stats.millisBehindLatest)
    }
}

extension Producer {
    var report: ProducerReport {
        ProducerReport(
            stream: config.stream, name: config.name, targetRecordsPerSecond: config.effectiveRecordsPerSecond,
            keys: config.keys.description, acked: stats.acked, throttled: stats.throttled, dropped: stats.dropped)
    }
}
