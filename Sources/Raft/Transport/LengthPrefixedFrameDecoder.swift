import NIOCore

/// Splits a byte stream into whole frames (length prefix included) for `WireCodec.decode`.
/// The limit is enforced as soon as a prefix arrives, before any of its body is buffered, so a
/// forged length cannot make the receiver hold gigabytes.
struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    let maxFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self)
        else {
            return .needMoreData
        }
        guard UInt64(length) <= UInt64(maxFrameBytes) else {
            throw WireError.frameTooLarge(length: UInt64(length), limit: maxFrameBytes)
        }
        guard let frame = buffer.readSlice(length: WireCodec.lengthPrefixBytes + Int(length)) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A partial frame at end of stream goes with the connection.
        return .needMoreData
    }
}
