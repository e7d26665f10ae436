public import NIOCore
import NIOHTTP1

/// A response body sent one byte at a time, one every `interval`: a source that is alive
/// but slow, which an idle timeout never catches and only a total deadline stops.
public enum TrickledBody {
    /// Writes `left` bytes of "x", one per `interval`, then ends the response. Stops early
    /// when the peer has gone. The response head must already be written.
    public static func write(_ context: ChannelHandlerContext, left: Int, interval: TimeAmount) {
        guard left > 0, context.channel.isActive else {
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            return
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: interval) {
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "x")))), promise: nil)
            write(context, left: left - 1, interval: interval)
        }
    }
}
