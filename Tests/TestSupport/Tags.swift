public import Testing

/// What a suite needs beyond the test process, so a run can pick or skip them
/// (`swift test --filter` by suite, or Xcode/`swift test` tag selection).
extension Tag {
    /// Talks to the Kafka broker `scripts/test` starts (`KAFKA_BOOTSTRAP`).
    @Tag public static var broker: Self
    /// Talks to the PostgreSQL server `scripts/test` starts (`OCR_TEST_POSTGRES_URL`).
    @Tag public static var postgres: Self
    /// Runs real Tesseract (in process or through ocr-server): CPU-heavy.
    @Tag public static var tesseract: Self
    /// Starts the project's executables and drives them end to end.
    @Tag public static var e2e: Self
}
