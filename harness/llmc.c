/* llmc: loads llm.c's GPT-2 checkpoints (gpt2_124M.bin and friends, version 3).
 * Layout: a header of 256 int32 (magic 20240326, version 3, maxT, V, L, NH, C, Vp, zeros),
 * then the float32 parameters in llm.c's order, which is the order of gpt2_params
 * (wte (Vp,C), wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb,
 * fcprojw, fcprojb, lnfw, lnfb). llm.c uses the tanh GELU. No hardware tensors: the scalers
 * start at their defaults. Not here: version 5 (bf16) files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpt2_internal.h"

static const char *const llmc_names[16] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"};

/* The header's sizes must account for the file's length exactly, checked before anything is
 * allocated (a damaged header can ask for terabytes): names the tensor the file ends in. */
static int check_sizes(FILE *f, const gpt2_config *c, const char *path, gc_err *e)
{
    double C = c->n_embd, L = c->n_layer, n[16] = {
        (double)c->padded_vocab_size * C, (double)c->max_seq_len * C, L * C, L * C,
        L * 3 * C * C, L * 3 * C, L * C * C, L * C, L * C, L * C, L * 4 * C * C, L * 4 * C,
        L * 4 * C * C, L * C, C, C};
    if (c->n_embd < 1 || c->n_layer < 1 || c->padded_vocab_size < 1 || c->max_seq_len < 1)
        return gc_fail(e, "%s: the header's sizes must be positive (vocab %d, context %d, %d "
                          "layers of %d)", path, c->padded_vocab_size, c->max_seq_len,
                       c->n_layer, c->n_embd);
    struct stat st;
    if (fstat(fileno(f), &st))
        return gc_fail(e, "%s: cannot stat: %s", path, strerror(errno));
    double have = ((double)st.st_size - 1024) / sizeof(float), at = 0;
    for (int i = 0; i < 16; i++)
        if ((at += n[i]) > have)
            return gc_fail(e, "%s: truncated: tensor '%s' (%.0f floats) is incomplete", path,
                           llmc_names[i], n[i]);
    if (at < have)
        return gc_fail(e, "%s: trailing bytes after the last tensor 'lnfb' (wrong sizes in the "
                          "header?)", path);
    return 0;
}

int gpt2_load_llmc(gpt2_model **out, const char *path, gc_err *e)
{
    *out = NULL;
    FILE *f = gc_open_input(path, e);
    if (!f)
        return -1;
    int32_t h[256];
    if (fread(h, sizeof h[0], 256, f) != 256) {
        fclose(f);
        return gc_fail(e, "%s: truncated llm.c header (needs 1024 bytes)", path);
    }
    if (h[0] != 20240326) {
        fclose(f);
        return gc_fail(e, "%s: bad llm.c magic %d (expected 20240326)", path, h[0]);
    }
    if (h[1] != 3) {
        fclose(f);
        return gc_fail(e, "%s: llm.c version %d is not supported (float32 version 3 only)", path,
                       h[1]);
    }
    gpt2_config cfg = {.max_seq_len = h[2], .vocab_size = h[3], .n_layer = h[4],
                       .n_head = h[5], .n_embd = h[6], .padded_vocab_size = h[7],
                       .ln_eps = 1e-5f, .gelu = GPT2_GELU_TANH};
    if (check_sizes(f, &cfg, path, e)) {
        fclose(f);
        return -1;
    }
    gpt2_model *m;
    if (gpt2_alloc(&m, &cfg, e)) {
        fclose(f);
        return gc_wrap(e, "%s", path);
    }
    float *p = m->params_memory;
    for (int i = 0; i < 16; i++) {
        size_t n = m->param_sizes[i];
        if (fread(p, sizeof(float), n, f) != n) {
            fclose(f);
            gpt2_free(m);
            return gc_fail(e, "%s: truncated: tensor '%s' (%zu floats) is incomplete", path,
                           llmc_names[i], n);
        }
        for (size_t k = 0; k < n; k++)
            if (!isfinite(p[k]) || fabsf(p[k]) > GPT2_MAX_ABS_PARAM) {
                float v = p[k];
                fclose(f);
                gpt2_free(m);
                if (!isfinite(v))
                    return gc_fail(e, "%s: tensor '%s' holds a non-finite value at element %zu",
                                   path, llmc_names[i], k);
                return gc_fail(e, "%s: tensor '%s' element %zu is %g, outside the range +-%g of "
                               "a trained weight", path, llmc_names[i], k, v,
                               GPT2_MAX_ABS_PARAM);
            }
        p += n;
    }
    int extra = fgetc(f);
    fclose(f);
    if (extra != EOF) {
        gpt2_free(m);
        return gc_fail(e, "%s: trailing bytes after the last tensor 'lnfb' (wrong sizes in the "
                          "header?)", path);
    }
    *out = m;
    return 0;
}
