/* report: one self-contained HTML page a person reads, made from a results folder (what the
 * main job and the commands write there): the circuit curves, the fit residuals, behavioural
 * vs SPICE validation, perplexity per attention variant and technology, perplexity against
 * the token period, downstream task accuracy and the measured GPU baseline.
 *
 * Every number on the page comes from a file it names (its file and key are printed beside it
 * or in the row), and each is marked by kind: simulated (our SPICE runs and what was fitted
 * to them), measured (a run of gcsim or of the GPU bench) or declared (a parameter with its
 * source). Images are inlined (data URIs), so the page stands alone. It reads:
 *   DIR/plots_<tech>/<sweep>.png       gcsim plot
 *   DIR/fit_<tech>.json                gcsim fit --json
 *   DIR/<name>/validate.json (+ charge_scatter.png)   gcsim validate
 *   DIR/ppl_<name>.json                gcsim ppl --json (ppl_period_* form the period curve)
 *   DIR/eval_<name>.json               gcsim eval --json
 *   DIR/table.json                     gcsim sweep (a plot per numeric axis: DIR/sweep_*.png)
 *   gpu_json (if not NULL)             bench/gpu_attention_decode.py
 * and writes DIR/ppl_vs_token_period.png when there are period runs. */
#ifndef GCSIM_REPORT_H
#define GCSIM_REPORT_H

#include "common.h"

/* Writes the page for results folder dir to out_html atomically. */
int report_write(const char *dir, const char *gpu_json, const char *out_html, gc_err *e);

#endif
