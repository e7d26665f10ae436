import Foundation
// Answers the poll planner's decisions for a driver that simulates tasks in virtual time
// (`scripts/bench provider`): the same `DurationModel`, `PollPlanner` and
// `TaskPollHistory` calls, in the same order, that `JobMachine` and `JobRunner` make, so
// the bench measures the planner's exact decisions without a broker or real waiting.
//
// One request per line on stdin, one answer per line on stdout:
//   start <task> <format> [<size-bucket>]      -> <first-poll-delay-seconds> <basis>
//   pending <task> <elapsed> [<progress>]      -> <next-poll-delay-seconds> <basis>
//   done <task> <elapsed> [<provider-duration>] -> ok
// Options: --cold-start N, --done-probability P, --max-lag-fraction F, --max-lag-seconds S,
// --bound-done-probability P, --mixture-advantage NATS.
import PollPlanning

var settings = PollPlanSettings(provider: "bench")
var arguments = CommandLine.arguments.dropFirst()
while let name = arguments.popFirst() {
    guard let value = arguments.popFirst(), let number = Double(value) else { fatalError("usage: \(name) needs a number") }
    switch name {
    case "--cold-start": settings.coldStartTasks = max(1, Int(number))
    case "--done-probability": settings.doneProbability = number
    case "--max-lag-fraction": settings.maxLagFraction = number
    case "--max-lag-seconds": settings.maxLag = .milliseconds(Int64(number * 1000))
    case "--bound-done-probability": settings.progressBoundDoneProbability = number
    case "--mixture-advantage": settings.mixtureAdvantage = number
    default: fatalError("unknown option \(name)")
    }
}

struct Followed {
    var planner: PollPlanner
    var history = TaskPollHistory()
}

let model = DurationModel(settings: settings, coldStart: PollBackoff())
var tasks: [String: Followed] = [:]

func seconds(_ text: Substring?) -> Duration? {
    guard let text, let value = Double(text), value.isFinite, value >= 0 else { return nil }
    return .microseconds(Int64(value * 1e6))
}

/// Writes one answer line at once (unbuffered: the driver waits for it).
func reply(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func answer(_ decision: PollDecision) -> String {
    let (whole, atto) = decision.delay.components
    return "\(Double(whole) + Double(atto) / 1e18) \(decision.basis)"
}

while let line = readLine() {
    let words = line.split(separator: " ")
    guard words.count >= 2 else {
        reply("error empty")
        continue
    }
    let task = String(words[1])
    switch words[0] {
    case "start":
        let size = words.count > 3 ? Int(words[3]) : nil
        let key = DurationKey(provider: settings.provider, format: words.count > 2 ? String(words[2]) : "txt", sizeBucket: size)
        let followed = Followed(planner: model.planner(for: key))
        tasks[task] = followed
        reply(answer(followed.planner.nextPoll(elapsed: .zero, history: followed.history, progress: nil)))
    case "pending":
        guard var followed = tasks[task], let elapsed = seconds(words.dropFirst(2).first) else {
            reply("error pending")
            continue
        }
        let progress = words.count > 3 ? Int(words[3]) : nil
        followed.history.recordPending(at: elapsed, progress: progress)
        tasks[task] = followed
        reply(answer(followed.planner.nextPoll(elapsed: elapsed, history: followed.history, progress: progress)))
    case "done":
        guard let followed = tasks.removeValue(forKey: task), let elapsed = seconds(words.dropFirst(2).first) else {
            reply("error done")
            continue
        }
        let providerDuration = seconds(words.dropFirst(3).first)
        model.record(followed.history.completion(key: followed.planner.key, doneAt: elapsed, providerDuration: providerDuration))
        reply("ok")
    default:
        reply("error unknown")
    }
}
