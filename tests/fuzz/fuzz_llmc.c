/* fuzz_llmc: llm.c checkpoints (.bin, version 3) through gpt2_load on arbitrary bytes. A
 * model that loads has the properties of fuzz_model.h. */
#include <stdint.h>

#include "fuzz_model.h"
#include "fuzz_util.h"
#include "gpt2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    fuzz_write("model.bin", data, size, path, sizeof path);
    gpt2_model *m = NULL;
    gc_err e = {{0}};
    int rc = gpt2_load(&m, path, &e);
    fuzz_note("llmc", rc, e.msg);
    if (rc == 0) {
        fuzz_check_model(m);
        gpt2_free(m);
    } else {
        FUZZ_CHECK(e.msg[0] && !m, "gpt2_load failed without a message or left a model");
    }
    fuzz_remove("model.bin");
    return 0;
}
