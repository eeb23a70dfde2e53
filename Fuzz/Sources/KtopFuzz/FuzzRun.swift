@_spi(Fuzzing) import KinesisAPI
import StreamEngine

/// One input against the server: send it, let an event stream pump a little,
/// hang up, and hold every reply to the contract.
struct FuzzRun {
    var input: FuzzInput
    var clock: ManualClock
    var harness: KinesisFuzzHarness

    /// A violation with what is needed to understand it.
    struct Failure: Error {
        var violation: ContractViolation
        var input: [UInt8]
        var output: [UInt8]

        var report: String {
            "ktop-fuzz: \(violation)\n--- input (\(input.count) bytes)\n\(Self.printable(input))\n"
                + "--- output (\(output.count) bytes)\n\(Self.printable(output.prefix(4096)))\n---\n"
        }

        static func printable<C: Collection<UInt8>>(_ bytes: C) -> String {
            String(decoding: bytes, as: UTF8.self).debugDescription
        }
    }

    /// What happened: the verdict, and the exchange as text for `KTOP_FUZZ_VERBOSE`.
    struct Outcome {
        var result: Result<[ReplyKind], Failure>
        var sent: [UInt8]
        var received: [UInt8]
        var transcript: String {
            ">>> \(sent.count) bytes sent\n\(String(decoding: sent, as: UTF8.self))\n"
                + "<<< \(received.count) bytes received\n\(String(decoding: received.prefix(8192), as: UTF8.self))\n"
        }
    }

    func run() -> Outcome {
        let connection = FuzzConnection(harness: harness)
        var sent: [ScriptedRequest] = []
        var rawBytes: [UInt8] = []
        switch input {
        case .raw(let bytes):
            rawBytes = bytes
            connection.receive(bytes)
        case .script(let requests):
            for request in requests where connection.isOpen {
                if request.flags.contains(ScriptedRequest.advanceSecond) { clock.advance(by: .seconds(1)) }
                if request.flags.contains(ScriptedRequest.advancePastIteratorLifetime) {
                    clock.advance(by: .seconds(301))
                }
                let bytes = request.wireBytes(bindings: connection.bindings)
                rawBytes += bytes
                sent.append(request)
                connection.learn(from: connection.receive(bytes))
            }
        }
        // Two idle polls of a SubscribeToShard stream, if one is open.
        connection.pump(rounds: 2)
        let openBeforeHangUp = connection.isOpen
        // What the server wrote on its own, before the hang-up: NIO answers a request cut off by the
        // hang-up with a 400 that says close, written as the connection closes.
        let writtenBeforeHangUp = connection.output.count
        connection.close()
        do throws(ContractViolation) {
            let isScript = if case .script = input { true } else { false }
            let kinds = try check(connection.output, script: isScript ? sent : nil,
                                  openBeforeHangUp: openBeforeHangUp, writtenBeforeHangUp: writtenBeforeHangUp)
            // The server-wide body budget gets back every byte of a connection that is gone.
            if harness.bufferedBodyBytes != 0 {
                throw ContractViolation("\(harness.bufferedBodyBytes) body bytes held after the connection closed")
            }
            return Outcome(result: .success(kinds), sent: rawBytes, received: connection.output)
        } catch {
            return Outcome(result: .failure(Failure(violation: error, input: rawBytes, output: connection.output)),
                           sent: rawBytes, received: connection.output)
        }
    }

    /// - Parameter script: the requests sent, in script mode; nil for raw bytes.
    func check(_ output: [UInt8], script: [ScriptedRequest]?, openBeforeHangUp: Bool,
               writtenBeforeHangUp: Int) throws(ContractViolation) -> [ReplyKind] {
        let replies = try HTTPResponseReader.responses(in: output)
        let repliesBeforeHangUp = (try? HTTPResponseReader.responses(in: Array(output.prefix(writtenBeforeHangUp))))?
            .filter(\.complete).count ?? 0
        var kinds: [ReplyKind] = []
        for (i, reply) in replies.enumerated() {
            let request = script.flatMap { i < $0.count ? $0[i] : nil }
            if let script, i >= script.count { throw ContractViolation("reply \(i + 1) to \(script.count) requests") }
            let kind = try WireContract.classify(reply, operation: request?.operation)
            kinds.append(kind)
            if let request, (kind == .corsPreflight) != request.flags.contains(ScriptedRequest.methodOPTIONS),
               kind != .httpParseError {
                let method = request.flags.contains(ScriptedRequest.methodOPTIONS) ? "an OPTIONS" : "a non-OPTIONS"
                throw ContractViolation("reply \(i + 1) is \(kind) to \(method) request")
            }
            let version = request.map { $0.isHTTP10 ? "HTTP/1.0" : "HTTP/1.1" }
            if let version, reply.version != version, kind != .httpParseError {
                throw ContractViolation("reply \(i + 1) is \(reply.version) to an \(version) request")
            }
            // After a reply that ends the connection (or a stream still pumping) nothing may follow but
            // NIO's 400 for garbage read in the same packet: its pipelining handler delivers the parse
            // error as the closing reply ends, before the close (RFC 9112 §9.6 would have it dropped).
            if i > 0, replies[i - 1].closesConnection || !replies[i - 1].complete, kind != .httpParseError {
                throw ContractViolation("reply \(i + 1) after a closing reply")
            }
            // (A body delimited by the close is still being written while the connection is open.)
            if reply.closesConnection && reply.complete && !reply.delimitedByClose && openBeforeHangUp
                && i < repliesBeforeHangUp {
                throw ContractViolation("reply \(i + 1) says Connection: close but the connection stayed open")
            }
        }
        // Every request of a script is answered unless the connection ended or a stream holds it.
        if let script, replies.count < script.count,
           !(replies.last.map { $0.closesConnection || !$0.complete } ?? false) {
            let state = openBeforeHangUp ? "open" : "closed"
            throw ContractViolation("\(script.count) requests, \(replies.count) replies, connection \(state)")
        }
        return kinds
    }
}
