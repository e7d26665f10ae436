/// The value a dead letter carries: the job record's value, minus its document password.
///
/// A dead letter copies the original record so that ops can read and replay it, but the
/// dead-letter topic is read by more people and tools than the jobs topic, and a job's
/// `password` is a secret (docs/architecture.md, "Messages"). So the copy drops that one member.
public enum DeadLetterValue {
    /// `value` with every top-level `password` member removed, and every other byte
    /// (member order, whitespace, number spelling, escapes, `metadata`) unchanged.
    ///
    /// The rules, in order:
    /// - `nil` (a tombstone) stays `nil`;
    /// - a value that is not valid JSON, or is JSON but not an object, is returned
    ///   unchanged (there is no member to remove; a malformed value is copied as it came);
    /// - an object without a top-level member named exactly `password` (after unescaping,
    ///   so `"pass\u0077ord"` counts) is returned unchanged, byte for byte;
    /// - otherwise each such member is cut out together with the comma and whitespace that
    ///   separated it from its neighbour, so the result is still one valid JSON object.
    ///   Repeated `password` members (which the job decoder rejects) are all removed.
    ///
    /// A `password` nested deeper (inside `metadata`, say) is the producer's own data and
    /// stays. A replayed dead letter therefore arrives without its password: a job that
    /// needs one fails again with the provider's "invalid file" until it is resubmitted
    /// with the password.
    public static func withoutPassword(_ value: [UInt8]?) -> [UInt8]? {
        guard let value else { return nil }
        return removingTopLevelMembers(named: "password", from: value)
    }

    /// ``withoutPassword(_:)`` for any member name.
    static func removingTopLevelMembers(named name: String, from value: [UInt8]) -> [UInt8] {
        guard let spans = (try? JSONParser.topLevelMembers(value)) ?? nil,
            spans.contains(where: { $0.name == name })
        else { return value }
        let kept = spans.indices.filter { spans[$0].name != name }
        var cuts: [Range<Int>] = []
        if let lastKept = kept.last {
            // A removed member before the last kept one goes with the separator after it
            // (up to the next member's name); removed members after it go with the
            // separator before them (from the last kept value's end).
            for i in spans.indices where i < lastKept && spans[i].name == name {
                cuts.append(spans[i].nameStart..<spans[i + 1].nameStart)
            }
            if lastKept < spans.count - 1 {
                cuts.append(spans[lastKept].valueEnd..<spans[spans.count - 1].valueEnd)
            }
        } else {
            cuts.append(spans[0].nameStart..<spans[spans.count - 1].valueEnd)
        }
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        var position = 0
        for cut in cuts {
            out.append(contentsOf: value[position..<cut.lowerBound])
            position = cut.upperBound
        }
        out.append(contentsOf: value[position...])
        return out
    }
}
