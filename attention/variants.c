/* The variant table: the only place that says what each attention variant is. Every caller
 * (the attention engines, the GPT-2 library, every command) goes through these rows. */
#include <stdio.h>
#include <string.h>

#include "attention.h"

const attn_variant_type attn_softmax = {
    "softmax", "GPT-2 causal softmax (digital reference; the window is ignored)",
    ATTN_ENGINE_SOFTMAX, 0, NULL, NULL};
const attn_variant_type attn_softmax_swa = {
    "softmax-swa", "softmax over the sliding window of M keys (digital)",
    ATTN_ENGINE_SOFTMAX, 1, NULL, NULL};
const attn_variant_type attn_paper_linear = {
    "paper-linear", "PAPER.md §3 with the linear cell g(y) = 19.3 y uA",
    ATTN_ENGINE_POLY, 1, cell_paper_g_linear_ua, NULL};
const attn_variant_type attn_paper_cubic = {
    "paper-cubic", "PAPER.md §3 with the cubic cell fitted to the authors' I-V curve",
    ATTN_ENGINE_POLY, 1, cell_paper_g_cubic_ua, NULL};
const attn_variant_type attn_calibrated = {
    "calibrated", "the data path through a behavioural cell model (--cell cell.h5)",
    ATTN_ENGINE_CELL, 1, NULL, NULL};

/* A test build adds rows that exist only there: the file it names defines them and
 * ATTN_TEST_VARIANT_ROWS (tests/meson.build). */
#ifdef ATTN_TEST_VARIANTS
#include ATTN_TEST_VARIANTS
#endif

static const attn_variant_type *const table[] = {
    &attn_softmax, &attn_softmax_swa, &attn_paper_linear, &attn_paper_cubic, &attn_calibrated,
#ifdef ATTN_TEST_VARIANT_ROWS
    ATTN_TEST_VARIANT_ROWS
#endif
};

int attn_variant_count(void) { return (int)(sizeof table / sizeof *table); }

const attn_variant_type *attn_variant_at(int i)
{
    return i >= 0 && i < attn_variant_count() ? table[i] : NULL;
}

void attn_variant_names(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < attn_variant_count() && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", table[i]->name);
}

int attn_variant_parse(const char *name, const attn_variant_type **out, gc_err *e)
{
    for (int i = 0; i < attn_variant_count(); i++)
        if (!strcmp(name, table[i]->name)) {
            *out = table[i];
            return 0;
        }
    char names[512];
    attn_variant_names(names, sizeof names);
    return gc_fail(e, "unknown attention variant '%s' (%s)", name, names);
}

int attn_variant_is_analog(const attn_variant_type *v)
{
    return v->engine != ATTN_ENGINE_SOFTMAX;
}
