import Testing
import WorkerApp

/// Topic content printed by the operator commands cannot drive the terminal.
@Suite("Terminal-safe text")
struct TerminalTextTests {
    @Test("escape sequences, other controls and bidi overrides are shown, not sent; newlines, tabs and text stay")
    func controlsAreShown() {
        #expect(TerminalText.safe("job-1\u{1B}[2J\u{1B}]0;owned\u{07}") == "job-1\\u{1B}[2J\\u{1B}]0;owned\\u{7}")
        #expect(TerminalText.safe("a\u{9B}31mb\u{7F}\u{0}") == "a\\u{9B}31mb\\u{7F}\\u{0}")
        #expect(TerminalText.safe("invoice-\u{202E}fdp.exe") == "invoice-\\u{202E}fdp.exe")
        #expect(TerminalText.safe("line 1\n\tline 2 — Grüße, 中文") == "line 1\n\tline 2 — Grüße, 中文")
        #expect(TerminalText.safe("carriage\rreturn") == "carriage\\u{D}return", "a CR would overwrite the line")
    }

    @Test("bytes off a topic: invalid UTF-8 becomes U+FFFD, controls are shown")
    func bytes() {
        #expect(TerminalText.safe([0x6F, 0x6B, 0xFF, 0x1B, 0x5B, 0x41]) == "ok\u{FFFD}\\u{1B}[A")
    }
}
