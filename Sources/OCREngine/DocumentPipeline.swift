import Foundation

/// What kind of document a file is, judged by its first bytes (never by its name).
public enum DocumentKind: Sendable, Equatable {
    case image
    case pdf
    /// A ZIP (docx/xlsx/pptx) or OLE2 (doc/xls/ppt) container; `fileExtension` is the
    /// best guess LibreOffice gets to see.
    case office(fileExtension: String)
    case unknown

    public static func detect(path: String) -> DocumentKind {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .unknown }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 1024)) ?? Data())
        func starts(_ bytes: [UInt8]) -> Bool { head.count >= bytes.count && Array(head.prefix(bytes.count)) == bytes }
        if starts([0x89, 0x50, 0x4E, 0x47]) || starts([0xFF, 0xD8, 0xFF]) || starts(Array("GIF8".utf8))
            || starts(Array("BM".utf8)) || starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A])
            || (starts(Array("RIFF".utf8)) && head.count >= 12 && Array(head[8..<12]) == Array("WEBP".utf8))
        {
            return .image
        }
        // PDF: the header may follow a little junk, as readers allow.
        if let range = head.firstRange(of: Array("%PDF-".utf8)), range.lowerBound < 1024 { return .pdf }
        if starts([0x50, 0x4B, 0x03, 0x04]) {
            let all = (try? Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)) ?? Data()
            func contains(_ name: String) -> Bool { all.range(of: Data(name.utf8)) != nil }
            if contains("word/") { return .office(fileExtension: "docx") }
            if contains("xl/") { return .office(fileExtension: "xlsx") }
            if contains("ppt/") { return .office(fileExtension: "pptx") }
            return .office(fileExtension: "zip")
        }
        if starts([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return .office(fileExtension: "doc") }
        return .unknown
    }
}

/// One page to recognise.
enum PageSource {
    case image(path: String, tiffIndex: Int?)
    case pdf(path: String, page: Int, dpi: Int)
}

/// The synchronous work of one job, run on an engine pool thread.
struct DocumentPipeline {
    let job: OCRJob
    let configuration: EngineConfiguration
    let cancel: CancelFlag

