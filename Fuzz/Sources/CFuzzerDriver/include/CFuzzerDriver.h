#ifndef KTOP_CFUZZERDRIVER_H
#define KTOP_CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, LLVM 12 and later). SwiftPM links an
// executable target's `main` to the Swift module's own entry point, so
// libFuzzer's `main` never runs; main.swift calls the driver instead.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
