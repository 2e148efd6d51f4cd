/* Technology files: model cards, device roles and netlist parameters with units. */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spice.h"

/* Parameters the sweeps and templates rely on; a technology must define them all. */
static const char *const required[] = {
    "vdd", "temp", "c_store", "v_in", "t_max", "v_wwl_on", "v_wwl_off", "t_write", "t_edge",
    "c_bl", "c_int", "a_ol", "r_out", "i_ramp", "i_ramp_out", "v_cmp", "v_hys", "r_dly",
    "c_dly", "r_latch", "c_latch", "i_gate0", "v_gate", "w_mir", "w_mirp", "l_mir", "w_sw", "w_swp", "l_sw",
    "w_logic_n", "w_logic_p", "l_logic", "l_diff", "c_wire_logic",
};

int spice_parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE)
        return -1;
    static const struct { const char *suffix; double scale; } scales[] = {
        {"meg", 1e6}, {"t", 1e12}, {"g", 1e9}, {"k", 1e3}, {"m", 1e-3}, {"u", 1e-6},
        {"n", 1e-9}, {"p", 1e-12}, {"f", 1e-15},
    };
    if (*end) {
        int found = 0;
        for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++)
            if (!strcasecmp(end, scales[i].suffix)) {
                v *= scales[i].scale;
                found = 1;
                break;
            }
        if (!found)
            return -1;
    }
    if (!isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int valid_name(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* "[MIN,MAX]" (SPICE numbers, MIN <= MAX) into p. */
static int parse_range(const char *s, spice_param *p)
{
    char lo[64], hi[64], close;
    int used = 0;
    if (sscanf(s, "[%63[^],],%63[^]]%c%n", lo, hi, &close, &used) != 3 || close != ']' ||
        s[used] || spice_parse_number(lo, &p->min) || spice_parse_number(hi, &p->max) ||
        !(p->min <= p->max))
        return -1;
    p->has_range = 1;
    return 0;
}

/* 0 if v is a valid value of p, else -1 with "NAME = V UNIT is outside [MIN, MAX] UNIT". */
static int check_value(const spice_param *p, double v, gc_err *e)
{
    if (isfinite(v) && (!p->has_range || (v >= p->min && v <= p->max)))
        return 0;
    return gc_fail(e, "%s = %g %s is outside its range [%g, %g] %s", p->name, v, p->unit,
                   p->min, p->max, p->unit);
}

static int parse_param(spice_tech *t, char *rest, const char *file, int line, gc_err *e)
{
    char name[64], value[64], unit[16], range[128] = "";
    int used = 0, used_range = 0;
    if (sscanf(rest, "%63s %63s %15s %n", name, value, unit, &used) < 3)
        return gc_fail(e, "%s:%d: expected 'param NAME DEFAULT UNIT [MIN,MAX] DESCRIPTION'", file,
                       line);
    if (!valid_name(name) || strlen(name) >= sizeof t->params[0].name)
        return gc_fail(e, "%s:%d: bad parameter name '%s'", file, line, name);
    double v;
    if (spice_parse_number(value, &v))
        return gc_fail(e, "%s:%d: parameter %s: '%s' is not a number", file, line, name, value);
    spice_param range_of = {.has_range = 0};
    if (rest[used] == '[') {
        if (sscanf(rest + used, "%127s %n", range, &used_range) < 1 ||
            parse_range(range, &range_of))
            return gc_fail(e, "%s:%d: parameter %s: '%s' is not a range [MIN,MAX]", file, line,
                           name, range);
        used += used_range;
    }
    snprintf(range_of.name, sizeof range_of.name, "%s", name);
    snprintf(range_of.unit, sizeof range_of.unit, "%s", unit);
    if (check_value(&range_of, v, e))
        return gc_wrap(e, "%s:%d: default", file, line);
    for (int i = 0; i < t->n_params; i++)
        if (!strcmp(t->params[i].name, name))
            return gc_fail(e, "%s:%d: parameter %s defined twice", file, line, name);
    if (t->n_params == SPICE_MAX_PARAMS)
        return gc_fail(e, "%s:%d: too many parameters", file, line);
    spice_param *p = &t->params[t->n_params++];
    *p = range_of;
    snprintf(p->description, sizeof p->description, "%s", trim(rest + used));
    p->value = v;
    return 0;
}

static int resolve_path(const char *dir, const char *rel, char *out, size_t n)
{
    if (rel[0] == '/')
        return snprintf(out, n, "%s", rel) >= (int)n ? -1 : 0;
    return snprintf(out, n, "%s/%s", dir, rel) >= (int)n ? -1 : 0;
}

static int parse_line(spice_tech *t, char *s, const char *dir, const char *file, int line,
                      gc_err *e)
{
    char key[32];
    int used = 0;
    if (sscanf(s, "%31s %n", key, &used) < 1)
        return 0;
    char *rest = s + used;
    if (!strcmp(key, "param"))
        return parse_param(t, rest, file, line, e);
    char a[256] = "", b[256] = "";
    int n = sscanf(rest, "%255s %255s", a, b);
    if (!strcmp(key, "name") && n >= 1) {
        snprintf(t->name, sizeof t->name, "%s", a);
    } else if (!strcmp(key, "model_card") && n >= 1) {
        if (t->n_cards == SPICE_MAX_CARDS)
            return gc_fail(e, "%s:%d: too many model cards", file, line);
        if (resolve_path(dir, a, t->cards[t->n_cards], sizeof t->cards[0]))
            return gc_fail(e, "%s:%d: path too long", file, line);
        if (access(t->cards[t->n_cards], R_OK))
            return gc_fail(e, "%s:%d: model card %s not found", file, line,
                           t->cards[t->n_cards]);
        t->n_cards++;
    } else if (!strcmp(key, "cell") && n >= 1) {
        snprintf(t->cell, sizeof t->cell, "%s", a);
    } else if (!strcmp(key, "device") && n == 2) {
        if (t->n_devices == SPICE_MAX_DEVICES)
            return gc_fail(e, "%s:%d: too many devices", file, line);
        spice_device *d = &t->devices[t->n_devices++];
        snprintf(d->role, sizeof d->role, "%s", a);
        snprintf(d->model, sizeof d->model, "%s", b);
    } else {
        return gc_fail(e, "%s:%d: unknown or incomplete line '%s'", file, line, trim(s));
    }
    return 0;
}

int spice_tech_load(const char *name_or_path, const char *root, spice_tech *t, gc_err *e)
{
    memset(t, 0, sizeof *t);
    if (strchr(name_or_path, '/') || strstr(name_or_path, ".tech"))
        snprintf(t->path, sizeof t->path, "%s", name_or_path);
    else
        snprintf(t->path, sizeof t->path, "%s/spice/tech/%s.tech", root, name_or_path);
    snprintf(t->netlist_dir, sizeof t->netlist_dir, "%s/spice/netlists", root);
    FILE *f = gc_open_input(t->path, e);
    if (!f)
        return gc_wrap(e, "cannot open technology file");
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", t->path);
    const char *dir = dirname(copy);
    char buf[1024];
    int line = 0, rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        rc = parse_line(t, buf, dir, t->path, line, e);
    }
    fclose(f);
    if (rc)
        return -1;
    if (!t->name[0] || !t->n_cards || !t->cell[0])
        return gc_fail(e, "%s: a technology needs 'name', 'model_card' and 'cell' lines",
                       t->path);
    char cell[4096 + 300];
    snprintf(cell, sizeof cell, "%s/%s", t->netlist_dir, t->cell);
    if (access(cell, R_OK))
        return gc_fail(e, "%s: cell template %s not found", t->path, cell);
    return spice_tech_check(t, e);
}

static spice_param *find(spice_tech *t, const char *name)
{
    for (int i = 0; i < t->n_params; i++)
        if (!strcmp(t->params[i].name, name))
            return &t->params[i];
    return NULL;
}

double spice_tech_get(const spice_tech *t, const char *name)
{
    spice_param *p = find((spice_tech *)t, name);
    return p ? p->value : NAN;
}

int spice_tech_check(const spice_tech *t, gc_err *e)
{
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (isnan(spice_tech_get(t, required[i])))
            return gc_fail(e, "%s: parameter %s is not defined", t->path, required[i]);
    for (int i = 0; i < t->n_params; i++)
        if (check_value(&t->params[i], t->params[i].value, e))
            return gc_wrap(e, "%s", t->path);
    double vdd = spice_tech_get(t, "vdd"), v_in = spice_tech_get(t, "v_in");
    double t_edge = spice_tech_get(t, "t_edge");
    if (!(v_in > vdd / 2 && v_in <= vdd))
        return gc_fail(e, "%s: v_in = %g V must lie in (vdd/2, vdd] = (%g, %g] V (at vdd/2 a "
                       "read delivers no charge)", t->path, v_in, vdd / 2, vdd);
    if (!(spice_tech_get(t, "v_wwl_off") < spice_tech_get(t, "v_wwl_on")))
        return gc_fail(e, "%s: v_wwl_off = %g V must lie below v_wwl_on = %g V", t->path,
                       spice_tech_get(t, "v_wwl_off"), spice_tech_get(t, "v_wwl_on"));
    if (!(t_edge < spice_tech_get(t, "t_write") && t_edge < spice_tech_get(t, "t_max")))
        return gc_fail(e, "%s: t_edge = %g s must be shorter than t_write (%g s) and t_max "
                       "(%g s)", t->path, t_edge, spice_tech_get(t, "t_write"),
                       spice_tech_get(t, "t_max"));
    return 0;
}

int spice_tech_set(spice_tech *t, const char *assignment, gc_err *e)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return gc_fail(e, "--set %s: expected NAME=VALUE", assignment);
    char name[64];
    size_t n = (size_t)(eq - assignment);
    if (n >= sizeof name)
        return gc_fail(e, "--set %s: name too long", assignment);
    memcpy(name, assignment, n);
    name[n] = '\0';
    spice_param *p = find(t, name);
    if (!p)
        return gc_fail(e, "--set %s: technology %s has no parameter '%s' (see --list-params)",
                       assignment, t->name, name);
    double v;
    if (spice_parse_number(eq + 1, &v))
        return gc_fail(e, "--set %s: '%s' is not a number", assignment, eq + 1);
    if (check_value(p, v, NULL))
        return gc_fail(e, "--set %s: %s = %g %s is outside its range [%g, %g] %s declared in %s",
                       assignment, p->name, v, p->unit, p->min, p->max, p->unit, t->path);
    p->value = v;
    return 0;
}
