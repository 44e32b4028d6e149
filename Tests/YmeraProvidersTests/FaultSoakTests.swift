import Foundation
import Synchronization
import Testing
import YmeraCore
@testable import YmeraProviders


/// The faults mixed into soak runs (every class a live provider produces on the wire).
let soakFaults: [Fault] = [
    .rateLimit429, .overloaded503, .serverError500, .stallMidStream, .resetMidStream, .closedMidStream,
    .streamErrorEvent, .truncatedStream, .malformedChunk, .timeoutBeforeFirstByte, .connectionRefused, .auth401,
]

@Suite("Fault soak: many requests, 30% mixed faults, every one ends and is classified", .timeLimit(.minutes(3)))
struct FaultSoakTests {
    @Test func twoHundredRequests() async throws {
        let runs = 240
        var rng = SplitMix64(seed: 0x59_4D_45_52_41)
        var plan: [(wire: Wire, fault: Fault?)] = []
        for i in 0..<runs {
            let fault: Fault? = Double(rng.next() % 1000) / 1000 < 0.3 ? soakFaults[Int(rng.next() % UInt64(soakFaults.count))] : nil
            plan.append((Wire.allCases[i % 3], fault))
        }
        let fullText = ["The ", "complete ", "answer."]
        let table = plan
        let server = try await LoopbackServer.start { request in
            guard let i = request.header("x-soak-run").flatMap(Int.init), table.indices.contains(i) else { return .json(400, "{}") }
            let (wire, fault) = table[i]
            return fault?.script(wire) ?? .sse(wire.stream(fullText))
        }
        let refusedBase = "http://127.0.0.1:\(try await closedPort())"
        // Short limits only where the fault is a silence (so the test stays quick); generous ones
        // elsewhere, so a busy machine cannot turn a healthy answer into a timeout.
        func timeouts(for fault: Fault?) -> ProviderTimeouts {
            switch fault {
            case .timeoutBeforeFirstByte?, .stallMidStream?:
                ProviderTimeouts(connect: .seconds(2), firstByte: .milliseconds(300), idle: .milliseconds(200), total: .seconds(8))
            default:
                ProviderTimeouts(connect: .seconds(5), firstByte: .seconds(8), idle: .seconds(8), total: .seconds(8))
            }
        }

        let results = await withTaskGroup(of: (Int, Outcome, Duration).self) { group in
            var out: [(Int, Outcome, Duration)] = []
            var next = 0
            func launch() {
                let i = next
                next += 1
                let (wire, fault) = table[i]
                var provider = wire.provider(baseURL: fault == .connectionRefused ? refusedBase : server.baseURL)
                provider.headers = ["x-soak-run": String(i)]
                group.addTask {
                    let started = ContinuousClock.now
                    let o = await collect(wire.client(timeouts: timeouts(for: fault)), testRequest(provider))
                    return (i, o, started.duration(to: .now))
                }
            }
            for _ in 0..<8 { launch() }
            while let r = await group.next() {
                out.append(r)
                if next < runs { launch() }
            }
            return out
        }
        await server.stop()

        #expect(results.count == runs, "every request ended")
        var faulted = 0
        for (i, outcome, elapsed) in results {
            let (wire, fault) = table[i]
            #expect(elapsed < .seconds(10), "run \(i) took \(elapsed): a wait was not bounded")
            // Exactly one ending: a single .finished, or a classified failure.
            #expect((outcome.finishedCount == 1) != (outcome.failure != nil), "run \(i) \(wire): \(outcome.events.count) events, failure \(String(describing: outcome.failure))")
            #expect(outcome.otherError == nil)
            if let fault {
                faulted += 1
                #expect(outcome.failure?.errorClass == fault.expected, "run \(i) \(wire) \(fault): \(String(describing: outcome.failure))")
                #expect(outcome.finish == nil, "run \(i): a faulted stream was accepted as complete")
            } else {
                #expect(outcome.failure == nil, "run \(i) \(wire) healthy: \(String(describing: outcome.failure))")
                #expect(outcome.text == fullText.joined())
            }
        }
        #expect(faulted > runs / 5 && faulted < runs * 2 / 5, "about 30% of requests carried a fault (\(faulted))")
    }
}
