import JobCore

extension JobRunner {
    /// One job's machine, context and pending event while the runner drives it, kept on
    /// the heap.
    ///
    /// Why a class: a job's task is parked for most of its life, and a task keeps the
    /// memory of its deepest chain of async frames until it ends; a frame keeps a slot
    /// for every value that lives across any of its suspensions (the machine, its steps,
    /// the event, the context, copies of each). With 10,000 jobs in flight those frames
    /// were several KB each; the drive loop now keeps one reference and a closure.
    ///
    /// `@unchecked Sendable`: one task touches it at a time, the job's own task or the
    /// child task it is awaiting while that child performs a run of effects.
    final class Drive: @unchecked Sendable {
        /// What the drive loop does next, after the synchronous part of a step.
        enum Next {
            case finished
            case wait(ContinuousClock.Instant)
            /// A create: the loop fetches a document it will upload first, then takes the
            /// pod's create permit.
            case create(upload: Bool, @Sendable (SourceFetch?) async throws -> JobEvent)
            case perform(@Sendable () async throws -> JobEvent)
        }

        var machine: JobMachine
        var context: JobContext
        /// What happened since the last step; nil before the first.
        var event: JobEvent?
        /// How the machine finished; nil while it runs.
        var ending: JobEnding?

        init(machine: JobMachine, context: JobContext) {
            self.machine = machine
            self.context = context
        }
    }
}
