"""Writes the office test documents: make_office.py KIND PATH [URL].

KIND is docx, xlsx or pptx (text in a large font, so any rendering reads back), or
linked-docx: a docx whose only picture is an external link to URL, which LibreOffice
fetches when it lays the page out unless it has no network.
"""
import io
import sys

kind, path = sys.argv[1], sys.argv[2]
LINES = ["Quarterly report for the harbour office", "Seventeen vessels arrived before noon"]

if kind == "docx":
    from docx import Document
    from docx.shared import Pt
    document = Document()
    for line in LINES:
        run = document.add_paragraph().add_run(line)
        run.font.size = Pt(20)
    document.save(path)
elif kind == "xlsx":
    from openpyxl import Workbook
    from openpyxl.styles import Font
    workbook = Workbook()
    sheet = workbook.active
    for row, line in enumerate(LINES, start=1):
        sheet.cell(row=row, column=1, value=line).font = Font(size=14)
    # Wide enough for the line, narrow enough for one printed page.
    sheet.column_dimensions["A"].width = 60
    workbook.save(path)
elif kind == "pptx":
    from pptx import Presentation
    from pptx.util import Pt
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = LINES[0]
    body = slide.placeholders[1].text_frame
    body.text = LINES[1]
    for paragraph in [p for shape in slide.shapes if shape.has_text_frame for p in shape.text_frame.paragraphs]:
        for run in paragraph.runs:
            run.font.size = Pt(28)
    presentation.save(path)
elif kind == "linked-docx":
    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.shared import Inches, Pt
    from PIL import Image
    url = sys.argv[3]
    document = Document()
    document.add_paragraph().add_run(LINES[0]).font.size = Pt(20)
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, "PNG")
    buffer.seek(0)
    picture = document.add_picture(buffer, width=Inches(1))
    rid = document.part.relate_to(url, RT.IMAGE, is_external=True)
    blip = picture._inline.graphic.graphicData.pic.blipFill.blip
    ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    del blip.attrib["{%s}embed" % ns]
    blip.set("{%s}link" % ns, rid)
    document.save(path)
else:
    sys.exit(f"unknown kind {kind}")
