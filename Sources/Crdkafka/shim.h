#ifndef OCR_WORKER_CRDKAFKA_SHIM_H
#define OCR_WORKER_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
