"""Recognition quality of ocr-server against the `tesseract` command on the same pages.

Pages are real documents Debian ships, none written by this project: manual pages (groff's
`man -Tpdf`), the GPL 3 set in two columns by groff -ms, the Apache 2.0 license laid out by
LibreOffice, and two tables of real data laid out by LibreOffice: the first entries of
/etc/services in a Word table with borders (python-docx), and the first rows of
/usr/share/zoneinfo/zone1970.tab in a spreadsheet without grid lines (openpyxl). The
ground truth of a page is the text of its PDF page in the order the PDF draws it
(`pdftotext -raw`: groff and LibreOffice draw column after column, and a table row by row,
cell by cell); of a table, the data written into it.

Each page is sent as five variants: upright (200 dpi PNG), turned 90 and 180 degrees,
phone-like (turned 3 degrees, blurred, lit unevenly, JPEG quality 70) and the born-digital
PDF page itself. ocr-server gets every variant as a txt task (language English), all at
once; the CLI runs `tesseract FILE - -l eng` (the PDF page rasterised by pdftoppm at 300
dpi first, as ocr-server would to recognise it) as many processes at a time as the server
has engines, each with OMP_THREAD_LIMIT=1. The table pages and two prose pages also go
to ocr-server as docx, xlsx and pptx, read back with python-docx, openpyxl and
python-pptx.

Prints, per variant, the character error rate of both (edit distance over the truth's
characters, whitespace collapsed), the reading order score of both (of the truth's lines
found in the output, the fraction of neighbours that come in the truth's order), pages/s
on the born-digital pages, table-cell accuracy (non-empty truth cells found in the right
row and column) from each office format, and what the office files hold (paragraphs,
lines per paragraph, tables on prose pages). Not a test.
"""
import argparse
import concurrent.futures
import io
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata

import docx
import openpyxl
import pptx
import requests
from PIL import Image, ImageChops, ImageFilter
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

VARIANTS = ["upright", "rot90", "rot180", "phone", "born-digital"]


def run(command, **kwargs):
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, **kwargs).stdout


# --- The documents --------------------------------------------------------------------

def services_rows(count):
    rows = []
    for line in open("/etc/services", encoding="utf-8"):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        line, _, comment = line.partition("#")
        fields = line.split()
        port, protocol = fields[1].split("/")
        rows.append([fields[0], port, protocol, " ".join(fields[2:]), comment.strip()])
        if len(rows) == count:
            return rows
    return rows


def zone_rows(count):
    rows = []
    for line in open("/usr/share/zoneinfo/zone1970.tab", encoding="utf-8"):
        if line.startswith("#"):
            continue
        fields = (line.rstrip("\n").split("\t") + ["", ""])[:4]
        rows.append(fields)
        if len(rows) == count:
            return rows
    return rows


def soffice(source, out_dir, work):
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{work}/lo-profile",
         "--convert-to", "pdf", "--outdir", out_dir, source],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
        env=dict(os.environ, HOME=os.path.join(work, "lo-home")))


def make_documents(work):
    """Writes the PDFs; returns {name: (pdf, [page numbers], table cells or None)}."""
    docs = os.path.join(work, "docs")
    os.makedirs(docs)
    documents = {}
    for name, pages in (("tar", [3]), ("find", [6]), ("bash", [4])):
        path = os.path.join(docs, name + ".pdf")
        with open(path, "wb") as out:
            subprocess.run(["man", "-Tpdf", name], stdout=out, stderr=subprocess.DEVNULL, check=True)
        documents[name] = (path, pages, None)
    # The GPL 3 in two columns, each of its paragraphs an -ms paragraph.
    paragraphs = open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read().split("\n\n")
    source = ".nr PS 10\n.nr VS 12\n.2C\n" + "".join(
        ".PP\n" + re.sub(r"^\.", r"\\&.", " ".join(p.split())) + "\n" for p in paragraphs if p.strip())
    path = os.path.join(docs, "gpl-2col.pdf")
    with open(path, "wb") as out:
        subprocess.run(["groff", "-ms", "-Tpdf"], input=source.encode(), stdout=out, stderr=subprocess.DEVNULL,
                       check=True)
    documents["gpl-2col"] = (path, [1, 3], None)
    shutil.copy("/usr/share/common-licenses/Apache-2.0", os.path.join(docs, "apache.txt"))
    soffice(os.path.join(docs, "apache.txt"), docs, work)
    documents["apache"] = (os.path.join(docs, "apache.pdf"), [1], None)

    services = [["Service", "Port", "Protocol", "Aliases", "Comment"]] + services_rows(30)
    document = docx.Document()
    document.add_heading("Network services", 1)
    document.add_paragraph("The first entries of the services table that Debian ships in /etc/services: "
                           "the service name, its port and protocol, aliases and a comment.")
    table = document.add_table(rows=0, cols=5)
    table.style = "Table Grid"
    for row in services:
        for cell, value in zip(table.add_row().cells, row):
            cell.text = value
    document.save(os.path.join(docs, "services.docx"))
    soffice(os.path.join(docs, "services.docx"), docs, work)
    documents["services"] = (os.path.join(docs, "services.pdf"), [1], services)

    zones = [["Codes", "Coordinates", "TZ", "Comments"]] + zone_rows(30)
    book = openpyxl.Workbook()
    sheet = book.active
    for row in zones:
        sheet.append(row)
    for column, width in zip("ABCD", [18, 18, 32, 40]):
        sheet.column_dimensions[column].width = width
    # Landscape, one page wide: every column on the page.
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    book.save(os.path.join(docs, "zones.xlsx"))
    soffice(os.path.join(docs, "zones.xlsx"), docs, work)
    documents["zones"] = (os.path.join(docs, "zones.pdf"), [1], zones)
    return documents


