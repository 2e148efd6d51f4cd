/* Sweep plans: how finely each sweep samples. Defaults meet the resolutions the curves.h5
 * format promises; a plan file ("key value" lines, # comments) can change any of them. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spice.h"

/* read_levels and write_levels are the paper's 16 pulse and 8 DAC levels (PAPER.md §2, named
 * CELL_PAPER_Q_LEVELS and CELL_PAPER_K_LEVELS in cellmodel, which spice does not depend on):
 * the fitted cell takes its quantiser levels from these sweeps. */
void spice_plan_default(spice_plan *p)
{
    *p = (spice_plan){
        .read_dc_nv = 64, .read_dc_nvin = 32, .read_nv = 64, .read_levels = 16,
        .leak_dc_n = 181, .leak_n0 = 10, .leak_tau_mult = 7, .leak_points = 400,
        .write_levels = 8, .c2p_n = 24, .readout_n = 24, .jobs_per_sweep = 4,
    };
}

typedef struct {
    const char *key;
    size_t offset;
    int is_double;
    double min, max;
} plan_key;

#define INT_KEY(k, lo, hi) {#k, offsetof(spice_plan, k), 0, lo, hi}
static const plan_key keys[] = {
    INT_KEY(read_dc_nv, 2, 1000), INT_KEY(read_dc_nvin, 2, 1000), INT_KEY(read_nv, 2, 256),
    INT_KEY(read_levels, 2, 256), INT_KEY(leak_dc_n, 3, 10000), INT_KEY(leak_n0, 2, 64),
    {"leak_tau_mult", offsetof(spice_plan, leak_tau_mult), 1, 1, 100},
    INT_KEY(leak_points, 2, 100000), INT_KEY(write_levels, 2, 64), INT_KEY(c2p_n, 2, 256),
    INT_KEY(readout_n, 2, 256), INT_KEY(jobs_per_sweep, 1, 64),
};

int spice_plan_load(const char *path, spice_plan *p, gc_err *e)
{
    FILE *f = gc_open_input(path, e);
    if (!f)
        return gc_wrap(e, "sweep plan");
    char buf[512];
    int line = 0, rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char key[64], value[64], extra[8];
        int n = sscanf(buf, "%63s %63s %7s", key, value, extra);
        if (n <= 0)
            continue;
        if (n != 2) {
            rc = gc_fail(e, "%s:%d: expected 'key value'", path, line);
            break;
        }
        const plan_key *k = NULL;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (!strcmp(keys[i].key, key))
                k = &keys[i];
        double v = 0;
        if (!k)
            rc = gc_fail(e, "%s:%d: unknown key '%s'", path, line, key);
        else if (gc_parse_double(value, key, k->min, k->max, 0, 0, &v, NULL) ||
                 (!k->is_double && v != (int)v))
            rc = gc_fail(e, "%s:%d: %s must be a%s number in [%g, %g]", path, line, key,
                         k->is_double ? "" : "n integer", k->min, k->max);
        else if (k->is_double)
            *(double *)((char *)p + k->offset) = v;
        else
            *(int *)((char *)p + k->offset) = (int)v;
    }
    fclose(f);
    return rc;
}
