// Placeholder; the librdkafka wrapper lands with issue 2.
