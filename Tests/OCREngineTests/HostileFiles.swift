import Foundation

/// Files whose headers tell one decoder one size and another decoder another (small PDFs
/// with boxes of any size are TestSupport's ``TextPDF``).
enum HostileFiles {
    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    /// An uncompressed 8-bit grey TIFF of `width` x `height` (all its pixels present) whose
    /// directory then repeats ImageWidth and ImageLength with `claimedWidth` x
    /// `claimedHeight`: libtiff reads the first occurrence of a tag.
    static func tiffWithRepeatedSizeTags(width: Int, height: Int, claimedWidth: Int, claimedHeight: Int) -> Data {
        let entries: [(tag: UInt16, type: UInt16, value: Int)] = [
            (256, 4, width), (256, 4, claimedWidth), (257, 4, height), (257, 4, claimedHeight), (258, 3, 8), (259, 3, 1),
            (262, 3, 1), (273, 4, -1), (277, 3, 1), (278, 4, height), (279, 4, width * height),
        ]
        let stripOffset = 8 + 2 + entries.count * 12 + 4
        var bytes = Array("II".utf8) + littleEndian(UInt16(42)) + littleEndian(UInt32(8))
        bytes += littleEndian(UInt16(entries.count))
        for entry in entries {
            let value = entry.value < 0 ? stripOffset : entry.value
            bytes += littleEndian(entry.tag) + littleEndian(entry.type) + littleEndian(UInt32(1))
            bytes += entry.type == 3 ? littleEndian(UInt16(value)) + [0, 0] : littleEndian(UInt32(value))
        }
        bytes += littleEndian(UInt32(0))
        return Data(bytes + [UInt8](repeating: 0x80, count: width * height))
    }
}
