import Foundation
public import JobCore

extension PollScheduler: JobTimer {
    public func now() -> JobMachine.Now { .init(instant: .now, date: .init()) }
}
