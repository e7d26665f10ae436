// Placeholder until the OCR task API contract lands (issue 3).
