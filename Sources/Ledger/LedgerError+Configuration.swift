public import JobCore

extension LedgerError {
    /// What is wrong with a ledger URL or setting, without the words that name the
    /// ledger: for other programs that take the same URL (ocr-server's `--store`).
    public var configurationProblem: String? {
        guard message.hasPrefix(LedgerConfiguration.invalidPrefix) else { return nil }
        return String(message.dropFirst(LedgerConfiguration.invalidPrefix.count))
    }
}
