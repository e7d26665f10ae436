import Foundation

/// The searchable PDF of a document: the pages Tesseract's PDF renderer made (each page
/// image with its invisible text on it) and, for pages whose own text layer served, the
/// original PDF pages unchanged, in the document's order. qpdf puts them together.
struct SearchablePDF {
    enum Page: Equatable {
        /// The renderer's next page.
        case rendered
        /// Page `page` of the PDF at `path`.
        case original(path: String, page: Int)

        var isRendered: Bool { self == .rendered }
    }

    /// Consecutive pages of one file, for qpdf's `--pages`.
    struct Run: Equatable {
        var file: String
        var first: Int
        var last: Int
    }

    let job: OCRJob
    let limits: HelperLimits
    let cancel: CancelFlag

    /// Writes the document to `output`, from `pages` and the renderer's file `rendered`.
    func assemble(_ pages: [Page], rendered: String, to output: String) throws(OCRFailure) {
        if pages.allSatisfy(\.isRendered) {
            do {
                try FileManager.default.moveItem(atPath: rendered, toPath: output)
            } catch {
                throw .failed("could not write the searchable PDF: \(error)")
            }
            return
        }
        let ranges = Self.runs(pages, rendered: rendered).flatMap { run in
            [run.file, run.first == run.last ? "\(run.first)" : "\(run.first)-\(run.last)"]
        }
        let result = try Subprocess.run(
            "qpdf", ["--empty", "--pages"] + ranges + ["--", output], deadline: job.deadline, cancel: cancel,
            limits: limits)
        // 3: written, with warnings about the input (which readers had forgiven too).
        guard result.status == 0 || result.status == 3 else {
            throw .failed("could not assemble the searchable PDF (\(DocumentPlanner.firstLine(result.stderr)))")
        }
    }

    static func runs(_ pages: [Page], rendered: String) -> [Run] {
        var runs: [Run] = []
        var renderedNumber = 0
        for page in pages {
            let (file, number): (String, Int)
            switch page {
            case .rendered:
                renderedNumber += 1
                (file, number) = (rendered, renderedNumber)
            case .original(let path, let page):
                (file, number) = (path, page)
            }
            if let last = runs.last, last.file == file, last.last + 1 == number {
                runs[runs.count - 1].last = number
            } else {
                runs.append(Run(file: file, first: number, last: number))
            }
        }
        return runs
    }
}