    func run(slot: EngineSlot, onPhase: @Sendable (OCRPhase) -> Void) throws(OCRFailure) -> OCROutcome {
        try FileManager.default.createDirectory(at: job.workDirectory)
        let pages = try plan()
        onPhase(.waiting(pageCount: pages.count))
        let engine = try slot.engine(
            for: job.languages, dataPath: configuration.dataPath, keep: configuration.cachedLanguageSets)

        var renderer: PDFRenderer?
        let rendererBase = job.workDirectory.appendingPathComponent("searchable").path
        if job.format == .pdf {
            renderer = try PDFRenderer(outputBase: rendererBase, dataPath: configuration.dataPath, title: "OCR result")
        }
        var texts: [String] = []
        onPhase(.processing(pagesDone: 0, pageCount: pages.count))
        for (index, page) in pages.enumerated() {
            try checkpoint()
            let (pix, resolution, rasterFile) = try load(page, index: index)
            defer {
                Leptonica.destroy(pix)
                if let rasterFile { try? FileManager.default.removeItem(atPath: rasterFile) }
            }
            let text = try engine.recognize(
                pix: pix, resolution: resolution, deadline: job.deadline, cancel: cancel, renderer: renderer?.handle)
            texts.append(text)
            onPhase(.processing(pagesDone: index + 1, pageCount: pages.count))
        }
        try checkpoint()

        let output = job.output
        try? FileManager.default.removeItem(at: output)
        do {
            switch job.format {
            case .txt:
                try Data(texts.joined(separator: "\u{0C}").utf8).write(to: output)
            case .pdf:
                try renderer?.finish()
                renderer = nil
                try FileManager.default.moveItem(atPath: rendererBase + ".pdf", toPath: output.path)
            case .docx:
                try OOXMLWriter.writeDocx(pages: texts, to: output)
            case .xlsx:
                try OOXMLWriter.writeXlsx(pages: texts, to: output)
            case .pptx:
                try OOXMLWriter.writePptx(pages: texts, to: output)
            }
        } catch let failure as OCRFailure {
            throw failure
        } catch {
            throw .failed("could not write the \(job.format.rawValue) result: \(error)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber)?.int64Value ?? 0
        return OCROutcome(pageTexts: texts, outputBytes: size)
    }

    private func checkpoint() throws(OCRFailure) {
        if cancel.isCancelled { throw .cancelled }
        if ContinuousClock.now >= job.deadline { throw .timeout("processing timed out") }
    }

    // MARK: Planning: what the pages are

    private func plan() throws(OCRFailure) -> [PageSource] {
        let path = job.input.path
        switch DocumentKind.detect(path: path) {
        case .image:
            return try planImage(path: path)
        case .pdf:
            return try planPDF(path: path)
        case .office(let fileExtension):
            return try planPDF(path: convertOffice(path: path, fileExtension: fileExtension))
        case .unknown:
            throw .invalidDocument(
                "not a readable document: the file is none of pdf, png, jpg, gif, bmp, tiff, webp, doc(x), xls(x), ppt(x)")
        }
    }

    private func planImage(path: String) throws(OCRFailure) -> [PageSource] {
        guard let header = Leptonica.readHeader(path: path) else {
            throw .invalidDocument("not a readable image (damaged or unsupported encoding)")
        }
        let limit = configuration.maxImageSide
        if header.width > limit || header.height > limit {
            throw .tooLarge("image is \(header.width) x \(header.height) pixels; the limit is \(limit) x \(limit)")
        }
        let isTIFF = DocumentKind.isTIFF(path: path)
        let count = isTIFF ? Leptonica.tiffPageCount(path: path) : 1
        if count > configuration.maxPages {
            throw .tooLarge("document has \(count) pages; the limit is \(configuration.maxPages)")
        }
        return (0..<count).map { .image(path: path, tiffIndex: isTIFF ? $0 : nil) }
    }

    private func planPDF(path originalPath: String) throws(OCRFailure) -> [PageSource] {
        var path = originalPath
        // Encrypted PDFs are decrypted by qpdf with the password in a private file, so the
        // password never appears on a command line.
        let encrypted = try Subprocess.run(
            "qpdf", ["--is-encrypted", path], deadline: job.deadline, cancel: cancel)
        if encrypted.status == 0 {
            let passwordFile = job.workDirectory.appendingPathComponent("password").path
            let created = FileManager.default.createFile(
                atPath: passwordFile, contents: Data((job.password ?? "").utf8), attributes: [.posixPermissions: 0o600])
            guard created else { throw .failed("could not write a scratch file") }
            defer { try? FileManager.default.removeItem(atPath: passwordFile) }
            let decrypted = job.workDirectory.appendingPathComponent("decrypted.pdf").path
            let result = try Subprocess.run(
                "qpdf", ["--password-file=" + passwordFile, "--decrypt", path, decrypted],
                deadline: job.deadline, cancel: cancel)
            if result.status != 0 && result.status != 3 {
                if result.stderr.localizedCaseInsensitiveContains("password") {
                    throw .invalidDocument(
                        job.password == nil || job.password == ""
                            ? "the PDF is password-protected and no password was given"
                            : "the PDF is password-protected and the password is wrong")
                }
                throw .invalidDocument("not a readable PDF (\(Self.firstLine(result.stderr)))")
            }
            path = decrypted
        }

        let info = try Subprocess.run("pdfinfo", [path], deadline: job.deadline, cancel: cancel)
        guard info.status == 0 else {
            if info.stderr.contains("Incorrect password") {
                throw .invalidDocument("the PDF is password-protected and the password is missing or wrong")
            }
            throw .invalidDocument("not a readable PDF (\(Self.firstLine(info.stderr)))")
        }
        guard let count = Self.field("Pages", in: info.stdout).flatMap({ Int($0) }), count > 0 else {
            throw .invalidDocument("the PDF has no pages")
        }
        if count > configuration.maxPages {
            throw .tooLarge("document has \(count) pages; the limit is \(configuration.maxPages)")
        }
        let sizes = try Subprocess.run(
            "pdfinfo", ["-f", "1", "-l", String(count), path], deadline: job.deadline, cancel: cancel)
        var largestSide: [Int: Double] = [:]
        for line in sizes.stdout.split(separator: "\n") where line.hasPrefix("Page") && line.contains(" size:") {
            // "Page    1 size: 612 x 792 pts (letter)"
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 6, let page = Int(parts[1]), let width = Double(parts[3]),
                let height = Double(parts[5])
            else { continue }
            largestSide[page] = max(width, height)
        }
        return (1...count).map { page in
            let points = largestSide[page] ?? 842
            let fitting = Int(Double(configuration.maxRasterSide) * 72 / max(points, 1))
            return .pdf(path: path, page: page, dpi: max(36, min(configuration.rasterDPI, fitting)))
        }
    }

    private func convertOffice(path: String, fileExtension: String) throws(OCRFailure) -> String {
        guard Subprocess.which("soffice") != nil else {
            throw .invalidDocument(
                "office documents (doc, docx, xls, xlsx, ppt, pptx) need LibreOffice, which is not installed on this server")
        }
        let directory = job.workDirectory.appendingPathComponent("office")
        let source = job.workDirectory.appendingPathComponent("document." + fileExtension)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: source)
            try FileManager.default.copyItem(atPath: path, toPath: source.path)
        } catch {
            throw .failed("could not prepare the office conversion: \(error)")
        }
        let profile = job.workDirectory.appendingPathComponent("lo-profile").absoluteString
        let result = try Subprocess.run(
            "soffice",
            [
                "--headless", "--norestore", "--nologo", "-env:UserInstallation=" + profile,
                "--convert-to", "pdf", "--outdir", directory.path, source.path,
            ], deadline: job.deadline, cancel: cancel)
        let pdf = directory.appendingPathComponent("document.pdf").path
        guard result.status == 0, FileManager.default.fileExists(atPath: pdf) else {
            throw .invalidDocument("LibreOffice could not convert the document to PDF")
        }
        return pdf
    }

