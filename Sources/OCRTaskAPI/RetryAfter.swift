public import Foundation

/// Parses a `Retry-After` header value (RFC 9110 section 10.2.3): delay-seconds or an
/// HTTP-date (IMF-fixdate, and the obsolete RFC 850 and asctime forms).
public enum RetryAfter {
    /// The delay the header asks for, relative to `now`; a date in the past gives zero.
    /// Returns `nil` for anything unparseable (the caller then uses its own backoff).
    /// Fractional seconds are accepted although the RFC allows only integers. Any delay is
    /// capped at ``maximum`` (a server asking for more is answered by our own backoff
    /// soon enough), so no header value can overflow the conversion.
    public static func parse(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            guard let seconds = Double(text), seconds.isFinite, seconds >= 0 else { return nil }
            return capped(seconds)
        }
        for format in formats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) {
                return capped(date.timeIntervalSince(now))
            }
        }
        return nil
    }

    /// The longest delay ``parse(_:now:)`` returns: a year.
    public static let maximum: Duration = .seconds(86_400 * 365)

    /// `seconds` as a duration within 0...``maximum`` (NaN as zero), whole milliseconds.
    static func capped(_ seconds: Double) -> Duration {
        guard seconds > 0 else { return .zero }
        let cap = Double(86_400 * 365)
        return .milliseconds(Int64(min(seconds, cap) * 1000))
    }

    /// Formats a delay as the header value (whole seconds, rounded up).
    public static func headerValue(for delay: Duration) -> String {
        let (seconds, attoseconds) = delay.components
        return String(max(0, seconds + (attoseconds > 0 ? 1 : 0)))
    }

    private static let formats = [
        "EEE, dd MMM yyyy HH:mm:ss zzz", // IMF-fixdate
        "EEEE, dd-MMM-yy HH:mm:ss zzz", // RFC 850
        "EEE MMM d HH:mm:ss yyyy", // asctime
    ]
}
