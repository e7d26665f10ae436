print("ocr-worker: not built yet (issue 5)")
