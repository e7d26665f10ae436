#ifndef OCR_WORKER_CTESSERACT_SHIM_H
#define OCR_WORKER_CTESSERACT_SHIM_H
#include <tesseract/capi.h>
#include <leptonica/allheaders.h>
#endif
