/* fuzz_tech: technology files (spice_tech_load) on arbitrary bytes. The input is written as
 * tech/fuzz.tech in the harness's folder, beside models/si40lp.lib and models/igzo.lib (empty
 * stand-ins, so the shipped files' "model_card ../models/..." lines resolve); cell templates
 * are looked up in the source tree's spice/netlists. A technology that loads has a name, a
 * cell, 1..SPICE_MAX_CARDS cards, at most SPICE_MAX_DEVICES devices and SPICE_MAX_PARAMS
 * parameters, every string NUL-terminated, every value finite, and passes spice_tech_check. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "spice.h"

#ifndef GCSIM_SOURCE_ROOT
#error "GCSIM_SOURCE_ROOT (the source tree, for spice/netlists) must be defined"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(s) (memchr((s), 0, sizeof(s)) != NULL)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char path[4096];
    fuzz_write("models/si40lp.lib", "", 0, path, sizeof path);
    fuzz_write("models/igzo.lib", "", 0, path, sizeof path);
    return 0;
}

static void check_tech(const spice_tech *t)
{
    FUZZ_CHECK(TERMINATED(t->name) && t->name[0], "no name");
    FUZZ_CHECK(TERMINATED(t->cell) && t->cell[0], "no cell");
    FUZZ_CHECK(TERMINATED(t->path) && TERMINATED(t->netlist_dir), "path not terminated");
    FUZZ_CHECK(t->n_cards >= 1 && t->n_cards <= SPICE_MAX_CARDS, "%d cards", t->n_cards);
    for (int i = 0; i < t->n_cards; i++)
        FUZZ_CHECK(TERMINATED(t->cards[i]) && t->cards[i][0], "card %d", i);
    FUZZ_CHECK(t->n_devices >= 0 && t->n_devices <= SPICE_MAX_DEVICES, "%d devices",
               t->n_devices);
    for (int i = 0; i < t->n_devices; i++)
        FUZZ_CHECK(TERMINATED(t->devices[i].role) && TERMINATED(t->devices[i].model),
                   "device %d", i);
    FUZZ_CHECK(t->n_params >= 0 && t->n_params <= SPICE_MAX_PARAMS, "%d params", t->n_params);
    for (int i = 0; i < t->n_params; i++) {
        const spice_param *p = &t->params[i];
        FUZZ_CHECK(TERMINATED(p->name) && TERMINATED(p->unit) && TERMINATED(p->description),
                   "param %d", i);
        FUZZ_CHECK(isfinite(p->value), "param %s = %g", p->name, p->value);
        FUZZ_CHECK(spice_tech_get(t, p->name) == p->value, "param %s is not found by name "
                   "(defined twice?)", p->name);
    }
    gc_err e = {{0}};
    FUZZ_CHECK(!spice_tech_check(t, &e), "a loaded technology fails its check: %s", e.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    fuzz_write("tech/fuzz.tech", data, size, path, sizeof path);
    static spice_tech t; /* 60 kB: not on the stack */
    gc_err e = {{0}};
    int rc = spice_tech_load(path, GCSIM_SOURCE_ROOT, &t, &e);
    fuzz_note("tech", rc, e.msg);
    if (rc == 0)
        check_tech(&t);
    else
        FUZZ_CHECK(e.msg[0], "spice_tech_load failed without a message");
    fuzz_remove("tech/fuzz.tech");
    return 0;
}
