extension JobRunner {
    /// One job's machine and context while the runner drives it, kept on the heap.
    ///
    /// Why a class: a job's task is parked for most of its life, and an async function's
    /// frame keeps a slot for every value that lives across any of its suspensions (the
    /// machine, its steps, the context, copies of each). With 10,000 jobs in flight those
    /// frames were several KB each; the loop in ``drive(_:_:)`` now keeps one reference.
    /// Only the job's own task touches it.
    final class Drive {
        /// What the drive loop does next, after the synchronous part of a step.
        enum Next {
            case finished
            case wait(ContinuousClock.Instant)
            /// A create: the loop takes the pod's create permit first.
            case create(JobEffect, JobContext)
            case perform(JobEffect, JobContext)
        }

        var machine: JobMachine
        var context: JobContext

        init(machine: JobMachine, context: JobContext) {
            self.machine = machine
            self.context = context
        }
    }
}
