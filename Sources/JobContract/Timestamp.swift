public import Foundation

/// RFC 3339 date-times, as the contracts use them.
///
/// Parsing follows RFC 3339 section 5.6 as JSON Schema's `date-time` format checks it:
/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`, `T` and `Z` in either case, a real
/// calendar day, hours 00-23, no leap second (60), at least one digit after a `.`.
/// Formatting always writes UTC with exactly three fractional digits, so the same instant
/// (to the millisecond) always gives the same text.
public enum RFC3339 {
    /// A parsed date-time, exact to the nanosecond.
    public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// Seconds since 1970-01-01T00:00:00Z.
        public var seconds: Int64
        /// 0 ..< 1_000_000_000; fraction digits beyond nine are dropped.
        public var nanoseconds: Int32

        public init(seconds: Int64, nanoseconds: Int32) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        public var date: Date {
            Date(timeIntervalSince1970: TimeInterval(seconds) + TimeInterval(nanoseconds) / 1e9)
        }

        /// UTC text with the fraction's significant digits (none when whole): the canonical
        /// form used in job fingerprints.
        public var canonical: String {
            var text = RFC3339.civil(seconds: seconds)
            if nanoseconds > 0 {
                var digits = String(nanoseconds)
                digits = String(repeating: "0", count: 9 - digits.count) + digits
                while digits.hasSuffix("0") { digits.removeLast() }
                text += "." + digits
            }
            return text + "Z"
        }

        public var description: String { canonical }

        public static func < (a: Instant, b: Instant) -> Bool {
            (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
        }
    }

    /// Parses an RFC 3339 date-time; `nil` if it is not one.
    public static func parse(_ text: String) -> Instant? {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var value = 0
            for k in 0..<count {
                let c = b[i + k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            i += count
            return value
        }
        func literal(_ options: String) -> Bool {
            guard i < b.count, options.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), literal("-"), let month = digits(2), literal("-"), let day = digits(2),
            literal("Tt"), let hour = digits(2), literal(":"), let minute = digits(2), literal(":"),
            let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var nanos = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if count < 9 { nanos = nanos * 10 + Int(b[i] - 0x30) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in min(count, 9)..<9 { nanos *= 10 }
        }
        var offset = 0
        if literal("Zz") {
            offset = 0
        } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = digits(2), literal(":"), let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        return Instant(seconds: seconds, nanoseconds: Int32(nanos))
    }

    /// The instants RFC 3339 can write (four-digit years: 0000-01-01T00:00:00.000Z to
    /// 9999-12-31T23:59:59.999Z), in milliseconds since the epoch.
    public static let representableMilliseconds: ClosedRange<Int64> = -62_167_219_200_000...253_402_300_799_999

    /// `date` in whole milliseconds since the epoch (rounded down) when RFC 3339 can write
    /// it; `nil` for a NaN or infinite date and for one outside years 0000-9999. Dates built
    /// from outside values (a Kafka timestamp of `Int64.max` ms, a provider's `created_at`
    /// of `1e300`) land here instead of trapping in an `Int64(...)` conversion.
    ///
    /// The rounding down is done on the date rounded to the microsecond: a date already
    /// truncated to a millisecond (`0.027`, stored as 0.02699999...) must give the same
    /// millisecond again, or a result decoded from its own encoding would lose 1 ms.
    public static func milliseconds(_ date: Date) -> Int64? {
        let microseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let scaled = (microseconds / 1000).rounded(.down)
        guard scaled.isFinite, let millis = Int64(exactly: scaled), representableMilliseconds.contains(millis) else {
            return nil
        }
        return millis
    }

    /// `date` truncated to the millisecond when RFC 3339 can write it, `nil` otherwise (see
    /// ``milliseconds(_:)``): how optional dates from outside (timings) are cleaned, so an
    /// absurd one is published as missing (`null`) rather than as a wrong instant.
    public static func representable(_ date: Date) -> Date? {
        milliseconds(date).map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// Formats a date as UTC with millisecond precision (`2025-01-02T03:04:05.678Z`).
    ///
    /// Total: a date RFC 3339 cannot write (before year 0000, after 9999, NaN) is clamped
    /// to the nearest end of ``representableMilliseconds`` (NaN to the epoch), so the
    /// output always parses back. Callers that must not publish a clamped value filter
    /// with ``representable(_:)`` first, as ``JobResult/Timings`` does.
    public static func format(_ date: Date) -> String {
        let millis = milliseconds(date) ?? clampedMilliseconds(date)
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = millis - seconds * 1000
        let ms = String(fraction)
        return civil(seconds: seconds) + "." + String(repeating: "0", count: 3 - ms.count) + ms + "Z"
    }

    /// Drops sub-millisecond precision, so a date survives a format/parse round trip. A date
    /// RFC 3339 cannot write is clamped like ``format(_:)`` does.
    public static func truncatedToMilliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date) ?? clampedMilliseconds(date)) / 1000)
    }

    private static func clampedMilliseconds(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970
        if seconds.isNaN { return 0 }
        return seconds < 0 ? representableMilliseconds.lowerBound : representableMilliseconds.upperBound
    }

    static func civil(seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = Int(seconds - days * 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2))"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 4, 6, 9, 11: 30
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
