import Kafka
import Testing
import Worker

@Suite("Offset tracker")
struct OffsetTrackerTests {
    let p0 = TopicPartition(topic: "jobs", partition: 0)
    let p1 = TopicPartition(topic: "jobs", partition: 1)

    @Test("out-of-order finishes commit only the contiguous prefix")
    func outOfOrder() {
        var tracker = OffsetTracker()
        for o in Int64(10)...14 { tracker.started(p0, offset: o) }
        #expect(tracker.committable(p0) == 10, "nothing finished: commit stays at the first outstanding")
        tracker.finished(p0, offset: 12)
        tracker.finished(p0, offset: 11)
        #expect(tracker.committable(p0) == 10, "10 still runs")
        tracker.finished(p0, offset: 10)
        #expect(tracker.committable(p0) == 13, "10, 11, 12 done; 13 outstanding")
        tracker.finished(p0, offset: 14)
        tracker.finished(p0, offset: 13)
        #expect(tracker.committable(p0) == 15, "all done: one past the highest seen")
        #expect(tracker.inFlight == 0)
    }

    @Test("pending commits list only partitions that moved since their last commit")
    func pendingCommits() {
        var tracker = OffsetTracker()
        tracker.started(p0, offset: 0)
        tracker.started(p1, offset: 5)
        tracker.finished(p0, offset: 0)
        let first = tracker.pendingCommits()
        #expect(first == [TopicPartitionOffset(p0, offset: 1), TopicPartitionOffset(p1, offset: 5)])
        tracker.committed(first)
        #expect(tracker.pendingCommits().isEmpty)
        tracker.finished(p1, offset: 5)
        #expect(tracker.pendingCommits() == [TopicPartitionOffset(p1, offset: 6)])
        #expect(tracker.pendingCommits(for: [p0]).isEmpty)
    }

    @Test("revoked partitions are forgotten")
    func removal() {
        var tracker = OffsetTracker()
        tracker.started(p0, offset: 3)
        tracker.started(p1, offset: 4)
        tracker.remove([p0])
        #expect(tracker.inFlight == 1)
        #expect(tracker.committable(p0) == nil)
        #expect(tracker.inFlight(in: p1) == 1)
    }

    @Test("commit lag: records taken past the last commit, held back by an unfinished job")
    func commitLag() {
        var t = OffsetTracker()
        #expect(t.uncommitted == 0)
        for o in Int64(10)...14 { t.started(p0, offset: o) }
        #expect(t.uncommitted == 5)
        for o in Int64(11)...14 { t.finished(p0, offset: o) }
        t.committed(t.pendingCommits())
        // Offset 10 still runs: nothing could be committed past it.
        #expect(t.uncommitted == 5)
        t.finished(p0, offset: 10)
        t.committed(t.pendingCommits())
        #expect(t.uncommitted == 0)
    }
}
