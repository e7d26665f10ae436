import OCRTaskAPI
import Testing

/// Row by row against docs/architecture.md (see the table on `OutcomePolicy`).
@Suite struct OutcomePolicyTests {
    @Test(arguments: [
        (1, CallerAction.done),
        (0, .keepPolling), (2, .keepPolling), (3, .keepPolling), (4, .keepPolling),
        (5, .keepPolling), (99, .keepPolling), // unknown non-negative: keep polling
        (-1, .recreateTask), (-2, .recreateTask), (-8, .recreateTask),
        (-3, .uploadFileInstead),
        (-5, .permanentFailure), (-7, .permanentFailure),
        (-4, .permanentFailure), (-6, .permanentFailure), (-100, .permanentFailure), // unknown negative
    ])
    func taskStateRows(state: Int, expected: CallerAction) {
        #expect(OutcomePolicy.action(for: .task(TaskState(state))) == expected)
    }

    @Test(arguments: [TaskEndpoint.create, .query, .download, .sourceFetch])
    func retryableStatusesRetryOnEveryEndpoint(endpoint: TaskEndpoint) {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            #expect(OutcomePolicy.action(for: .http(status: status, endpoint: endpoint)) == .retryLater(after: nil))
        }
        #expect(
            OutcomePolicy.action(for: .http(status: 429, endpoint: endpoint, retryAfter: .seconds(2)))
                == .retryLater(after: .seconds(2)))
        #expect(
            OutcomePolicy.action(for: .http(status: 503, endpoint: endpoint, retryAfter: .seconds(7)))
                == .retryLater(after: .seconds(7)))
    }

    @Test func apiStatusRows() {
        func act(_ status: Int, _ endpoint: TaskEndpoint) -> CallerAction {
            OutcomePolicy.action(for: .http(status: status, endpoint: endpoint))
        }
        #expect(act(401, .create) == .deploymentFault)
        #expect(act(401, .query) == .deploymentFault)
        #expect(act(403, .create) == .deploymentFault)
        #expect(act(400, .create) == .permanentFailure)
        #expect(act(400, .query) == .permanentFailure)
        #expect(act(413, .create) == .permanentFailure)
        #expect(act(404, .query) == .recreateTask)
        #expect(act(404, .create) == .deploymentFault)
        #expect(act(422, .create) == .permanentFailure)
        #expect(act(302, .create) == .permanentFailure)
        #expect(act(200, .create) == .retryLater(after: nil))
        #expect(act(200, .query) == .retryLater(after: nil))
    }

    @Test func downloadAndSourceRows() {
        for status in [401, 403, 404, 410, 400] {
            #expect(OutcomePolicy.action(for: .http(status: status, endpoint: .download)) == .refreshResultURL)
            #expect(OutcomePolicy.action(for: .http(status: status, endpoint: .sourceFetch)) == .permanentFailure)
        }
        #expect(OutcomePolicy.action(for: .downloaded) == .done)
        #expect(OutcomePolicy.action(for: .created) == .keepPolling)
    }

    @Test(arguments: TransportFailure.allCases)
    func transportRows(failure: TransportFailure) {
        for endpoint in TaskEndpoint.allCases {
            let action = OutcomePolicy.action(for: .transport(failure, endpoint: endpoint))
            switch (failure, endpoint) {
            case (.tlsFailure, .create), (.tlsFailure, .query):
                #expect(action == .deploymentFault)
            case (.tlsFailure, .sourceFetch):
                #expect(action == .permanentFailure)
            default:
                #expect(action == .retryLater(after: nil), "\(failure) on \(endpoint)")
            }
        }
    }

    @Test func stateClassification() {
        #expect(TaskState.queued.isPending && !TaskState.queued.isRunning && !TaskState.queued.isTerminal)
        for state in [TaskState.preparing, .waiting, .processing, TaskState(7)] {
            #expect(state.isRunning && state.isPending && !state.isTerminal)
        }
        for state in [
            TaskState.success, .failed, .resultUploadFailed, .sourceDownloadFailed, .tooLarge,
            .invalidFile, .processingTimeout, TaskState(-42),
        ] {
            #expect(state.isTerminal && !state.isRunning)
        }
        #expect(TaskState(-42).isFailure && !TaskState(-42).isDocumented)
        #expect(TaskState.documented.count == 11)
        #expect(TaskState(-42).description == "-42 (unknown)")
    }

    @Test func actionNamesAreStable() {
        #expect(CallerAction.retryLater(after: .seconds(2)).name == "retry_later")
        #expect(CallerAction.deploymentFault.description == "deployment_fault")
    }
}
