import Foundation
import Testing

/// Runs `.tools/venv/bin/check-jsonschema` on instance files and reports which failed.
struct SchemaChecker {
    static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() } // Tests/JobContractTests/SchemaChecker.swift
        return url
    }()

    static let examples = repoRoot.appendingPathComponent("Tests/JobContractTests/Examples")

    static func schema(_ name: String) -> URL { repoRoot.appendingPathComponent("schemas/\(name)") }

    static var tool: URL { repoRoot.appendingPathComponent(".tools/venv/bin/check-jsonschema") }

    struct Outcome {
        var status: Int32
        var failedFiles: Set<String>
        var output: String
    }

    /// Validates every file against `schema` in one run and returns the names of the files
    /// that failed (schema errors or parse errors).
    static func check(schema: String, files: [URL]) throws -> Outcome {
        let process = Process()
        process.executableURL = tool
        process.arguments = ["-o", "json", "--schemafile", Self.schema(schema).path] + files.map(\.path)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var failed = Set<String>()
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        for key in ["errors", "parse_errors"] {
            for entry in object[key] as? [[String: Any]] ?? [] {
                if let name = entry["filename"] as? String {
                    failed.insert(URL(fileURLWithPath: name).lastPathComponent)
                }
            }
        }
        return Outcome(
            status: process.terminationStatus, failedFiles: failed, output: String(decoding: data, as: UTF8.self))
    }

    /// Writes `bytes` to a fresh temporary file named `name`.
    static func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jobcontract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    static func files(in folder: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(
            at: examples.appendingPathComponent(folder), includingPropertiesForKeys: nil
        ).filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}