    // MARK: Loading one page

    private func load(_ page: PageSource, index: Int) throws(OCRFailure) -> (PixPointer, Int32, String?) {
        switch page {
        case .image(let path, let tiffIndex):
            guard let pix = Leptonica.read(path: path, tiffIndex: tiffIndex) else {
                throw .invalidDocument("page \(index + 1) is not a readable image")
            }
            return (pix, Leptonica.resolution(pix), nil)
        case .pdf(let path, let number, let dpi):
            let base = job.workDirectory.appendingPathComponent("page").path
            let result = try Subprocess.run(
                "pdftoppm",
                ["-r", String(dpi), "-f", String(number), "-l", String(number), "-singlefile", path, base],
                deadline: job.deadline, cancel: cancel)
            let raster = base + ".ppm"
            guard result.status == 0, let pix = Leptonica.read(path: raster, tiffIndex: nil) else {
                try? FileManager.default.removeItem(atPath: raster)
                throw .invalidDocument("page \(number) of the PDF could not be rendered (\(Self.firstLine(result.stderr)))")
            }
            return (pix, Int32(dpi), raster)
        }
    }

    static func field(_ name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? "no detail").prefix(200).description
    }
}

extension DocumentKind {
    static func isTIFF(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
        return head == [0x49, 0x49, 0x2A, 0x00] || head == [0x4D, 0x4D, 0x00, 0x2A]
    }
}

extension FileManager {
    func createDirectory(at url: URL) throws(OCRFailure) {
        do {
            try createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw .failed("could not create the scratch directory: \(error)")
        }
    }
}
