/* analog_options: the shared option group of the commands that run attention. */
#include <stdio.h>
#include <string.h>

#include "analog_options.h"
#include "cli.h"

/* Each option with the setting it becomes; a flag sets its fixed value. */
static const struct {
    const char *name;
    const char *key, *fixed;
} group[] = {
    {"attention", "attention", NULL},
    {"cell", "cell_file", NULL},
    {"cell-preset", "cell_preset", NULL},
    {"token-period", "token_period_s", NULL},
    {"layers", "layers", NULL},
    {"window", "window", NULL},
    {"tile", "tile", NULL},
    {"q-levels", "q_levels", NULL},
    {"kv-levels", "kv_levels", NULL},
    {"out-levels", "out_levels", NULL},
    {"no-quant", "quant", "off"},
    {"no-quant-q", "quant_q", "off"},
    {"no-quant-k", "quant_k", "off"},
    {"no-quant-v", "quant_v", "off"},
    {"no-quant-out", "quant_out", "off"},
    {"decay", "decay", NULL},
    {"no-decay", "decay", "off"},
    {"decay-lambda", "lambda_per_token", NULL},
    {"softmax-scale", "softmax_scale", NULL},
    {"decomp-tol", "decomp_rel_tol", NULL},
    {"chips", "chips", NULL},
    {"chip-seed", "chip_seed", NULL},
    {"mismatch-scale", "mismatch_scale", NULL},
    {"read-noise", "read_noise", "on"},
    {"noise-seed", "noise_seed", NULL},
    {"noise-scale", "noise_scale", NULL},
    {"analog", NULL, NULL}, /* KEY=VALUE: any setting by its attn_config_set name */
};
enum { N_GROUP = sizeof group / sizeof *group };

/* A command's options: its own (zero-terminated) followed by the group's, into out (room
 * for cap entries, zero-terminated). */
static int options_join(struct option *out, int cap, const struct option *own, gc_err *e)
{
    int n = 0;
    for (; own[n].name; n++)
        if (n < cap)
            out[n] = own[n];
    if (n + N_GROUP + 1 > cap)
        return gc_fail(e, "option table too small (%d entries for %d)", cap, n + N_GROUP + 1);
    for (int i = 0; i < N_GROUP; i++)
        out[n++] = (struct option){group[i].name, group[i].fixed ? no_argument : required_argument,
                                   NULL, ANALOG_OPTION_FIRST + i};
    out[n] = (struct option){0, 0, 0, 0};
    return 0;
}

int analog_option_take(gpt2_settings *s, int id, const char *arg, gc_err *e)
{
    int i = id - ANALOG_OPTION_FIRST;
    if (i < 0 || i >= N_GROUP)
        return 0;
    const char *value = group[i].fixed ? group[i].fixed : arg;
    const char *key = group[i].key;
    char k[32];
    if (!key) { /* --analog KEY=VALUE */
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof k)
            return gc_fail(e, "--analog: '%s' is not KEY=VALUE", arg);
        snprintf(k, sizeof k, "%.*s", (int)(eq - arg), arg);
        key = k, value = eq + 1;
    }
    /* check the value now, so that the message names the option */
    attn_config probe;
    attn_config_default(&probe, &attn_softmax);
    const attn_variant_type *v;
    int bad = !strcmp(key, "attention") ? attn_variant_parse(value, &v, e)
                                        : attn_config_set(&probe, key, value, e);
    if (bad || gpt2_settings_add(s, key, value, e))
        return gc_wrap(e, "--%s", group[i].name);
    return 1;
}

