// Placeholder until the Tesseract engine lands (issue 4).
