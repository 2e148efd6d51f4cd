/* Answers queries on a cell model's cost side, one per line on stdin, for the tests:
 *   read PULSE_FRAC V_STORE | c2p CHARGE | readout CHARGE | write PREV NEW | idle | simulated
 *   | has_energy
 *   | params (every parameter: name, value, simulated, unit, source; tab-separated)
 * Prints one line per query (numbers with 17 digits). Argument: a cell.h5 or a preset name.
 * A model that fails to load prints the loader's one-line error and exits with status 1. */
#include <stdio.h>
#include <string.h>

#include "cellmodel.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cell_cost_query CELL.h5|PRESET < queries\n");
        return 2;
    }
    cell_model *m;
    gc_err e;
    int rc = strstr(argv[1], ".h5") ? cell_model_load(argv[1], &m, &e)
                                    : cell_model_preset(argv[1], &m, &e);
    if (rc) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    char line[256], what[32];
    double a, b;
    while (fgets(line, sizeof line, stdin)) {
        int n = sscanf(line, "%31s %lf %lf", what, &a, &b);
        if (n < 1)
            continue;
        if (!strcmp(what, "read") && n == 3)
            printf("%.17g\n", cell_read_energy_j(m, a, b));
        else if (!strcmp(what, "c2p") && n == 2)
            printf("%.17g\n", cell_c2p_energy_j(m, a));
        else if (!strcmp(what, "readout") && n == 2)
            printf("%.17g\n", cell_readout_energy_j(m, a));
        else if (!strcmp(what, "write") && n == 3)
            printf("%.17g\n", cell_write_energy_j(m, (int)a, (int)b));
        else if (!strcmp(what, "idle"))
            printf("%.17g\n", cell_idle_power_w(m));
        else if (!strcmp(what, "simulated"))
            printf("%d\n", cell_energy_is_simulated(m));
        else if (!strcmp(what, "has_energy"))
            printf("%d\n", cell_has_energy(m));
        else if (!strcmp(what, "params")) {
            const cell_cost_param *p;
            int np = cell_cost_params(m, &p);
            for (int i = 0; i < np; i++)
                printf("%s\t%.17g\t%d\t%s\t%s\n", p[i].name, p[i].value, p[i].simulated,
                       p[i].unit, p[i].source);
            printf("end\n");
        } else {
            fprintf(stderr, "bad query: %s", line);
            cell_model_free(m);
            return 2;
        }
    }
    cell_model_free(m);
    return 0;
}