def phone_like(image):
    """Turned 3 degrees, blurred, lit from one corner, as a phone photo of a page."""
    grey = image.convert("L").rotate(3, expand=True, fillcolor=255, resample=Image.BICUBIC)
    grey = grey.filter(ImageFilter.GaussianBlur(1.0))
    size = grey.size
    # Light falling off from the top left corner (100 %) to the bottom right (about 60 %).
    vertical = Image.linear_gradient("L").resize(size)
    horizontal = Image.linear_gradient("L").rotate(90).transpose(Image.FLIP_LEFT_RIGHT).resize(size)
    falloff = ImageChops.add(vertical, horizontal, scale=2)
    shade = falloff.point(lambda v: 255 - v * 100 // 255)
    lit = ImageChops.multiply(grey, shade)
    out = io.BytesIO()
    lit.save(out, "JPEG", quality=70)
    return out.getvalue()


def make_pages(documents, work):
    """Writes every variant of every page; returns a list of page records."""
    pages_dir = os.path.join(work, "pages")
    os.makedirs(pages_dir)
    pages = []
    for name, (pdf, numbers, table) in documents.items():
        for number in numbers:
            page = f"{name}-p{number}"
            base = os.path.join(pages_dir, page)
            truth = run(["pdftotext", "-raw", "-f", str(number), "-l", str(number), pdf, "-"]).decode()
            run(["pdftoppm", "-r", "200", "-png", "-f", str(number), "-l", str(number), "-singlefile", pdf, base])
            upright = Image.open(base + ".png")
            files = {"upright": base + ".png"}
            upright.rotate(90, expand=True).save(base + "-rot90.png")
            files["rot90"] = base + "-rot90.png"
            upright.rotate(180, expand=True).save(base + "-rot180.png")
            files["rot180"] = base + "-rot180.png"
            with open(base + "-phone.jpg", "wb") as out:
                out.write(phone_like(upright))
            files["phone"] = base + "-phone.jpg"
            run(["pdfseparate", "-f", str(number), "-l", str(number), pdf, base + "-born-digital.pdf"])
            files["born-digital"] = base + "-born-digital.pdf"
            pages.append({"name": page, "truth": truth, "files": files, "table": table})
    return pages


# --- ocr-server and the CLI -----------------------------------------------------------

class Server:
    def __init__(self, binary, work):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # As the README starts it: a key, a data directory, no OpenMP variables.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
        env["OCR_SERVER_API_KEYS"] = "bench-key"
        self.log = os.path.join(work, "ocr-server.log")
        self.process = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", os.path.join(work, "data")],
            env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = requests.Session()
        self.session.headers["X-API-KEY"] = "bench-key"
        deadline = time.monotonic() + 120
        while True:
            try:
                stats = self.session.get(self.base + "/stats", timeout=1)
                if stats.ok:
                    self.workers = stats.json()["workers"]
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                sys.exit("ocr-server did not start:\n" + open(self.log).read()[-2000:])
            time.sleep(0.2)

    def run(self, jobs):
        """jobs: [(file, format)]; all submitted at once; returns ([bytes], seconds)."""
        start = time.monotonic()
        ids = []
        for path, fmt in jobs:
            with open(path, "rb") as f:
                reply = self.session.post(self.base + "/api/tasks/document/ocr",
                                          data={"format": fmt, "language": "English"}, files={"image_file": f})
            reply.raise_for_status()
            ids.append(reply.json()["data"]["task_id"])
        pending, links = set(ids), {}
        deadline = time.monotonic() + 3600
        while pending:
            for task_id in list(pending):
                data = self.session.get(f"{self.base}/api/tasks/document/ocr/{task_id}").json()["data"]
                if data["state"] == 1:
                    pending.discard(task_id)
                    links[task_id] = data["file"]
                elif data["state"] < 0:
                    sys.exit(f"task failed: {data}")
            if time.monotonic() > deadline:
                sys.exit("ocr-server did not finish in time")
            time.sleep(0.5)
        seconds = time.monotonic() - start
        return [self.session.get(links[i]).content for i in ids], seconds

    def cpu(self):
        """CPU seconds (user + system) the server process has used so far."""
        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


CLI_ENV = dict(os.environ, OMP_THREAD_LIMIT="1")


def cli(path):
    if path.endswith(".pdf"):
        raster = run(["pdftoppm", "-r", "300", "-png", "-singlefile", path])
        return run(["tesseract", "-", "-", "-l", "eng"], input=raster, env=CLI_ENV).decode()
    return run(["tesseract", path, "-", "-l", "eng"], env=CLI_ENV).decode()


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_run(paths, workers):
    """The CLI on `paths`, `workers` at a time: texts, seconds, CPU seconds."""
    start, cpu = time.monotonic(), children_cpu()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        texts = list(pool.map(cli, paths))
    return texts, time.monotonic() - start, children_cpu() - cpu


# --- Scores ---------------------------------------------------------------------------

def normalize(text):
    text = unicodedata.normalize("NFKC", text)
    for a, b in (("\u2010", "-"), ("\u2011", "-"), ("\u2012", "-"), ("\u2013", "-"), ("\u2014", "-"),
                 ("\u2212", "-"), ("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'),
                 ("\u00ad", ""), ("\x0c", " ")):
        text = text.replace(a, b)
    return re.sub(r"\s+", " ", text).strip()


def cer(pairs):
    """pairs: [(truth, text)] -> errors over truth characters."""
    errors = total = 0
    for truth, text in pairs:
        reference = normalize(truth)
        errors += Levenshtein.distance(reference, normalize(text))
        total += len(reference)
    return errors / max(1, total)


def reading_order(pairs):
    """Of the truth's lines (20 characters or more) found in the output, the fraction of
    neighbouring pairs that come in the truth's order."""
    good = total = 0
    for truth, text in pairs:
        hypothesis = normalize(text)
        positions = []
        for line in truth.splitlines():
            line = normalize(line)
            if len(line) < 20:
                continue
            found = fuzz.partial_ratio_alignment(line, hypothesis, score_cutoff=80)
            if found is not None:
                positions.append(found.dest_start)
        for a, b in zip(positions, positions[1:]):
            total += 1
            good += a <= b
    return good / max(1, total)


def cell(text):
    return normalize(str(text if text is not None else "")).casefold()


def table_accuracy(truth, rows):
    """Non-empty truth cells found in the right column of the row aligned with theirs
    (rows aligned in order, maximising matching cells)."""
    truth = [[cell(c) for c in row] for row in truth]
    rows = [[cell(c) for c in row] for row in rows]
    def score(a, b):
        return sum(1 for x, y in zip(a, b) if x and x == y)
    best = [[0] * (len(rows) + 1) for _ in range(len(truth) + 1)]
    for i in range(1, len(truth) + 1):
        for j in range(1, len(rows) + 1):
            best[i][j] = max(best[i - 1][j], best[i][j - 1], best[i - 1][j - 1] + score(truth[i - 1], rows[j - 1]))
    cells = sum(1 for row in truth for c in row if c)
    return best[len(truth)][len(rows)] / max(1, cells)


def docx_contents(data):
    document = docx.Document(io.BytesIO(data))
    paragraphs = [p.text for p in document.paragraphs if p.text.strip()]
    tables = [[[c.text for c in r.cells] for r in t.rows] for t in document.tables]
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    return paragraphs, tables, headings


def xlsx_rows(data):
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    return [[c.value for c in row] for row in sheet.iter_rows()]


def pptx_tables(data):
    slide = pptx.Presentation(io.BytesIO(data)).slides[0]
    return [[[c.text for c in r.cells] for r in s.table.rows] for s in slide.shapes if s.has_table]


# --- The run --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the ocr-server binary")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-ocr-quality-")
    try:
        documents = make_documents(work)
        pages = make_pages(documents, work)
        server = Server(args.bin, work)
        try:
            report(pages, server)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(pages, server):
    workers = server.workers
    print(f"pages: {', '.join(p['name'] for p in pages)}; {workers} engines / {workers} CLI processes, English")
    # Every engine loads its models before the clock starts (the CLI loads them per page,
    # which is part of what it costs).
    server.run([(pages[0]["files"]["upright"], "txt")] * workers)
    results = {}
    for variant in VARIANTS:
        paths = [p["files"][variant] for p in pages]
        cpu = server.cpu()
        texts, seconds = server.run([(path, "txt") for path in paths])
        server_cpu = server.cpu() - cpu
        server_texts = [t.decode() for t in texts]
        cli_texts, cli_seconds, cli_cpu = cli_run(paths, workers)
        results[variant] = (server_texts, seconds, cli_texts, cli_seconds, server_cpu, cli_cpu)

    print()
    print(f"{'variant':<14}{'CER server':>11}{'CER CLI':>9}{'order server':>14}{'order CLI':>11}{'pages/s server':>16}"
          f"{'pages/s CLI':>13}{'CPU s/page server':>19}{'CPU s/page CLI':>16}")
    for variant in VARIANTS:
        server_texts, seconds, cli_texts, cli_seconds, server_cpu, cli_cpu = results[variant]
        server_pairs = [(p["truth"], t) for p, t in zip(pages, server_texts)]
        cli_pairs = [(p["truth"], t) for p, t in zip(pages, cli_texts)]
        print(f"{variant:<14}{cer(server_pairs):>11.4f}{cer(cli_pairs):>9.4f}{reading_order(server_pairs):>14.3f}"
              f"{reading_order(cli_pairs):>11.3f}{len(pages) / seconds:>16.3f}{len(pages) / cli_seconds:>13.3f}"
              f"{server_cpu / len(pages):>19.2f}{cli_cpu / len(pages):>16.2f}")
    print("(pages/s: all pages of a variant submitted at once; the CLI's born-digital time includes pdftoppm at 300 dpi;\n"
          " CPU: user + system of the server process, of the CLI's processes; less sensitive to other load than pages/s)")
    print()
    print("CER per page (server / CLI):")
    for index, page in enumerate(pages):
        cells = []
        for variant in VARIANTS:
            server_texts, _, cli_texts, _, _, _ = results[variant]
            cells.append(f"{variant} {cer([(page['truth'], server_texts[index])]):.3f}/"
                         f"{cer([(page['truth'], cli_texts[index])]):.3f}")
        print(f"  {page['name']:<14}" + "  ".join(cells))

    # Office formats: tables and paragraphs.
    office_pages = [p for p in pages if p["table"] is not None] + [
        p for p in pages if p["name"] in ("gpl-2col-p1", "tar-p3")]
    jobs = [(p["files"][variant], fmt) for p in office_pages for variant in ("upright", "born-digital")
            for fmt in ("docx", "xlsx", "pptx")]
    outputs, _ = server.run(jobs)
    print()
    print("office outputs (upright image / born-digital PDF):")
    index = 0
    for page in office_pages:
        for variant in ("upright", "born-digital"):
            docx_data, xlsx_data, pptx_data = outputs[index:index + 3]
            index += 3
            paragraphs, tables, headings = docx_contents(docx_data)
            lines = sum(1 for line in results[variant][0][pages.index(page)].splitlines() if line.strip())
            if page["table"] is not None:
                truth = page["table"]
                rows = xlsx_rows(xlsx_data)
                numbers = sum(1 for row in rows for c in row if isinstance(c, (int, float)))
                expected_numbers = sum(1 for row in truth[1:] for c in row if re.fullmatch(r"[1-9][0-9]*|0", c))
                docx_rows = [r for t in tables for r in t]
                pptx_rows = [r for t in pptx_tables(pptx_data) for r in t]
                print(f"  {page['name']:<12} {variant:<13} table cells: docx {table_accuracy(truth, docx_rows):.3f}, "
                      f"xlsx {table_accuracy(truth, rows):.3f}, pptx {table_accuracy(truth, pptx_rows):.3f}; "
                      f"docx tables {len(tables)} ({len(docx_rows)} rows for {len(truth)}); "
                      f"xlsx numbers {numbers} (truth {expected_numbers}); headings {headings}")
            else:
                print(f"  {page['name']:<12} {variant:<13} docx paragraphs {len(paragraphs)} for {lines} text lines "
                      f"({lines / max(1, len(paragraphs)):.1f} lines each), tables {len(tables)}, "
                      f"pptx tables {len(pptx_tables(pptx_data))}, headings {len(headings)}")


if __name__ == "__main__":
    main()
