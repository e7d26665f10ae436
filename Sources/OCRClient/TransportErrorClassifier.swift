import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import OCRTaskAPI

/// Maps errors thrown by AsyncHTTPClient and SwiftNIO to the contract's
/// ``TransportFailure`` (or to cancellation). Unknown errors are `.other`, which the
/// outcome table treats as transient.
enum TransportErrorClassifier {
    enum Verdict: Equatable {
        case failure(TransportFailure)
        case cancelled
    }

    static func classify(_ error: any Error) -> Verdict {
        switch error {
        case is CancellationError:
            return .cancelled
        case let error as HTTPClientError:
            switch error {
            case .cancelled: return .cancelled
            case .connectTimeout, .getConnectionFromPoolTimeout: return .failure(.connectTimeout)
            case .readTimeout, .writeTimeout, .deadlineExceeded: return .failure(.readTimeout)
            case .remoteConnectionClosed: return .failure(.connectionReset)
            case .tlsHandshakeTimeout: return .failure(.tlsFailure)
            case .contentLengthMissing, .invalidProxyResponse: return .failure(.malformedReply)
            default: return .failure(.other)
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout: return .failure(.connectTimeout)
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: return .failure(.connectionReset)
            default: return .failure(.other)
            }
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return .failure(.connectionRefused)
            case ECONNRESET, EPIPE, ECONNABORTED: return .failure(.connectionReset)
            case ETIMEDOUT: return .failure(.connectTimeout)
            default: return .failure(.other)
            }
        case let error as NIOConnectionError:
            if error.dnsAError != nil, error.dnsAAAAError != nil { return .failure(.dnsFailure) }
            if let first = error.connectionErrors.first { return classify(first.error) }
            return .failure(.connectTimeout)
        case let error as HTTPParserError:
            return .failure(error == .invalidEOFState ? .truncatedBody : .malformedReply)
        case is NIOTooManyBytesError, is ResponseAccumulator.ResponseTooBigError, is DecodingError:
            return .failure(.malformedReply)
        default:
            let typeName = String(describing: type(of: error))
            if typeName.contains("SSL") || typeName.contains("TLS") { return .failure(.tlsFailure) }
            return .failure(.other)
        }
    }
}
