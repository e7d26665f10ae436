public import Foundation
import ZIPFoundation

/// Minimal, valid Office Open XML documents holding recognised text: what Word,
/// LibreOffice, python-docx, openpyxl and python-pptx open.
///
/// - docx: one paragraph per text line, a page break between pages;
/// - xlsx: one sheet per page ("Page 1", ...), one row per text line in column A;
/// - pptx: one slide per page, a text box with one paragraph per line.
public enum OOXMLWriter {
    static let relationshipsType = "application/vnd.openxmlformats-package.relationships+xml"
    static let officeDocumentRelationship =
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
    static let relationshipBase = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    static let header = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"

    /// The non-empty lines of a page, without trailing blanks.
    static func lines(_ page: String) -> [String] {
        page.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

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

    static func write(_ parts: [(String, String)], to url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        for (path, text) in parts {
            let data = Data(text.utf8)
            try archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
    }

    // MARK: docx

    public static func writeDocx(pages: [String], to url: URL) throws {
        var body = ""
        for (index, page) in pages.enumerated() {
            if index > 0 { body += #"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"# }
            for line in lines(page) {
                body += #"<w:p><w:r><w:t xml:space="preserve">\#(escape(line))</w:t></w:r></w:p>"#
            }
        }
        let document =
            header + #"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#
            + body
            + #"<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr>"#
            + "</w:body></w:document>"
        try write(
            [
                (
                    "[Content_Types].xml",
                    contentTypes([
                        (
                            "/word/document.xml",
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
                        )
                    ])
                ),
                ("_rels/.rels", relationships([("rId1", officeDocumentRelationship, "word/document.xml")])),
                ("word/document.xml", document),
            ], to: url)
    }

    // MARK: xlsx

    public static func writeXlsx(pages: [String], to url: URL) throws {
        let sheetCount = max(1, pages.count)
        var parts: [(String, String)] = []
        var overrides: [(part: String, type: String)] = [
            ("/xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
        ]
        var sheets = ""
        var workbookRelationships: [(id: String, type: String, target: String)] = []
        for number in 1...sheetCount {
            overrides.append(
                ("/xl/worksheets/sheet\(number).xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"))
            sheets += #"<sheet name="Page \#(number)" sheetId="\#(number)" r:id="rId\#(number)"/>"#
            workbookRelationships.append(("rId\(number)", relationshipBase + "worksheet", "worksheets/sheet\(number).xml"))
            let rows = (number <= pages.count ? lines(pages[number - 1]) : []).enumerated().map { index, line in
                let row = index + 1
                return #"<row r="\#(row)"><c r="A\#(row)" t="inlineStr"><is><t xml:space="preserve">\#(escape(line))</t></is></c></row>"#
            }.joined()
            parts.append(
                (
                    "xl/worksheets/sheet\(number).xml",
                    header + #"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#
                        + "<sheetData>\(rows)</sheetData></worksheet>"
                ))
        }
        let workbook =
            header + #"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#
            + #"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#
            + "<sheets>\(sheets)</sheets></workbook>"
        try write(
            [
                ("[Content_Types].xml", contentTypes(overrides)),
                ("_rels/.rels", relationships([("rId1", officeDocumentRelationship, "xl/workbook.xml")])),
                ("xl/workbook.xml", workbook),
                ("xl/_rels/workbook.xml.rels", relationships(workbookRelationships)),
            ] + parts, to: url)
    }

    // MARK: pptx

    static let presentationNamespaces =
        #"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" "#
        + #"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" "#
        + #"xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#
    static let emptyGroup =
        #"<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>"#

    public static func writePptx(pages: [String], to url: URL) throws {
        let slideCount = max(1, pages.count)
        let contentType = "application/vnd.openxmlformats-officedocument.presentationml."
        var overrides: [(part: String, type: String)] = [
            ("/ppt/presentation.xml", contentType + "presentation.main+xml"),
            ("/ppt/slideMasters/slideMaster1.xml", contentType + "slideMaster+xml"),
            ("/ppt/slideLayouts/slideLayout1.xml", contentType + "slideLayout+xml"),
            ("/ppt/theme/theme1.xml", "application/vnd.openxmlformats-officedocument.theme+xml"),
        ]
        var presentationRelationships: [(id: String, type: String, target: String)] = [
            ("rId1", relationshipBase + "slideMaster", "slideMasters/slideMaster1.xml"),
            ("rId2", relationshipBase + "theme", "theme/theme1.xml"),
        ]
        var slideIDs = ""
        var slideParts: [(String, String)] = []
        for number in 1...slideCount {
            overrides.append(("/ppt/slides/slide\(number).xml", contentType + "slide+xml"))
            presentationRelationships.append(("rId\(number + 2)", relationshipBase + "slide", "slides/slide\(number).xml"))
            slideIDs += #"<p:sldId id="\#(255 + number)" r:id="rId\#(number + 2)"/>"#
            let paragraphs = (number <= pages.count ? lines(pages[number - 1]) : []).map {
                #"<a:p><a:r><a:rPr lang="en-US" sz="1200" dirty="0"/><a:t>\#(escape($0))</a:t></a:r></a:p>"#
            }
            let body = paragraphs.isEmpty ? "<a:p/>" : paragraphs.joined()
            slideParts.append(
                (
                    "ppt/slides/slide\(number).xml",
                    header + "<p:sld \(presentationNamespaces)><p:cSld><p:spTree>\(emptyGroup)"
                        + #"<p:sp><p:nvSpPr><p:cNvPr id="2" name="Page \#(number) text"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr>"#
                        + #"<p:spPr><a:xfrm><a:off x="457200" y="457200"/><a:ext cx="8229600" cy="5943600"/></a:xfrm>"#
                        + #"<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>"#
                        + #"<p:txBody><a:bodyPr wrap="square"><a:normAutofit/></a:bodyPr><a:lstStyle/>\#(body)</p:txBody></p:sp>"#
                        + "</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>"
                ))
            slideParts.append(
                (
                    "ppt/slides/_rels/slide\(number).xml.rels",
                    relationships([("rId1", relationshipBase + "slideLayout", "../slideLayouts/slideLayout1.xml")])
                ))
        }
        let presentation =
            header + #"<p:presentation \#(presentationNamespaces) saveSubsetFonts="1">"#
            + #"<p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst>"#
            + "<p:sldIdLst>\(slideIDs)</p:sldIdLst>"
            + #"<p:sldSz cx="9144000" cy="6858000" type="screen4x3"/><p:notesSz cx="6858000" cy="9144000"/>"#
            + "</p:presentation>"
        let master =
            header + "<p:sldMaster \(presentationNamespaces)><p:cSld><p:spTree>\(emptyGroup)</p:spTree></p:cSld>"
            + #"<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3" "#
            + #"accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" folHlink="folHlink"/>"#
            + #"<p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>"#
        let layout =
            header + #"<p:sldLayout \#(presentationNamespaces) type="blank" preserve="1">"#
            + #"<p:cSld name="Blank"><p:spTree>\#(emptyGroup)</p:spTree></p:cSld>"#
            + "<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>"
        try write(
            [
                ("[Content_Types].xml", contentTypes(overrides)),
                ("_rels/.rels", relationships([("rId1", officeDocumentRelationship, "ppt/presentation.xml")])),
                ("ppt/presentation.xml", presentation),
                ("ppt/_rels/presentation.xml.rels", relationships(presentationRelationships)),
                ("ppt/slideMasters/slideMaster1.xml", master),
                (
                    "ppt/slideMasters/_rels/slideMaster1.xml.rels",
                    relationships([
                        ("rId1", relationshipBase + "slideLayout", "../slideLayouts/slideLayout1.xml"),
                        ("rId2", relationshipBase + "theme", "../theme/theme1.xml"),
                    ])
                ),
                ("ppt/slideLayouts/slideLayout1.xml", layout),
                (
                    "ppt/slideLayouts/_rels/slideLayout1.xml.rels",
                    relationships([("rId1", relationshipBase + "slideMaster", "../slideMasters/slideMaster1.xml")])
                ),
                ("ppt/theme/theme1.xml", theme),
            ] + slideParts, to: url)
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
