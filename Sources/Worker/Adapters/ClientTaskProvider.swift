public import JobContract
public import JobCore
import OCRClient

/// The job engine's ``TaskProvider`` port on the OCR client: a job's document goes by its
/// checked URL, or uploaded when the machine asks for it.
public struct ClientTaskProvider: TaskProvider {
    let client: any ProviderClient

    public init(client: any ProviderClient) { self.client = client }

    public func createTask(for job: Job, upload: Bool) async throws(ProviderFailure) -> TaskCreation {
        do {
            let created = try await client.createTask(
                source: .checkedURL(job.source), options: job.options, sourcePolicy: upload ? .upload : nil)
            return TaskCreation(taskID: created.taskID, uploadedBytes: created.uploadedBytes, sourceMode: "\(created.sourceMode)")
        } catch {
            throw ProviderFailure(error)
        }
    }

    public func queryTask(_ taskID: String) async throws(ProviderFailure) -> TaskReply {
        do {
            let reply = try await client.queryTaskReply(taskID)
            return TaskReply(record: reply.record, retryAfter: reply.retryAfter)
        } catch {
            throw ProviderFailure(error)
        }
    }
}
