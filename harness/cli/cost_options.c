/* cost_options: see cost_options.h. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cost_options.h"

void cost_options_help(FILE *f)
{
    fprintf(f,
            "cost (analog variants): --cost FILE.json counts the attention's activity while it\n"
            "runs and writes energy per token by component (each simulated or declared, with its\n"
            "source), latency per token per layer and for the model, area, and the ratios\n"
            "against a measured GPU; FILE.png beside it (a stacked bar per layer) and a table on\n"
            "stdout. --shape LxHxD_MODEL (e.g. 12x12x768) reports for that GPT-2 shape: the\n"
            "measured energy per token per head is taken for each of its heads. --gpu FILE: the\n"
            "GPU measurement (default data/gpu/h100_attention_decode.json). --leak-period S: the\n"
            "token period idle leakage is counted over (default: the model's latency per token).\n\n");
}

int cost_option_take(cost_request *r, int id, const char *arg, gc_err *e)
{
    switch (id) {
    case COST_OPT_COST: r->json = arg; return 1;
    case COST_OPT_GPU: r->gpu = arg; return 1;
    case COST_OPT_SHAPE: return cost_parse_shape(arg, &r->opts, e) ? -1 : 1;
    case COST_OPT_LEAK_PERIOD:
        return gc_parse_double(arg, "--leak-period", 0, 1e3, 1, 0, &r->opts.token_period_s, e)
                   ? -1
                   : 1;
    }
    return 0;
}

/* FILE.json -> FILE.png (or FILE + .png). */
static void png_beside(const char *json, char *out, size_t n)
{
    size_t len = strlen(json);
    if (len > 5 && !strcmp(json + len - 5, ".json"))
        len -= 5;
    snprintf(out, n, "%.*s.png", (int)len, json);
}

int cost_report(const cost_request *r, attn_activity *a, const attn_config *c, gc_err *e)
{
    char gpu[4096], png[4096];
    if (r->gpu)
        snprintf(gpu, sizeof gpu, "%s", r->gpu);
    else
        snprintf(gpu, sizeof gpu, "%s/data/gpu/h100_attention_decode.json", cli_root());
    cell_model *preset = NULL;
    const cell_model *m = c->cell;
    if (!m && cell_model_preset(c->variant->name, &preset, e))
        return -1;
    if (!m)
        m = preset;
    cost_options o = r->opts;
    o.gpu_file = gpu;
    cost_result res;
    png_beside(r->json, png, sizeof png);
    int rc = cost_compute(a, m, c, &o, &res, e);
    if (!rc) {
        cost_print_table(&res, stdout);
        rc = cost_write_json(&res, r->json, e) || cost_plot(&res, png, e);
        if (!rc)
            printf("cost: %s, %s\n", r->json, png);
        cost_result_free(&res);
    }
    cell_model_free(preset);
    return rc;
}
