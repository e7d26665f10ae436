public import Foundation

extension OOXMLWriter {
    static let presentationNamespaces =
        #"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" "#
        + #"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" "#
        + #"xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#
    static let emptyGroup =
        #"<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>"#
    /// Slides are 10 inches wide (in EMU, 914400 an inch); their height follows the first
    /// page, within PowerPoint's limits of 1 to 56 inches.
    static let slideWidth = 9_144_000
    static let slideHeightRange = 914_400...51_206_400

    public static func writePptx(pages: [PageLayout], to url: URL) throws {
        let slideCount = max(1, pages.count)
        let slideHeight: Int = {
            guard let first = pages.first, first.width > 0, first.height > 0 else { return 6_858_000 }
            let height = Double(slideWidth) * first.height / first.width
            return min(slideHeightRange.upperBound, max(slideHeightRange.lowerBound, Int(height)))
        }()
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
            let shapes = number <= pages.count ? pptxShapes(pages[number - 1], slideHeight: slideHeight) : ""
            slideParts.append(
                (
                    "ppt/slides/slide\(number).xml",
                    header + "<p:sld \(presentationNamespaces)><p:cSld><p:spTree>\(emptyGroup)\(shapes)"
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
            + #"<p:sldSz cx="\#(slideWidth)" cy="\#(slideHeight)"/><p:notesSz cx="6858000" cy="9144000"/>"#
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
        try writePackage(
            mainPart: "ppt/presentation.xml", overrides: overrides,
            parts: [
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

    /// Where a page box lands on the slide, in EMU.
    struct SlideFrame {
        var x: Int, y: Int, width: Int, height: Int
        var xml: String { #"<a:off x="\#(x)" y="\#(y)"/><a:ext cx="\#(width)" cy="\#(height)"/>"# }
    }

    /// The page's blocks as slide shapes: each run of paragraphs one text box, each table
    /// one table, placed and sized as on the page.
    static func pptxShapes(_ page: PageLayout, slideHeight: Int) -> String {
        guard page.width > 0, page.height > 0 else { return "" }
        let scaleX = Double(slideWidth) / page.width
        let scaleY = Double(slideHeight) / page.height
        func frame(_ box: PageLayout.Box) -> SlideFrame {
            let x = min(slideWidth - 1, max(0, Int(box.left * scaleX)))
            let y = min(slideHeight - 1, max(0, Int(box.top * scaleY)))
            return SlideFrame(
                x: x, y: y, width: max(1, min(slideWidth - x, Int(box.width * scaleX))),
                height: max(1, min(slideHeight - y, Int(box.height * scaleY))))
        }
        /// Points of type that fill a line `height` page units tall on the slide.
        func points(_ height: Double) -> Int { min(4000, max(600, Int(height * scaleY / 12700 * 0.75 * 100))) }
        var shapes = ""
        var id = 2
        var run: [PageLayout.Paragraph] = []
        func flushText() {
            guard let box = PageLayout.Box.union(run.map(\.box)) else { return }
            let paragraphs = run.map { paragraph in
                let lineHeight = LayoutAnalyzer.median(paragraph.lines.map(\.box.height)) ?? 0
                let bold = paragraph.role == .body ? "" : #" b="1""#
                return
                    #"<a:p><a:r><a:rPr lang="en-US" sz="\#(points(lineHeight))"\#(bold) dirty="0"/><a:t>\#(escape(paragraph.text))</a:t></a:r></a:p>"#
            }.joined()
            shapes +=
                #"<p:sp><p:nvSpPr><p:cNvPr id="\#(id)" name="Text \#(id)"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr>"#
                + #"<p:spPr><a:xfrm>\#(frame(box).xml)</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>"#
                + #"<p:txBody><a:bodyPr wrap="square" lIns="0" tIns="0" rIns="0" bIns="0"><a:normAutofit/></a:bodyPr><a:lstStyle/>\#(paragraphs)</p:txBody></p:sp>"#
            id += 1
            run = []
        }
        for block in page.blocks {
            switch block {
            case .paragraph(let paragraph):
                run.append(paragraph)
            case .table(let table):
                flushText()
                shapes += pptxTable(table, id: id, frame: frame(table.box), points: points)
                id += 1
            }
        }
        flushText()
        return shapes
    }

    static func pptxTable(_ table: PageLayout.Table, id: Int, frame: SlideFrame, points: (Double) -> Int) -> String {
        let count = max(1, table.columnCount)
        let widths = columnWidths(table, count: count, total: frame.width)
        let rowHeight = max(1, frame.height / max(1, table.rows.count))
        let size = points(table.box.height / Double(max(1, table.rows.count)) * 0.8)
        var xml =
            #"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="\#(id)" name="Table \#(id)"/>"#
            + #"<p:cNvGraphicFramePr><a:graphicFrameLocks noGrp="1"/></p:cNvGraphicFramePr><p:nvPr/></p:nvGraphicFramePr>"#
            + #"<p:xfrm><a:off x="\#(frame.x)" y="\#(frame.y)"/><a:ext cx="\#(frame.width)" cy="\#(frame.height)"/></p:xfrm>"#
            + #"<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/table"><a:tbl>"#
            + #"<a:tblPr firstRow="1"/><a:tblGrid>"# + widths.map { #"<a:gridCol w="\#($0)"/>"# }.joined() + "</a:tblGrid>"
        for row in table.rows {
            xml += #"<a:tr h="\#(rowHeight)">"#
            for column in 0..<count {
                let text = column < row.count ? row[column] : ""
                let run = text.isEmpty ? "" : #"<a:r><a:rPr lang="en-US" sz="\#(size)" dirty="0"/><a:t>\#(escape(text))</a:t></a:r>"#
                xml += "<a:tc><a:txBody><a:bodyPr/><a:lstStyle/><a:p>\(run)</a:p></a:txBody><a:tcPr/></a:tc>"
            }
            xml += "</a:tr>"
        }
        return xml + "</a:tbl></a:graphicData></a:graphic></p:graphicFrame>"
    }
}
