import Foundation
import ZIPFoundation

/// Minimal, valid Office Open XML documents holding recognised pages (``PageLayout``):
/// what Word, LibreOffice, python-docx, openpyxl and python-pptx open.
///
/// - docx: a paragraph per paragraph (headings in Word's Heading 1 and 2 styles), a Word
///   table per table, a page break between pages;
/// - xlsx: one sheet per page ("Page 1", ...), a row per paragraph (its text in column A)
///   and, for a table, a row per table row with one cell per table cell (numbers stored
///   as numbers, see ``XlsxNumber``), a blank row around each table;
/// - pptx: one slide per page, of the first page's proportions; each run of paragraphs a
///   text box and each table a PowerPoint table, where they stood on the page.
public enum OOXMLWriter {
    static let relationshipsType = "application/vnd.openxmlformats-package.relationships+xml"
    static let officeDocumentRelationship =
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
    static let relationshipBase = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    static let header = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"

    /// Escapes text for XML and drops the characters XML 1.0 forbids.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func contentTypes(_ overrides: [(part: String, type: String)]) -> String {
        header + #"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#
            + #"<Default Extension="rels" ContentType="\#(relationshipsType)"/>"#
            + #"<Default Extension="xml" ContentType="application/xml"/>"#
            + overrides.map { #"<Override PartName="\#($0.part)" ContentType="\#($0.type)"/>"# }.joined()
            + "</Types>"
    }

    static func relationships(_ entries: [(id: String, type: String, target: String)]) -> String {
        header + #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
            + entries.map { #"<Relationship Id="\#($0.id)" Type="\#($0.type)" Target="\#($0.target)"/>"# }.joined()
            + "</Relationships>"
    }

    /// Writes the package at `url`: its content types (`overrides` for the parts), the
    /// package relationship to `mainPart`, and `parts` (path, XML).
    static func writePackage(
        mainPart: String, overrides: [(part: String, type: String)], parts: [(String, String)], to url: URL
    ) throws {
        try? FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        let package = [
            ("[Content_Types].xml", contentTypes(overrides)),
            ("_rels/.rels", relationships([("rId1", officeDocumentRelationship, mainPart)])),
        ]
        for (path, text) in package + parts {
            let data = Data(text.utf8)
            try archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
    }

    /// The smallest complete DrawingML theme (colour, font and format schemes).
    static let theme: String = {
        let colors = [
            ("dk1", #"<a:sysClr val="windowText" lastClr="000000"/>"#),
            ("lt1", #"<a:sysClr val="window" lastClr="FFFFFF"/>"#),
            ("dk2", #"<a:srgbClr val="1F497D"/>"#), ("lt2", #"<a:srgbClr val="EEECE1"/>"#),
            ("accent1", #"<a:srgbClr val="4F81BD"/>"#), ("accent2", #"<a:srgbClr val="C0504D"/>"#),
            ("accent3", #"<a:srgbClr val="9BBB59"/>"#), ("accent4", #"<a:srgbClr val="8064A2"/>"#),
            ("accent5", #"<a:srgbClr val="4BACC6"/>"#), ("accent6", #"<a:srgbClr val="F79646"/>"#),
            ("hlink", #"<a:srgbClr val="0000FF"/>"#), ("folHlink", #"<a:srgbClr val="800080"/>"#),
        ].map { "<a:\($0.0)>\($0.1)</a:\($0.0)>" }.joined()
        let fill = #"<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>"#
        let line = #"<a:ln w="9525"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln>"#
        let effect = "<a:effectStyle><a:effectLst/></a:effectStyle>"
        let font = #"<a:latin typeface="Calibri"/><a:ea typeface=""/><a:cs typeface=""/>"#
        return header
            + #"<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="Office Theme"><a:themeElements>"#
            + #"<a:clrScheme name="Office">\#(colors)</a:clrScheme>"#
            + #"<a:fontScheme name="Office"><a:majorFont>\#(font)</a:majorFont><a:minorFont>\#(font)</a:minorFont></a:fontScheme>"#
            + #"<a:fmtScheme name="Office"><a:fillStyleLst>\#(fill)\#(fill)\#(fill)</a:fillStyleLst>"#
            + "<a:lnStyleLst>\(line)\(line)\(line)</a:lnStyleLst>"
            + "<a:effectStyleLst>\(effect)\(effect)\(effect)</a:effectStyleLst>"
            + "<a:bgFillStyleLst>\(fill)\(fill)\(fill)</a:bgFillStyleLst></a:fmtScheme>"
            + "</a:themeElements></a:theme>"
    }()
}
