import Testing

@testable import Worker

/// `ocr_outstanding_jobs`, the autoscaling signal of the `picwish` overlay: the consumer
/// lag already holds the jobs in flight (it is measured from the committed offset, and
/// offsets are committed only past finished jobs).
@Suite("Outstanding jobs")
struct OutstandingJobsTests {
    @Test("jobs in flight are counted once: 25 behind the committed offset, 10 of them running, is 25")
    func inFlightCountedOnce() {
        #expect(WorkerMetrics.outstandingJobs(consumerLag: 25, inFlight: 10) == 25)
        #expect(WorkerMetrics.outstandingJobs(consumerLag: 0, inFlight: 0) == 0)
    }

    @Test("statistics older than the jobs: the jobs in flight now are the floor")
    func staleLag() {
        #expect(WorkerMetrics.outstandingJobs(consumerLag: 3, inFlight: 8) == 8)
        #expect(WorkerMetrics.outstandingJobs(consumerLag: .max, inFlight: 8) == .max)
    }
}