void analog_options_help(FILE *f)
{
    char names[512];
    attn_variant_names(names, sizeof names);
    fprintf(f,
        "Analog attention (the same options in every command that runs attention):\n"
        "  --attention VARIANT  %s\n"
        "  --cell FILE          calibrated: the behavioural cell model (gcsim fit); implies\n"
        "                       --attention calibrated when no variant is given\n"
        "  --cell-preset NAME   calibrated through a built-in cell: paper-cubic, paper-linear\n"
        "  --token-period S     seconds between two tokens (the cells' age step). Default: for a\n"
        "                       cell, the analog schedule's own time, layers x (t_write + 3 T_max)\n"
        "                       from the cell file; for paper-*: lambda x 5 ms (the paper's rate)\n"
        "  --layers N           layers a token passes through, for that default (the model's)\n"
        "  --window M  --tile N keys a query sees (1024); keys per sub-array (64)\n"
        "  --q-levels N --kv-levels N --out-levels N   quantiser levels (16, 8, 32; a cell's own)\n"
        "  --no-quant, --no-quant-q, --no-quant-k, --no-quant-v, --no-quant-out\n"
        "  --decay on|off (--no-decay)   leakage with age (on)\n"
        "  --decay-lambda X     paper-*: decay per token when no period is given (1.6e-4)\n"
        "  --softmax-scale X    softmax variants: S = X q.k (1/sqrt(D))\n"
        "  --decomp-tol X       calibrated: the cell is compiled into separable terms, dropping\n"
        "                       singular values below X times the largest (1e-3)\n"
        "  --chips N            calibrated: cells of N chip instances, each cell drawn from the\n"
        "                       cell's variation model (cell.h5 /variation); ppl scores chips\n"
        "                       S..S+N-1, other commands run chip S (0: nominal cells)\n"
        "  --chip-seed S        the first chip's seed (0)\n"
        "  --mismatch-scale X   every sigma of the variation model times X (1)\n"
        "  --read-noise         calibrated: every read adds its thermal noise, from the cell's\n"
        "                       noise model (cell.h5 /noise): the integrator's kT/C, the cells'\n"
        "                       channel noise, the converters' ramp; fresh for each read\n"
        "  --noise-seed S       the read noise's seed (0): the same seed, the same results\n"
        "  --noise-scale X      every noise sigma times X (1)\n"
        "  --analog KEY=VALUE   any setting by its name (attention, cell_file, token_period_s,\n"
        "                       window, q_levels, quant_q, decay, ...: README-checkpoint.md)\n",
        names);
}

int analog_getopt(int argc, char **argv, const struct option *own,
                  int (*set)(int id, const char *arg, void *ctx, gc_err *e), void *ctx,
                  gpt2_settings *over, gc_err *e)
{
    struct option opts[64];
    if (options_join(opts, 64, own, e))
        return -1;
    int c, r = 0;
    optind = 1;
    opterr = 0;
    while (!r && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == '?')
            return cli_bad_option(argv, e);
        r = analog_option_take(over, c, optarg, e);
        r = r < 0 ? -1 : r > 0 ? 0 : set(c, optarg, ctx, e);
    }
    if (!r && optind < argc)
        r = gc_fail(e, "unexpected argument '%s'", argv[optind]);
    return r ? -1 : 0;
}

int analog_config_apply(attn_config *c, const gpt2_settings *s, gc_err *e)
{
    int named = 0, cell = 0;
    for (int i = 0; i < s->n; i++) {
        const char *k = s->set[i].key;
        const attn_variant_type *type;
        if (!strcmp(k, "attention")) {
            if (attn_variant_parse(s->set[i].value, &type, e))
                return -1;
            attn_config_default(c, type);
            named = 1;
        }
        cell |= !strcmp(k, "cell_file") || !strcmp(k, "cell_preset");
    }
    if (cell && !named) /* a cell names the variant that runs through one */
        attn_config_default(c, &attn_calibrated);
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->set[i].key, "attention") &&
            attn_config_set(c, s->set[i].key, s->set[i].value, e))
            return -1;
    return attn_config_check(c, e);
}

void analog_config_print(FILE *f, const attn_config *c, const char *tokenizer,
                         const int from_model[2])
{
    static const char *const src[2] = {"", " (from the model)"};
    fprintf(f, "attention %s%s", c->variant->name, from_model ? src[from_model[0]] : "");
    if (tokenizer)
        fprintf(f, ", tokenizer %s%s", tokenizer, from_model ? src[from_model[1]] : "");
    attn_setting s[ATTN_MAX_SETTINGS];
    int n = attn_config_settings(c, s, 1);
    for (int i = 1; i < n; i++) {
        if (s[i].is_text && !s[i].text[0])
            continue;
        fprintf(f, i == 1 ? "; %s " : ", %s ", s[i].key);
        if (s[i].is_text)
            fprintf(f, "%s", s[i].text);
        else if (s[i].is_bool)
            fprintf(f, "%s", s[i].num ? "on" : "off");
        else
            fprintf(f, "%.6g%s%s", s[i].num, s[i].unit[0] ? " " : "", s[i].unit);
    }
    fprintf(f, "\n");
    attn_read_noise_sigmas ns;
    gc_err e;
    if (c->read_noise && c->cell && !attn_read_noise(c, &ns, &e))
        fprintf(f, "read noise per read (sigma): integrator reset %.3g fC, a cell at full pulse "
                   "%.3g fC, c2p at full scale %.3g fC, readout at full scale %.3g fC\n",
                ns.reset_c * 1e15, ns.cell_full_pulse_c * 1e15, ns.c2p_full_scale_c * 1e15,
                ns.readout_full_scale_c * 1e15);
}
