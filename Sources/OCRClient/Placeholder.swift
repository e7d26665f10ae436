// Placeholder until the OCR client lands (issue 3).
