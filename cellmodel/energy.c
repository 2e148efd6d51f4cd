/* The cell model's cost side: energy per operation from the cell file's SPICE tables (or its
 * per-operation means where it holds no table), and the named parameters (phase durations,
 * declared bias powers, DAC, digital, areas) that the cost accounting multiplies by counted
 * activity. Presets carry the paper's figures (PAPER.md §2), marked declared.
 *
 * Cell-file schema read here (both groups optional; SI units):
 *   /energy  read_per_cell, write, c2p_conversion, readout_conversion (1 value each, J: the
 *            means over the sweeps); optional tables: read_supply (n_q, n_v) J over /read's
 *            pulse_frac and v_store; c2p_charge with c2p_energy (n) and readout_charge with
 *            readout_energy (n), J vs C; write_energy (n_k, n_k) J over [previous][new]
 *            level; idle_power_cell (1) W
 *   /cost    one 1-value dataset per parameter, attributes units, description (its source)
 *            and simulated (1: measured by our SPICE runs, 0: declared) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cell_internal.h"

#define COST_MAX_J 1e-3        /* J, the largest energy of one operation a file may hold */
#define COST_MAX_W 1.0         /* W, one idle cell */
#define COST_MAX_PARAMS 128

/* ---------------------------------------------------------------------------------------- */
/* Evaluation */

static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

double cell_read_energy_j(const cell_model *m, double pulse_frac, double v_store)
{
    double p = clamp01(pulse_frac);
    if (m->analytic)
        return m->e_read_full_j; /* the paper's figure is per read, whatever the data */
    if (!m->e_read_rows)
        return p * m->e_read_full_j; /* mean at full pulse, scaled with the conduction time */
    /* as the charge: linear in the pulse between tabulated levels, monotone cubic in v */
    return cell_pulse_rows_eval(m, m->e_read_rows, p, v_store);
}

double cell_c2p_energy_j(const cell_model *m, double charge_c)
{
    return m->e_c2p.n ? cell_curve_eval(&m->e_c2p, charge_c) : m->e_c2p_j;
}

double cell_readout_energy_j(const cell_model *m, double charge_c)
{
    return m->e_readout.n ? cell_curve_eval(&m->e_readout, charge_c) : m->e_readout_j;
}

double cell_write_energy_j(const cell_model *m, int level_prev, int level_new)
{
    if (!m->e_write_tab)
        return m->e_write_j;
    int k = m->k_levels;
    level_prev = level_prev < 0 ? 0 : level_prev >= k ? k - 1 : level_prev;
    level_new = level_new < 0 ? 0 : level_new >= k ? k - 1 : level_new;
    return m->e_write_tab[(size_t)level_prev * k + level_new];
}

double cell_idle_power_w(const cell_model *m) { return m->p_idle_w; }

int cell_energy_is_simulated(const cell_model *m) { return m->energy_simulated; }

int cell_has_energy(const cell_model *m) { return m->has_energy; }

int cell_cost_params(const cell_model *m, const cell_cost_param **out)
{
    *out = m->params;
    return m->n_params;
}

