// Placeholder until ocr-server lands (issue 4).
