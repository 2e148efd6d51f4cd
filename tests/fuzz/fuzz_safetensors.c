/* fuzz_safetensors: Hugging Face checkpoints (config.json, then model.safetensors) through
 * gpt2_load of their folder. The input is config.json, a line "--8<--", then the bytes of
 * model.safetensors; without the line the whole input is config.json and the safetensors
 * file is empty. A model that loads has the properties of fuzz_model.h. */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_model.h"
#include "fuzz_util.h"
#include "gpt2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2] = {0, 0};
    int n = fuzz_split(data, size, 2, part, len);
    char cfg[4096], st[4096], dir[4096];
    fuzz_write("model/config.json", part[0], len[0], cfg, sizeof cfg);
    fuzz_write("model/model.safetensors", n > 1 ? part[1] : data, n > 1 ? len[1] : 0, st,
               sizeof st);
    snprintf(dir, sizeof dir, "%s/model", fuzz_dir());
    gpt2_model *m = NULL;
    gc_err e = {{0}};
    int rc = gpt2_load(&m, dir, &e);
    fuzz_note("safetensors", rc, e.msg);
    if (rc == 0) {
        fuzz_check_model(m);
        gpt2_free(m);
    } else {
        FUZZ_CHECK(e.msg[0] && !m, "gpt2_load failed without a message or left a model");
    }
    fuzz_remove("model/config.json");
    fuzz_remove("model/model.safetensors");
    fuzz_remove("model");
    return 0;
}
