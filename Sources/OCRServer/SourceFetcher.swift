import AsyncHTTPClient
import Foundation
import GuardedFetch
import NIOCore
import NIOHTTP1
import OCRTaskAPI

/// Why an `image_url` could not be fetched.
enum FetchFailure: Error {
    /// State -3: the source could not be downloaded (or may not be, by the SSRF rule).
    case download(String)
    /// State -5: the source is larger than the limit.
    case tooLarge(String)
}

/// Downloads `image_url` documents through the SSRF guard shared with the worker
/// (``GuardedFetcher``): only http/https, only ports 80 and 443 (unless `allowAnyPort`),
/// and every hop's name and every address it resolves to must be public (or, with
/// `allowPrivate`, loopback or private too; link-local, cloud metadata and reserved
/// addresses never). Each hop is resolved once (within `resolveTimeout`) and the connection
/// goes to the address that was checked, so DNS rebinding cannot slip a different address
/// in. Redirects are followed by hand (at most 5). The whole download, head and body, must
/// end within `timeout`.
struct SourceFetcher: Sendable {
    let fetcher: GuardedFetcher
    let maxBytes: Int64
    let timeout: TimeInterval

    init(
        allowPrivate: Bool, allowAnyPort: Bool, maxBytes: Int64, timeout: TimeInterval, resolveTimeout: TimeInterval = 10,
        resolver: any HostResolver = SystemHostResolver()
    ) {
        fetcher = GuardedFetcher(
            policy: allowPrivate ? .allowingPrivate : .publicOnly, resolver: resolver,
            allowedPorts: allowAnyPort ? nil : [80, 443], maxRedirects: 5, connectTimeout: .seconds(15),
            readTimeout: .seconds(60), resolveTimeout: .milliseconds(Int64(resolveTimeout * 1000)))
        self.maxBytes = maxBytes
        self.timeout = timeout
    }

    func download(_ start: DocumentURL, to destination: URL) async throws(FetchFailure) -> Int64 {
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
        do {
            return try await fetcher.get(
                start, deadline: deadline, headers: { _ in HTTPHeaders([("User-Agent", "ocr-server")]) }
            ) { guarded in
                let response = guarded.response
                guard response.status.code == 200 else {
                    throw FetchFailure.download("image_url \(guarded.url) answered HTTP \(response.status.code)")
                }
                if let length = response.headers.first(name: "Content-Length").flatMap(Int64.init), length > maxBytes {
                    throw FetchFailure.tooLarge("the document at image_url is \(length) bytes; the limit is \(maxBytes)")
                }
                return try await save(response.body, from: guarded.url, to: destination)
            }
        } catch let failure as FetchFailure {
            throw failure
        } catch GuardedFetchError.deadlineExceeded {
            throw .download("image_url \(start) did not download within \(Int(timeout)) s")
        } catch let refused as GuardedFetchError {
            throw .download("image_url: \(refused)")
        } catch {
            throw .download("could not download image_url \(start): \(Self.describe(error))")
        }
    }

    private func save(_ body: HTTPClientResponse.Body, from url: DocumentURL, to destination: URL) async throws(FetchFailure) -> Int64 {
        guard FileManager.default.createFile(atPath: destination.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = try? FileHandle(forWritingTo: destination)
        else {
            throw .download("server could not create the download file")
        }
        defer { try? handle.close() }
        let writer = FileWriter(handle: handle)
        var total: Int64 = 0
        var pending = Data()
        do {
            for try await buffer in body {
                total += Int64(buffer.readableBytes)
                if total > maxBytes {
                    throw FetchFailure.tooLarge("the document at image_url exceeds \(maxBytes) bytes")
                }
                pending.append(contentsOf: buffer.readableBytesView)
                if pending.count >= 1024 * 1024 {
                    try await writer.write(pending)
                    pending = Data()
                }
            }
            // A cancelled read can end early without an error: never keep a cut file.
            try Task.checkCancellation()
            if !pending.isEmpty { try await writer.write(pending) }
        } catch let failure as FetchFailure {
            throw failure
        } catch {
            throw .download("download of image_url \(url) failed: \(Self.describe(error))")
        }
        return total
    }

    static func describe(_ error: any Error) -> String {
        return String(describing: error).prefix(200).description
    }
}
