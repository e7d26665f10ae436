print("ocr-server: not built yet (issue 4)")