const cell_cost_param *cell_cost_param_find(const cell_model *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name))
            return &m->params[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Building the parameter list */

/* Appends (or replaces) a parameter; strings are copied. -1 if out of memory or full. */
static int param_add(cell_model *m, const char *name, const char *unit, const char *source,
                     double value, int simulated)
{
    cell_cost_param *p = (cell_cost_param *)cell_cost_param_find(m, name);
    if (!p) {
        if (m->n_params >= COST_MAX_PARAMS)
            return -1;
        if (!m->params && !(m->params = calloc(COST_MAX_PARAMS, sizeof *m->params)))
            return -1;
        p = &m->params[m->n_params];
        if (!(p->name = strdup(name)))
            return -1;
        m->n_params++;
    } else {
        free((char *)p->unit);
        free((char *)p->source);
    }
    p->unit = strdup(unit);
    p->source = strdup(source);
    p->value = value;
    p->simulated = simulated;
    return p->unit && p->source ? 0 : -1;
}

void cell_cost_free(cell_model *m)
{
    for (int i = 0; i < m->n_params; i++) {
        free((char *)m->params[i].name);
        free((char *)m->params[i].unit);
        free((char *)m->params[i].source);
    }
    free(m->params);
    if (m->e_read_rows)
        for (int i = 0; i < m->n_p; i++)
            cell_curve_free(&m->e_read_rows[i]);
    free(m->e_read_rows);
    cell_curve_free(&m->e_c2p);
    cell_curve_free(&m->e_readout);
    free(m->e_write_tab);
}

/* ---------------------------------------------------------------------------------------- */
/* Presets: PAPER.md §2 per token and head, over the operations of one token and head */

#define PAPER_E_ARRAY1_J 1120e-12   /* array 1 + charge-to-pulse (PAPER.md §2) */
#define PAPER_E_ARRAY2_J 700e-12    /* array 2 (PAPER.md §2) */
#define PAPER_E_DAC_J 330e-12       /* DACs (PAPER.md §2) */
#define PAPER_E_DIGITAL_J 4e-9      /* digital control (PAPER.md §2) */
#define PAPER_WINDOW 1024           /* M (PAPER.md §2) */
#define PAPER_HEAD_DIM 64           /* d (PAPER.md §2) */
#define PAPER_AREA_CELL_M2 1e-12    /* about 1 µm² (PAPER.md §2) */

int cell_cost_preset(cell_model *m, gc_err *e)
{
    double reads = (double)PAPER_WINDOW * PAPER_HEAD_DIM; /* per array, per token and head */
    m->energy_simulated = 0;
    m->has_energy = 1;
    m->e_read_full_j = PAPER_E_ARRAY2_J / reads;
    m->e_c2p_j = (PAPER_E_ARRAY1_J - reads * m->e_read_full_j) / PAPER_WINDOW;
    m->e_readout_j = 0;
    m->e_write_j = 0;
    m->p_idle_w = 0;
    const char *paper = "PAPER.md §2 (declared)";
    struct {
        const char *name, *unit, *source;
        double v;
    } p[] = {
        {"t_write_s", "s", "PAPER.md §2: 65 ns per layer - 3 T_max (the paper gives no write "
                           "time)", m->t_write_s},
        {"t_max_s", "s", paper, m->t_max_s},
        {"t_c2p_s", "s", "PAPER.md §2: one T_max conversion window", m->t_max_s},
        {"t_readout_s", "s", "PAPER.md §2: one T_max conversion window", m->t_max_s},
        {"t_write_settle_s", "s", "PAPER.md §2: within the write time", m->t_write_s},
        {"t_digital_sum_s", "s", "PAPER.md §2: inside the 65 ns per layer (not given apart)", 0},
        {"p_integrator_bias_w", "W", "PAPER.md §2: inside the array figures", 0},
        {"p_comparator_bias_w", "W", "PAPER.md §2: inside the array figures", 0},
        {"p_reference_bias_w", "W", "PAPER.md §2: inside the array figures", 0},
        {"e_dac_conversion_j", "J", "PAPER.md §2: 330 pJ per token per head over 2 x 64 values "
                                    "written", PAPER_E_DAC_J / (2 * PAPER_HEAD_DIM)},
        {"e_toggle_inv_j", "J", "PAPER.md §2 gives digital as one figure: see "
                                "e_digital_overhead_token_head_j", 0},
        {"e_toggle_nand2_j", "J", "PAPER.md §2 gives digital as one figure: see "
                                  "e_digital_overhead_token_head_j", 0},
        {"e_toggle_dff_j", "J", "PAPER.md §2 gives digital as one figure: see "
                                "e_digital_overhead_token_head_j", 0},
        {"e_digital_overhead_token_head_j", "J", "PAPER.md §2: 4 nJ digital control per token "
                                                 "per head", PAPER_E_DIGITAL_J},
        {"area_cell_m2", "m2", "PAPER.md §2: about 1 um2 per cell", PAPER_AREA_CELL_M2},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (param_add(m, p[i].name, p[i].unit, p[i].source, p[i].v, 0))
            return gc_fail(e, "cell preset %s: out of memory", m->source);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Loading /energy and /cost */

typedef struct {
    hid_t f;
    const char *path;
    gc_err *e;
} reader;

static int exists(reader *R, const char *name)
{
    return H5Lexists(R->f, name, H5P_DEFAULT) > 0;
}

/* Dataset name, of exactly n values (rank ignored), all finite and in [lo, hi]. */
static int read_values(reader *R, const char *name, size_t n, double lo, double hi,
                       const char *unit, double **out)
{
    return gc_h5_read_values(R->f, name, n, lo, hi, unit, out, R->path, R->e);
}

static int read_scalar(reader *R, const char *name, double lo, double hi, const char *unit,
                       double *v)
{
    double *d = NULL;
    if (read_values(R, name, 1, lo, hi, unit, &d))
        return -1;
    *v = d[0];
    free(d);
    return 0;
}

/* A curve energy(charge): charge strictly ascending. */
static int read_energy_curve(reader *R, const char *q_name, const char *e_name, cell_curve *c)
{
    int rank;
    size_t dims[8];
    double *q = NULL, *en = NULL;
    if (gc_h5_read(R->f, q_name, &q, &rank, dims, R->path, R->e))
        return -1;
    int n = rank == 1 ? (int)dims[0] : 0;
    int rc = -1;
    if (n < 2) {
        gc_fail(R->e, "%s: dataset /%s must be 1-d with at least 2 points", R->path, q_name);
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (!isfinite(q[i]) || (i && !(q[i] > q[i - 1]))) {
            gc_fail(R->e, "%s: dataset /%s is not strictly ascending", R->path, q_name);
            goto done;
        }
    if (read_values(R, e_name, (size_t)n, -COST_MAX_J, COST_MAX_J, "J", &en))
        goto done;
    if (cell_curve_alloc(c, n)) {
        gc_fail(R->e, "%s: out of memory loading /%s", R->path, e_name);
        goto done;
    }
    memcpy(c->x, q, (size_t)n * sizeof *q);
    memcpy(c->y, en, (size_t)n * sizeof *en);
    cell_curve_finish(c);
    rc = 0;
done:
    free(q);
    free(en);
    return rc;
}

static int load_energy(reader *R, cell_model *m)
{
    if (!exists(R, "energy"))
        return 0;
    if (read_scalar(R, "energy/read_per_cell", -COST_MAX_J, COST_MAX_J, "J", &m->e_read_full_j) ||
        read_scalar(R, "energy/write", -COST_MAX_J, COST_MAX_J, "J", &m->e_write_j) ||
        read_scalar(R, "energy/c2p_conversion", -COST_MAX_J, COST_MAX_J, "J", &m->e_c2p_j) ||
        read_scalar(R, "energy/readout_conversion", -COST_MAX_J, COST_MAX_J, "J",
                    &m->e_readout_j))
        return -1;
    m->energy_simulated = m->has_energy = 1;
    if (exists(R, "energy/read_supply")) {
        double *t = NULL;
        if (read_values(R, "energy/read_supply", (size_t)m->n_p * m->n_v, -COST_MAX_J,
                        COST_MAX_J, "J", &t))
            return -1; /* (n_p, n_v): /read's pulse_frac x v_store */
        m->e_read_rows = calloc((size_t)m->n_p, sizeof *m->e_read_rows);
        int oom = !m->e_read_rows;
        for (int i = 0; !oom && i < m->n_p; i++) {
            if ((oom = cell_curve_alloc(&m->e_read_rows[i], m->n_v) != 0))
                break;
            memcpy(m->e_read_rows[i].x, m->read_rows[i].x, (size_t)m->n_v * sizeof *t);
            memcpy(m->e_read_rows[i].y, t + (size_t)i * m->n_v, (size_t)m->n_v * sizeof *t);
            cell_curve_finish(&m->e_read_rows[i]);
        }
        free(t);
        if (oom)
            return gc_fail(R->e, "%s: out of memory loading /energy/read_supply", R->path);
    }
    if (exists(R, "energy/c2p_energy") &&
        read_energy_curve(R, "energy/c2p_charge", "energy/c2p_energy", &m->e_c2p))
        return -1;
    if (exists(R, "energy/readout_energy") &&
        read_energy_curve(R, "energy/readout_charge", "energy/readout_energy", &m->e_readout))
        return -1;
    if (exists(R, "energy/write_energy") &&
        read_values(R, "energy/write_energy", (size_t)m->k_levels * m->k_levels, -COST_MAX_J,
                    COST_MAX_J, "J", &m->e_write_tab)) /* (k, k): previous x new level */
        return -1;
    if (exists(R, "energy/idle_power_cell") &&
        read_scalar(R, "energy/idle_power_cell", -COST_MAX_W, COST_MAX_W, "W", &m->p_idle_w))
        return -1;
    return 0;
}

/* One /cost dataset: a finite value, units, description, simulated 0 or 1. */
static int load_param(reader *R, hid_t g, const char *name, cell_model *m)
{
    char obj[300];
    snprintf(obj, sizeof obj, "cost/%s", name);
    double v, sim;
    char *unit = NULL, *desc = NULL;
    if (read_scalar(R, obj, -HUGE_VAL, HUGE_VAL, "", &v))
        return -1;
    if (gc_h5_read_attr_str(g, name, "units", &unit, R->path, R->e) ||
        gc_h5_read_attr_str(g, name, "description", &desc, R->path, R->e) ||
        gc_h5_read_attr_double(g, name, "simulated", &sim, R->path, R->e)) {
        free(unit), free(desc);
        return gc_wrap(R->e, "/%s", obj);
    }
    int rc = 0;
    if (sim != 0 && sim != 1)
        rc = gc_fail(R->e, "%s: /%s attribute simulated is %g, not 0 or 1", R->path, obj, sim);
    else if (param_add(m, name, unit, desc, v, (int)sim))
        rc = gc_fail(R->e, "%s: out of memory loading /cost", R->path);
    free(unit), free(desc);
    return rc;
}

static int load_params(reader *R, cell_model *m)
{
    /* what every cell file records, declared by its technology */
    if (m->t_write_s > 0 &&
        param_add(m, "t_write_s", "s", "technology parameter t_write: write pulse width "
                  "(declared)", m->t_write_s, 0))
        return gc_fail(R->e, "%s: out of memory", R->path);
    if (param_add(m, "t_max_s", "s", "technology parameter t_max: full read pulse width "
                  "(declared)", m->t_max_s, 0) ||
        param_add(m, "t_c2p_s", "s", "one T_max conversion window (declared by the circuit's "
                  "timing)", m->t_max_s, 0) ||
        param_add(m, "t_readout_s", "s", "one T_max conversion window (declared by the "
                  "circuit's timing)", m->t_max_s, 0))
        return gc_fail(R->e, "%s: out of memory", R->path);
    if (!exists(R, "cost"))
        return 0;
    hid_t g = H5Gopen2(R->f, "cost", H5P_DEFAULT);
    H5G_info_t info;
    if (g < 0 || H5Gget_info(g, &info) < 0) {
        if (g >= 0)
            H5Gclose(g);
        return gc_fail(R->e, "%s: cannot read group /cost", R->path);
    }
    int rc = info.nlinks > COST_MAX_PARAMS
                 ? gc_fail(R->e, "%s: group /cost holds %llu parameters (at most %d)", R->path,
                           (unsigned long long)info.nlinks, COST_MAX_PARAMS)
                 : 0;
    for (hsize_t i = 0; rc == 0 && i < info.nlinks; i++) {
        char name[256];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                         sizeof name, H5P_DEFAULT);
        if (len < 0 || len >= (ssize_t)sizeof name)
            rc = gc_fail(R->e, "%s: cannot read the names in /cost", R->path);
        else
            rc = load_param(R, g, name, m);
    }
    H5Gclose(g);
    return rc;
}

int cell_cost_load(hid_t f, const char *path, cell_model *m, gc_err *e)
{
    reader R = {f, path, e};
    return load_energy(&R, m) || load_params(&R, m) ? -1 : 0;
}
