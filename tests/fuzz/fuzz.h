/*
 * fuzz.h - what every libFuzzer target in tests/fuzz/ shares: the two
 * entry points libFuzzer calls (declared here, as -Wmissing-prototypes
 * wants), and FUZZ_INIT_QUIET, the whole LLVMFuzzerInitialize of a
 * target that needs no setup beyond a quiet log (a parser's warnings on
 * hostile input are expected, not news). Targets with more setup write
 * their own and call log_set_level(LOG_ERROR) first.
 */
#ifndef NEWSROOM_FUZZ_H
#define NEWSROOM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INIT_QUIET                                                        \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                          \
    {                                                                          \
        (void)argc;                                                            \
        (void)argv;                                                            \
        log_set_level(LOG_ERROR);                                              \
        return 0;                                                              \
    }

#endif
